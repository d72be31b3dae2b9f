package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptDuringFetch sends each interrupt signal to secretexec while
// it is stuck reading a FIFO that nobody writes: it must exit 128+n by
// itself (not die of the signal), say why, and start nothing.
func TestInterruptDuringFetch(t *testing.T) {
	bin := buildSecretexec(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(signalName(sig), func(t *testing.T) {
			dir := t.TempDir()
			fifo := filepath.Join(dir, "fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			marker := filepath.Join(dir, "started")
			cmd := exec.Command(bin, "--from", "file:"+fifo, "--", "touch", marker)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // let it block in open(2)
			start := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
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
			want := "secretexec: error: interrupted by " + signalName(sig) + " before starting the command"
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr = %q; want %q", stderr.String(), want)
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
	if !errors.As(err, &ee) || ee.ExitCode() != exitUnavailable {
		t.Fatalf("err = %v; want exit %d\n%s", err, exitUnavailable, out)
	}
	if elapsed > 10*time.Second {
		t.Errorf("took %v; want about 500ms", elapsed)
	}
	if !strings.Contains(string(out), "longer than the 500ms timeout") {
		t.Errorf("output = %q; want it to name the timeout", out)
	}
}
