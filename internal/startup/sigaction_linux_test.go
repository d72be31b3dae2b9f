//go:build linux && (amd64 || arm64)

package startup

import (
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestHandlingSeesABlockingThread checks the sign awaitHandlers waits on:
// another thread that blocks the interrupts, as one running the runtime's
// handler does, is seen; once it unblocks them, it is not.
func TestHandlingSeesABlockingThread(t *testing.T) {
	want := uint64(1)<<(syscall.SIGTERM-1) | uint64(1)<<(syscall.SIGHUP-1)
	runtime.LockOSThread() // self stays the thread the test runs on
	defer runtime.UnlockOSThread()
	self := strconv.Itoa(syscall.Gettid())
	// The runtime blocks every signal for a moment on a thread it starts,
	// and for good on one that is ending (as the last run's does).
	if !settles(self, want) {
		t.Fatal("a thread blocks the interrupts before the test blocked any")
	}

	blocked, unblock, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // the thread ends with the goroutine: its mask goes with it
		all, old := ^uint64(0), uint64(0)
		setMask(&all, &old)
		close(blocked)
		<-unblock
		setMask(&old, nil)
	}()
	<-blocked
	if !handling(self, want) {
		t.Error("a thread that blocks every signal is not seen")
	}
	close(unblock)
	<-done
	if !settles(self, want) { // the locked thread may take a moment to exit
		t.Error("still seen once the thread unblocked the signals and ended")
	}
}

// settles reports whether, within 5 s, no thread other than self blocks
// every signal of want.
func settles(self string, want uint64) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if !handling(self, want) {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func setMask(set, old *uint64) {
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 2, /* SIG_SETMASK */
		uintptr(unsafe.Pointer(set)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
}

// BenchmarkAwaitHandlers measures what the wait for handlers in flight
// adds to a plain exec after a fetch: one read of each thread's stat file.
func BenchmarkAwaitHandlers(b *testing.B) {
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}
	for b.Loop() {
		awaitHandlers(sigs)
	}
}
