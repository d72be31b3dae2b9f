// Package oserr words file system errors for messages that have named the
// path already.
package oserr

import (
	"errors"
	"io/fs"
)

// Cause returns err without the path an *fs.PathError repeats, with the
// common causes worded plainly: "does not exist", "permission denied".
// The result still unwraps to the cause, so errors.Is(err, fs.ErrNotExist)
// and the like hold as before.
func Cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &plain{"does not exist", err}
	case errors.Is(err, fs.ErrPermission):
		return &plain{"permission denied", err}
	}
	return err
}

type plain struct {
	msg   string
	cause error
}

func (e *plain) Error() string { return e.msg }
func (e *plain) Unwrap() error { return e.cause }
