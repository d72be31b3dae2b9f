package cli

import (
	"errors"
	"fmt"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/inject"
	"github.com/secretexec/secretexec/internal/startup"
	"github.com/secretexec/secretexec/manifest"
)

// Exit codes, from BSD's sysexits.h, as the README lists them.
const (
	exitUsage       = 64 // EX_USAGE
	exitValidation  = 65 // EX_DATAERR
	exitUnavailable = 69 // EX_UNAVAILABLE
	exitTempFail    = 75 // EX_TEMPFAIL
	exitProtocol    = 76 // EX_PROTOCOL
	exitPermission  = 77 // EX_NOPERM
	exitConfig      = 78 // EX_CONFIG
	exitNotExec     = 126
	exitNotFound    = 127
)

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

// validationError is a set of secrets that must not reach the command
// (exit 65), found by the run itself rather than by manifest or inject.
type validationError struct{ err error }

func (e *validationError) Error() string { return e.err.Error() }
func (e *validationError) Unwrap() error { return e.err }

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
		sig     *startup.SignalError
		status  *exitStatus
		usage   *usageError
		conf    *configError
		fe      *fetch.Error
		syntax  *manifest.SyntaxError
		unset   *manifest.UnsetError
		invalid *inject.InvalidError
		valid   *validationError
		cmd     *inject.CommandError
	)
	switch {
	case errors.As(err, &sig):
		return 128 + int(sig.Signal)
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
	case errors.As(err, &unset), errors.As(err, &invalid), errors.As(err, &valid):
		return exitValidation
	case errors.As(err, &cmd):
		if errors.Is(cmd.Err, inject.ErrNotFound) {
			return exitNotFound
		}
		return exitNotExec
	}
	return exitUnavailable
}
