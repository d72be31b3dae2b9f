//go:build linux && (amd64 || arm64)

package main

import (
	"os"
	"syscall"
	"unsafe"
)

// restoreSignals gives each signal back the disposition it had before
// signal.Notify: ignored if ignored[i], else the default.
//
// It sets them with rt_sigaction itself. signal.Reset would do the same
// but take a round trip per signal to a thread of the runtime, a few
// hundred microseconds in all, and the runtime has no more use for them:
// the process execs or exits next. execve resets handled signals to the
// default and keeps ignored ones ignored, so an ignored SIGHUP or SIGINT
// stays ignored for the command. (For the others the Go runtime installs
// its handler at start-up over an inherited ignore, which is then lost:
// the command gets them at their default.)
func restoreSignals(sigs []os.Signal, ignored []bool) {
	for i, sig := range sigs {
		// struct sigaction: handler, flags, restorer, mask. SIG_DFL is 0,
		// SIG_IGN 1; no flags, an empty mask.
		var act [4]uint64
		if ignored[i] {
			act[0] = 1
		}
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig.(syscall.Signal)),
			uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	}
}
