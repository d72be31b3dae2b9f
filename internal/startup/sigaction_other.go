//go:build !linux || !(amd64 || arm64)

package startup

import (
	"os"
	"os/signal"
	"syscall"
)

// sigaction stands for a handler set aside; elsewhere nothing is.
type sigaction struct{}

func (*sigaction) set(syscall.Signal) {}

// holdQuit does nothing here: SIGQUIT keeps the runtime's handler.
func holdQuit() *sigaction { return nil }

// restoreSignals gives each signal back the disposition it had before
// signal.Notify (see sigaction_linux.go).
func restoreSignals(sigs []os.Signal, ignored []bool) {
	signal.Reset(sigs...)
}

// awaitHandlers does nothing here: there is no way to see a handler run.
func awaitHandlers([]os.Signal) {}
