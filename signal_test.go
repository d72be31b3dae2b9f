package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/spawn"
	"github.com/secretexec/secretexec/internal/startup"
)

// TestInterruptDuringFetch sends each interrupt signal to secretexec while
// it is stuck reading a FIFO that nobody writes, once it says it listens
// for interrupts: it must exit 128+n by itself (not die of the signal), say
// why, and start nothing.
func TestInterruptDuringFetch(t *testing.T) {
	bin := buildSecretexec(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(startup.SignalName(sig), func(t *testing.T) {
			dir := t.TempDir()
			fifo := filepath.Join(dir, "fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			marker := filepath.Join(dir, "started")
			cmd := exec.Command(bin, "--log-level", "debug", "--from", "file:"+fifo, "--", "touch", marker)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := spawn.Lines(stderr)
			spawn.Await(t, lines, "listening for interrupts")
			start := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			rest := spawn.Rest(lines)
			err = cmd.Wait()
			elapsed := time.Since(start)
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("wait: %v; want an exit status", err)
			}
			if ws := ee.Sys().(syscall.WaitStatus); ws.Signaled() {
				t.Fatalf("died of %v; want a normal exit", ws.Signal())
			}
			if got, want := ee.ExitCode(), 128+int(sig); got != want {
				t.Errorf("exit code %d; want %d", got, want)
			}
			if elapsed > 2*time.Second {
				t.Errorf("took %v to exit after the signal", elapsed)
			}
			want := "secretexec: error: interrupted by " + startup.SignalName(sig) + " before starting the command"
			if !strings.Contains(rest, want) {
				t.Errorf("stderr = %q; want %q", rest, want)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("the command was started")
			}
		})
	}
}

// TestTimeoutStuckSource checks that --timeout holds even when a source is
// stuck in a call that no context cancels.
func TestTimeoutStuckSource(t *testing.T) {
	bin := buildSecretexec(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	cmd := exec.Command(bin, "--timeout", "500ms", "--from", "file:"+fifo, "--", "true")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 69 {
		t.Fatalf("err = %v; want exit 69\n%s", err, out)
	}
	if elapsed > 10*time.Second {
		t.Errorf("took %v; want about 500ms", elapsed)
	}
	if !strings.Contains(string(out), "longer than the 500ms timeout") {
		t.Errorf("output = %q; want it to name the timeout", out)
	}
}

// TestCommandDispositions checks that an ignored SIGHUP or SIGINT, as
// nohup and `cmd &` leave them, stays ignored for the command, whether
// secretexec armed the interrupt signals (a network source) or not (a
// file), and that the others are not ignored. (The Go runtime keeps an
// inherited ignore for those two only; it handles the rest from the start,
// so the command gets them at their default.)
func TestCommandDispositions(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skipf("no /proc: %v", err)
	}
	bin := buildSecretexec(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"A":"1"}`)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(file, []byte(`{"A":"1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, from := range map[string]string{"network": srv.URL, "file": "file:" + file} {
		t.Run(name, func(t *testing.T) {
			// The shell ignores SIGHUP and execs secretexec, which execs cat.
			cmd := exec.Command("sh", "-c", `trap "" HUP; exec "$@"`, "sh",
				bin, "--from", from, "--", "cat", "/proc/self/status")
			cmd.Env = append(os.Environ(), "FUSEBASE_API_KEY=k")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			masks := map[string]uint64{}
			for _, line := range strings.Split(string(out), "\n") {
				name, value, ok := strings.Cut(line, ":")
				if ok && strings.HasPrefix(name, "Sig") {
					v, _ := strconv.ParseUint(strings.TrimSpace(value), 16, 64)
					masks[name] = v
				}
			}
			bit := func(s syscall.Signal) uint64 { return 1 << (s - 1) }
			if masks["SigIgn"]&bit(syscall.SIGHUP) == 0 {
				t.Errorf("SIGHUP is not ignored (SigIgn %x)", masks["SigIgn"])
			}
			for _, s := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT} {
				if masks["SigIgn"]&bit(s) != 0 || masks["SigBlk"]&bit(s) != 0 {
					t.Errorf("%v is ignored or blocked (SigIgn %x, SigBlk %x)", s, masks["SigIgn"], masks["SigBlk"])
				}
			}
		})
	}
}
