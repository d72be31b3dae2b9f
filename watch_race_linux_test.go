package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/spawn"
)

// These tests make two events reach secretexec at once, as a loaded or
// CPU-throttled machine delivers them: secretexec is stopped (SIGSTOP)
// while both happen, then continued. Which one its loop takes first is
// then up to the Go runtime, so each test runs a few trials; the
// behaviour must not depend on the order.

// awaitState waits until process pid is in state, as /proc/PID/stat
// gives it: "Z" a zombie (exited, not reaped yet), "T" stopped.
func awaitState(t *testing.T, pid int, state string) {
	t.Helper()
	deadline := time.Now().Add(spawn.Wait)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatalf("process %d: %v; want it in state %s", pid, err, state)
		}
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == state {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("process %d not in state %s within %s", pid, state, spawn.Wait)
}

// endedWith fails trial i unless secretexec exits with the command's code
// and started no command again, then ends the run.
func (w *watched) endedWith(i, code int) {
	w.t.Helper()
	if got := w.wait(); got != code {
		w.t.Fatalf("trial %d: exit code %d; want the command's %d", i, got, code)
	}
	if lines := w.stderrLines("started the command again"); len(lines) > 0 {
		w.t.Fatalf("trial %d: the command was started again: %q", i, lines)
	}
	w.stop()
}

// splayOf reads the wait from a "restarting the command in D (--splay)" line.
func splayOf(t *testing.T, line string) time.Duration {
	t.Helper()
	_, rest, ok := strings.Cut(line, " in ")
	d, err := time.ParseDuration(strings.TrimSuffix(rest, " (--splay)"))
	if !ok || err != nil {
		t.Fatalf("no splay in %q", line)
	}
	return d
}

// TestWatchExitWithChange checks that a command that exits on its own
// when a change is due ends secretexec with its status, and is not
// started again: here it exits while the splay runs out.
//
// A trial counts only if secretexec was stopped while the splay still
// held the change: the splay is random, and a loaded machine may take a
// while to read the line and stop secretexec. Trials with a short splay,
// or where the change went out before secretexec stopped, are run again.
func TestWatchExitWithChange(t *testing.T) {
	const (
		splay    = time.Second
		minSplay = 300 * time.Millisecond
		trials   = 4
	)
	for i, done := 0, 0; done < trials; i++ {
		if i == 10*trials {
			t.Fatalf("only %d of %d trials stopped secretexec while the splay held the change", done, i)
		}
		api := newWatchAPI(t, "API_TOKEN", "canary-one")
		w := startWatch(t, api, 100*time.Millisecond, []string{"--splay", splay.String()}, rotate(t, 7, 0)...)
		first := w.started()
		api.SetSecrets(watchApp, secrets("API_TOKEN", fmt.Sprintf("canary-%d", i))...)
		lines := spawn.Await(t, w.errs, "restarting the command")
		if splayOf(t, lines[len(lines)-1]) < minSplay {
			w.stop()
			continue
		}
		// The change is held by the splay now; the command exits on its
		// own (SIGUSR1: exit 7) while secretexec is stopped, and the
		// splay runs out meanwhile.
		w.cmd.Process.Signal(syscall.SIGSTOP)
		awaitState(t, w.cmd.Process.Pid, "T") // kill(2) returns before the stop takes effect
		time.Sleep(50 * time.Millisecond)     // for its last lines to be read
		if len(w.stderrLines("stopping the command")) > 0 {
			w.cmd.Process.Signal(syscall.SIGCONT)
			w.stop()
			continue
		}
		syscall.Kill(first, syscall.SIGUSR1)
		awaitState(t, first, "Z") // exited, not reaped
		time.Sleep(splay)
		w.cmd.Process.Signal(syscall.SIGCONT)
		w.endedWith(i, 7)
		done++
	}
}

// TestWatchInterruptQueuedBehindExit checks that SIGTERM that comes with
// the old command's exit during a restart ends secretexec with that
// command's status: nothing new starts, whichever of the two the loop
// takes first.
func TestWatchInterruptQueuedBehindExit(t *testing.T) {
	for i := range 4 {
		api := newWatchAPI(t, "API_TOKEN", "canary-one")
		// The command ignores SIGTERM, and exits 5 on SIGUSR1.
		w := startWatch(t, api, 100*time.Millisecond, []string{"--stop-timeout", "30s"}, rotate(t, 5, -1)...)
		first := w.started()
		api.SetSecrets(watchApp, secrets("API_TOKEN", fmt.Sprintf("canary-%d", i))...)
		spawn.Expect(t, w.out, fmt.Sprintf("term %d", first))
		// The restart waits for the command now. It exits while
		// secretexec is stopped, and SIGTERM for secretexec waits with
		// its SIGCHLD.
		w.cmd.Process.Signal(syscall.SIGSTOP)
		awaitState(t, w.cmd.Process.Pid, "T") // kill(2) returns before the stop takes effect
		syscall.Kill(first, syscall.SIGUSR1)
		awaitState(t, first, "Z") // exited, not reaped
		w.cmd.Process.Signal(syscall.SIGTERM)
		w.cmd.Process.Signal(syscall.SIGCONT)
		w.endedWith(i, 5)
	}
}
