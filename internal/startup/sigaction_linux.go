//go:build linux && (amd64 || arm64)

package startup

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// sigaction is the kernel's struct sigaction, held as raw words: handler,
// flags, then the restorer (amd64) and the mask. It is only copied, never
// read field by field, except to set SIG_DFL (0) or SIG_IGN (1).
type sigaction [4]uint64

// swap sets sig's action to act and returns the one it had.
func swap(sig syscall.Signal, act *sigaction) *sigaction {
	old := new(sigaction)
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	return old
}

// set makes a the action of sig again.
func (a *sigaction) set(sig syscall.Signal) { swap(sig, a) }

// holdQuit gives SIGQUIT the kernel's default action, so that before the
// interrupts are armed it ends the process as it would any program (exit
// status 131 in a shell) rather than with the runtime's goroutine dump,
// and returns the runtime's handler for Start to put back.
func holdQuit() *sigaction {
	return swap(syscall.SIGQUIT, new(sigaction))
}

// restoreSignals gives each signal back the disposition it had before
// signal.Notify: ignored if ignored[i], else the default.
//
// It sets them with rt_sigaction itself. signal.Reset would do the same
// but take a round trip per signal to a thread of the runtime, a few
// hundred microseconds in all, and the runtime has no more use for them:
// the process execs next. execve resets handled signals to the default and
// keeps ignored ones ignored, so an ignored SIGHUP or SIGINT stays ignored
// for the command.
func restoreSignals(sigs []os.Signal, ignored []bool) {
	for i, sig := range sigs {
		act := new(sigaction) // SIG_DFL, no flags, an empty mask
		if ignored[i] {
			act[0] = 1 // SIG_IGN
		}
		swap(sig.(syscall.Signal), act)
	}
}

// awaitHandlers waits, for at most a second, until no other thread of the
// process is inside a signal handler, so that a signal one of them took
// just before restoreSignals has been passed on to signal.Notify (or, after
// signal.Stop, has ended the process) before execve ends that thread.
//
// The kernel picks the thread that takes a signal meant for the process,
// and from then on the signal is that thread's: if execve runs before its
// handler does, the signal is lost and the command starts although it was
// interrupted. No call tells whether a handler is running, but the
// thread's mask does: the runtime installs its handler with every signal
// blocked while it runs, and otherwise never blocks the interrupts on a
// thread for more than a moment (while it starts a thread).
func awaitHandlers(sigs []os.Signal) {
	var want uint64
	for _, sig := range sigs {
		want |= 1 << (sig.(syscall.Signal) - 1)
	}
	if want == 0 {
		return // nothing listened to, nothing to lose
	}
	runtime.LockOSThread() // self stays the thread this runs on
	defer runtime.UnlockOSThread()
	self := strconv.Itoa(syscall.Gettid())
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		if !handling(self, want) {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// handling reports whether a thread other than self blocks every signal of
// want: one that is running a handler.
func handling(self string, want uint64) bool {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return false // no /proc: nothing to wait for that can be seen
	}
	for _, task := range tasks {
		if task.Name() == self {
			continue
		}
		if blocked, ok := blockedSignals(task.Name()); ok && blocked&want == want {
			return true
		}
	}
	return false
}

// blockedSignals reads the mask of blocked signals of the thread tid, the
// 32nd field of its stat file (the 30th after the command's name, which
// may hold spaces and ends with the last ')'). The field holds signals 1
// to 31 only, which is all the interrupts need; it costs a fraction of the
// status file, which the kernel fills with the memory counts too. It reads
// with plain system calls: os.ReadFile would add a stat and a try at the
// poller per thread.
func blockedSignals(tid string) (uint64, bool) {
	fd, err := syscall.Open("/proc/self/task/"+tid+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, false // the thread has ended
	}
	var buf [1024]byte
	n, err := syscall.Read(fd, buf[:])
	syscall.Close(fd)
	if err != nil || n <= 0 {
		return 0, false
	}
	b := buf[:n]
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 30 {
		return 0, false
	}
	blocked, err := strconv.ParseUint(fields[29], 10, 64)
	return blocked, err == nil
}
