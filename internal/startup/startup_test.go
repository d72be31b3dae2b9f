package startup

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as a process that starts with New and
// then sends itself SIGQUIT, in a process of its own.
func TestMain(m *testing.M) {
	if os.Getenv("STARTUP_TEST_QUIT") == "1" {
		New()
		syscall.Kill(os.Getpid(), syscall.SIGQUIT)
		time.Sleep(10 * time.Second) // SIGQUIT ends the process before this does
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// caught reports whether the process catches sig, from /proc/self/status.
func caught(t *testing.T, sig syscall.Signal) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return mask&(1<<(sig-1)) != 0
		}
	}
	t.Fatal("no SigCgt line")
	return false
}

// TestQuitBeforeArming checks that SIGQUIT before the interrupts are armed
// ends the process by the kernel's default action, as in any program, and
// not with the Go runtime's goroutine dump and exit 2.
func TestQuitBeforeArming(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SIGQUIT is held only on Linux")
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "STARTUP_TEST_QUIT=1", "GOTRACEBACK=all")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("got %v; want death by SIGQUIT\n%s", err, out)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGQUIT {
		t.Errorf("exit status %v; want death by SIGQUIT", ws)
	}
	if strings.Contains(string(out), "goroutine") {
		t.Errorf("printed a goroutine dump:\n%s", out)
	}
}

// TestArmCatches checks that, once armed, an interrupt cancels the
// context with a *SignalError and that SIGQUIT is caught again.
func TestArmCatches(t *testing.T) {
	i := New()
	if runtime.GOOS == "linux" && caught(t, syscall.SIGQUIT) {
		t.Errorf("SIGQUIT is caught before arming")
	}
	i.Arm()
	if runtime.GOOS == "linux" && !caught(t, syscall.SIGQUIT) {
		t.Errorf("SIGQUIT is not caught once armed")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-i.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGHUP did not cancel the context")
	}
	var se *SignalError
	if err := context.Cause(i.Context()); !errors.As(err, &se) || se.Signal != syscall.SIGHUP {
		t.Fatalf("cause = %v; want a *SignalError for SIGHUP", err)
	}
	if got, want := se.Error(), "interrupted by SIGHUP before starting the command"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	i.HandOff()
}

// TestStopKeepsCaught checks that a signal caught just before Stop cancels
// the context before Stop returns. The signal goes to this very thread, so
// it is caught before tgkill returns.
func TestStopKeepsCaught(t *testing.T) {
	i := New()
	i.Arm()
	runtime.LockOSThread()
	err := syscall.Tgkill(os.Getpid(), syscall.Gettid(), syscall.SIGINT)
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	i.HandOff()
	var se *SignalError
	if err := context.Cause(i.Context()); !errors.As(err, &se) || se.Signal != syscall.SIGINT {
		t.Fatalf("cause after HandOff = %v; want a *SignalError for SIGINT", err)
	}
}

// TestStopUnarmed checks that stopping interrupts that were never armed
// leaves the context alone and arms nothing later.
func TestStopUnarmed(t *testing.T) {
	i := New()
	i.Stop()
	if ready := i.Start(); ready != nil {
		t.Errorf("Start after Stop armed the signals")
	}
	if err := context.Cause(i.Context()); err != nil {
		t.Errorf("cause = %v; want none", err)
	}
	if i.quit != nil {
		i.quit.set(syscall.SIGQUIT) // give the runtime its handler back
	}
}

// TestFetchStuck checks the watchdog: a fetch stuck in a call that ignores
// its context is ended through exit with a TimeoutError once the time is
// up, and arm is called once the fetch has taken ArmDelay.
func TestFetchStuck(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	armed := make(chan struct{})
	exited := make(chan error, 1)
	go Fetch(context.Background(), 50*time.Millisecond, func(context.Context) error {
		<-block // stuck, deaf to the context
		return nil
	}, func() { close(armed) }, func(err error) {
		exited <- err
		select {} // exit does not return
	})
	select {
	case <-armed:
	case <-time.After(10 * time.Second):
		t.Fatal("arm was not called")
	}
	select {
	case err := <-exited:
		var te TimeoutError
		if !errors.As(err, &te) || time.Duration(te) != 50*time.Millisecond {
			t.Errorf("exit(%v); want a TimeoutError of 50ms", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("exit was not called")
	}
}

// TestFetchInterrupted checks that an interrupt ends a stuck fetch with the
// interrupt as the cause.
func TestFetchInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	block := make(chan struct{})
	defer close(block)
	exited := make(chan error, 1)
	go Fetch(ctx, time.Hour, func(context.Context) error {
		<-block
		return nil
	}, func() { cancel(&SignalError{Signal: syscall.SIGTERM}) }, func(err error) {
		exited <- err
		select {}
	})
	select {
	case err := <-exited:
		var se *SignalError
		if !errors.As(err, &se) || se.Signal != syscall.SIGTERM {
			t.Errorf("exit(%v); want the SIGTERM *SignalError", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("exit was not called")
	}
}

// TestFetchReturns checks that a fetch that returns in time gives its own
// error, and that the watchdog then does nothing.
func TestFetchReturns(t *testing.T) {
	want := errors.New("broken")
	err := Fetch(context.Background(), time.Hour, func(context.Context) error { return want },
		nil, func(err error) { t.Errorf("exit(%v) was called", err) })
	if err != want {
		t.Errorf("got %v; want %v", err, want)
	}
}

// TestHoldGC checks that the collector is off while held and back as it
// was after.
func TestHoldGC(t *testing.T) {
	before := debug.SetGCPercent(77)
	defer debug.SetGCPercent(before)
	HoldGC()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GC percent while held = %d; want -1", got)
	}
	ResumeGC()
	if got := debug.SetGCPercent(77); got != 77 {
		t.Errorf("GC percent after ResumeGC = %d; want 77", got)
	}
	debug.SetMemoryLimit(gcMemoryLimit)
}
