package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/spawn"
)

// outcome is how one raced run ended.
type outcome struct {
	code    int            // the exit code, if it exited
	signal  syscall.Signal // the signal that killed it, if one did
	stderr  string
	skipped bool // no signal was sent: the run was not seen starting
}

func (o outcome) String() string {
	if o.skipped {
		return "not raced"
	}
	if o.signal != 0 {
		return "killed by " + o.signal.String()
	}
	return fmt.Sprintf("exit %d", o.code)
}

// sigMask reads a signal mask line, such as "SigCgt", of pid's status.
func sigMask(pid int, name string) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			var m uint64
			fmt.Sscanf(strings.TrimSpace(v), "%x", &m)
			return m, true
		}
	}
	return 0, false
}

// goStarted waits until pid runs Go code: the runtime catches SIGTERM.
// The runtime's own start, before any Go code of the program can run, is
// the one moment secretexec cannot guard (see the README); the races start
// after it. With held, it waits until secretexec's packages have also set
// SIGQUIT aside (caught no longer), which they do first thing. It reports
// false if the process ended or went on first.
func goStarted(pid int, held bool) bool {
	term, quit := uint64(1)<<(syscall.SIGTERM-1), uint64(1)<<(syscall.SIGQUIT-1)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		m, ok := sigMask(pid, "SigCgt")
		if !ok {
			return false
		}
		if m&term != 0 && (!held || m&quit == 0) {
			return true
		}
	}
	return false
}

// race runs trials runs of cmd, a few at a time, sending each sig at a
// random time within window of its start, and returns how they ended.
func race(t *testing.T, trials int, window time.Duration, sig syscall.Signal, cmd func() *exec.Cmd) []outcome {
	held := sig == syscall.SIGQUIT
	t.Helper()
	out := make([]outcome, trials)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := cmd()
				var stderr strings.Builder
				c.Stderr = &stderr
				if err := c.Start(); err != nil {
					t.Error(err)
					continue
				}
				if !goStarted(c.Process.Pid, held) {
					// It ended, or went on to the command, before it could
					// be seen: nothing was raced.
					c.Process.Kill()
					c.Wait()
					out[i].skipped = true
					continue
				}
				time.Sleep(rand.N(window))
				c.Process.Signal(sig)
				// The command sleeps far longer than a trial: one that
				// still runs after this long lost the signal; end it.
				lost := time.AfterFunc(10*time.Second, func() { c.Process.Kill() })
				err := c.Wait()
				lost.Stop()
				o := outcome{stderr: stderr.String()}
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					if ws := ee.Sys().(syscall.WaitStatus); ws.Signaled() {
						o.signal = ws.Signal()
					} else {
						o.code = ws.ExitStatus()
					}
				} else if err != nil {
					t.Error(err)
				}
				out[i] = o
			}
		}()
	}
	for i := range trials {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// tally counts outcomes by their description.
func tally(out []outcome) map[string]int {
	m := make(map[string]int)
	for _, o := range out {
		m[o.String()]++
	}
	return m
}

// TestNoLostInterrupt races SIGTERM and SIGHUP against a plain run that
// fetches over the network and execs a command that sleeps: the signal
// must either stop secretexec (143 or 129, or death by it before the
// interrupts are armed) or reach the command, which dies of it. The
// command sleeps a minute, far longer than any trial's window, so that a
// signal always comes while it runs: one still running 10 s later lost it,
// and is killed (a slow machine once made a window longer than a short
// sleep, and a signal after the command's end looked lost).
func TestNoLostInterrupt(t *testing.T) {
	bin := buildSecretexec(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"A":"canary-a"}`)
	}))
	defer srv.Close()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	start := time.Now()
	c := exec.Command(bin, "--from", srv.URL, "--", "true")
	c.Env = append(os.Environ(), "FUSEBASE_API_KEY=canary-key")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("a run without the signal: %v\n%s", err, out)
	}
	window := 2 * time.Since(start)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		out := race(t, 1000, window, sig, func() *exec.Cmd {
			c := exec.Command(bin, "--from", srv.URL, "--", sleep, "60")
			c.Env = append(os.Environ(), "FUSEBASE_API_KEY=canary-key")
			return c
		})
		counts := tally(out)
		t.Logf("%v within %v: %v", sig, window, counts)
		for _, o := range out {
			if !o.skipped && o.signal == 0 && o.code != 128+int(sig) {
				t.Errorf("%v: %s; want death by the signal or exit %d\n%s", sig, o, 128+int(sig), o.stderr)
				break
			}
		}
	}
}

// TestQuitNeverDumps races SIGQUIT against a run that decodes a 12 MB file:
// whenever it comes, secretexec ends by the signal or exits 131, and never
// prints the Go runtime's goroutine dump or exits 2.
func TestQuitNeverDumps(t *testing.T) {
	bin := buildSecretexec(t)
	file := filepath.Join(t.TempDir(), "big.json")
	// 12 MB, most of it descriptions, so that the environment stays small.
	var b strings.Builder
	b.WriteString(`{"secrets":[`)
	desc := strings.Repeat("d", 1200)
	for i := range 10000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"key":"K%05d","value":"canary-%d","description":"%s"}`, i, i, desc)
	}
	b.WriteString("]}")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if out, err := exec.Command(bin, "--from", "file:"+file, "--", "true").CombinedOutput(); err != nil {
		t.Fatalf("a run without the signal: %v\n%s", err, out)
	}
	window := max(time.Since(start), 5*time.Millisecond)
	out := race(t, 150, window, syscall.SIGQUIT, func() *exec.Cmd {
		return exec.Command(bin, "--from", "file:"+file, "--", "sleep", "60")
	})
	t.Logf("SIGQUIT within %v: %v", window, tally(out))
	for _, o := range out {
		if !o.skipped && (o.signal != syscall.SIGQUIT && o.code != 131 || strings.Contains(o.stderr, "goroutine")) {
			t.Errorf("%s; want death by SIGQUIT or exit 131, and no dump\n%s", o, o.stderr)
			break
		}
	}
}

// TestPID1EarlyTerm sends SIGTERM to secretexec --init as PID 1 of a new
// PID namespace within 15 ms of its saying it listens for interrupts, as
// `docker stop` right after `docker run` does: it exits 143 (interrupted,
// or the child killed by the forwarded signal), never 2, and never loses
// the signal. (Before its packages initialise, the Go runtime alone runs,
// and nothing can listen yet; the README says so.)
func TestPID1EarlyTerm(t *testing.T) {
	for i := range 30 {
		cmd := inNamespace(t, initArgs(t, "sleep", "5")...)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := spawn.Lines(stderr)
		pid := childOf(t, cmd.Process.Pid)
		spawn.Await(t, lines, "listening for interrupts")
		time.Sleep(rand.N(15 * time.Millisecond))
		syscall.Kill(pid, syscall.SIGTERM)
		start := time.Now()
		rest := spawn.Rest(lines)
		cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			code = 143
		}
		if code != 143 || time.Since(start) > 4*time.Second {
			t.Fatalf("trial %d: exit %d after %v; want 143 at once\n%s", i, code, time.Since(start), rest)
		}
	}
}
