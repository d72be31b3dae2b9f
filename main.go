// Command secretexec fetches an app's secrets, checks them against the
// secrets the app requires, and replaces itself with the app, the secrets in
// its environment:
//
//	secretexec [flags] -- node backend
//
// See the README for the flags, variables, manifest and exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/inject"
	"github.com/secretexec/secretexec/internal/logging"
	"github.com/secretexec/secretexec/manifest"
)

// Exit codes, from BSD's sysexits.h, as the README lists them.
const (
	exitUsage       = 64 // EX_USAGE
	exitValidation  = 65 // EX_DATAERR
	exitUnavailable = 69 // EX_UNAVAILABLE
	exitProtocol    = 76 // EX_PROTOCOL
	exitPermission  = 77 // EX_NOPERM
	exitConfig      = 78 // EX_CONFIG
	exitNotExec     = 126
	exitNotFound    = 127
)

// interruptSignals cancel a fetch; secretexec then exits 128+n.
var interruptSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

func main() {
	os.Exit(main1())
}

// main1 runs secretexec and returns its exit code; nothing below it exits.
func main1() int {
	ctx, stop := interruptContext()
	defer stop()
	c := &cli{
		stdout:      os.Stdout,
		stderr:      os.Stderr,
		environ:     os.Environ(),
		log:         logging.New(os.Stderr, "text", slog.LevelInfo),
		stopSignals: stop,
	}
	err := c.run(ctx, os.Args[1:])
	if err == nil {
		return 0
	}
	return c.fail(err)
}

// interruptContext returns a context cancelled, with a *signalError as its
// cause, by the first interrupt signal, and a func that stops listening, so
// the command gets the default dispositions before it is exec'd.
func interruptContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, interruptSignals...)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			cancel(&signalError{sig: sig.(syscall.Signal)})
		case <-done:
		}
	}()
	var stopped bool
	return ctx, func() {
		if !stopped {
			stopped = true
			signal.Reset(interruptSignals...)
			close(done)
		}
	}
}

// signalError is an interrupt that arrived before the command started.
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string {
	return fmt.Sprintf("interrupted by %s before starting the command", signalName(e.sig))
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return sig.String()
}

// usageError is a command line that does not parse (exit 64).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// configError is a setting that parses but is wrong or names something
// missing, from a flag, a variable or a file (exit 78).
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func configf(format string, args ...any) error {
	return &configError{err: fmt.Errorf(format, args...)}
}

// exitStatus carries an exit code that is not an error of secretexec's own,
// such as a supervised child's status.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// hinted attaches hints, what the user could do next, to an error.
type hinted struct {
	err   error
	hints []string
}

func (e *hinted) Error() string { return e.err.Error() }
func (e *hinted) Unwrap() error { return e.err }

func withHints(err error, hints ...string) error {
	if len(hints) == 0 {
		return err
	}
	return &hinted{err: err, hints: hints}
}

// fail reports err on stderr and returns its exit code.
func (c *cli) fail(err error) int {
	var status *exitStatus
	if errors.As(err, &status) {
		return status.code
	}
	if h := hints(err); len(h) > 0 {
		c.log.Error(err.Error(), logging.Hints(h...))
	} else {
		c.log.Error(err.Error())
	}
	return exitCode(err)
}

// hints collects every hint attached to err and the errors it wraps.
func hints(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
			return
		case *hinted:
			out = append(out, e.hints...)
		case *fetch.Error:
			out = append(out, e.Hints...)
		case *usageError:
			out = append(out, "run 'secretexec --help' for the flags and variables")
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// exitCode maps an error to the exit codes the README lists.
func exitCode(err error) int {
	var (
		sig     *signalError
		status  *exitStatus
		usage   *usageError
		conf    *configError
		fe      *fetch.Error
		syntax  *manifest.SyntaxError
		unset   *manifest.UnsetError
		invalid *inject.InvalidError
		cmd     *inject.CommandError
	)
	switch {
	case errors.As(err, &sig):
		return 128 + int(sig.sig)
	case errors.As(err, &status):
		return status.code
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &conf), errors.As(err, &syntax):
		return exitConfig
	case errors.As(err, &fe):
		switch fe.Kind {
		case fetch.Protocol:
			return exitProtocol
		case fetch.Permission:
			return exitPermission
		case fetch.Config:
			return exitConfig
		}
		return exitUnavailable
	case errors.As(err, &unset), errors.As(err, &invalid):
		return exitValidation
	case errors.As(err, &cmd):
		if errors.Is(cmd.Err, inject.ErrNotFound) {
			return exitNotFound
		}
		return exitNotExec
	}
	return exitUnavailable
}

// cli is one invocation's streams, environment and logger.
type cli struct {
	stdout, stderr io.Writer
	environ        []string
	log            *slog.Logger
	// stopSignals stops the interrupt handling before the command starts.
	stopSignals func()
}
