//go:build !linux || !(amd64 || arm64)

package main

import (
	"os"
	"os/signal"
)

// restoreSignals gives each signal back the disposition it had before
// signal.Notify (see signal_linux.go).
func restoreSignals(sigs []os.Signal, ignored []bool) {
	signal.Reset(sigs...)
}
