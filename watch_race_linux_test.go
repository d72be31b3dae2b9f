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

// zombie waits until process pid has exited, and is not reaped yet.
func zombie(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(spawn.Wait)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatalf("command %d: %v; want a zombie, not reaped while secretexec was stopped", pid, err)
		}
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("command %d did not exit within %s", pid, spawn.Wait)
}

// TestWatchExitWithChange checks that a command that exits on its own
// when a change is due ends secretexec with its status, and is not
// started again: here it exits while the splay runs out.
func TestWatchExitWithChange(t *testing.T) {
	const splay = 20 * time.Millisecond
	for i := range 8 {
		api := newWatchAPI(t, "API_TOKEN", "canary-one")
		w := startWatch(t, api, 100*time.Millisecond, []string{"--splay", splay.String()}, rotate(t, 7, 0)...)
		first := w.started()
		api.SetSecrets(watchApp, secrets("API_TOKEN", fmt.Sprintf("canary-%d", i))...)
		spawn.Await(t, w.errs, "restarting the command")
		// The change is held by the splay now; the command exits on its
		// own (SIGUSR1: exit 7) while secretexec is stopped, and the
		// splay runs out meanwhile.
		w.cmd.Process.Signal(syscall.SIGSTOP)
		syscall.Kill(first, syscall.SIGUSR1)
		zombie(t, first)
		time.Sleep(2 * splay)
		w.cmd.Process.Signal(syscall.SIGCONT)
		if code := w.wait(); code != 7 {
			t.Fatalf("trial %d: exit code %d; want the command's 7", i, code)
		}
		if lines := w.stderrLines("started the command again"); len(lines) > 0 {
			t.Fatalf("trial %d: a command that exited on its own was started again: %q", i, lines)
		}
		w.stop()
	}
}
