//go:build linux && (amd64 || arm64)

package startup

import (
	"os"
	"syscall"
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
