//go:build !linux

package inject

import (
	"errors"
	"log/slog"

	"github.com/secretexec/secretexec/inject/mask"
)

// Supervise is implemented on Linux only, where secretexec runs as a
// container's PID 1; elsewhere it always fails.
func Supervise(path string, argv, env []string, log *slog.Logger) (code int, err error) {
	return 0, errors.New("inject: --init is supported on linux only")
}

// SuperviseAfter is Supervise with a hook; see the Linux version.
func SuperviseAfter(path string, argv, env []string, log *slog.Logger, ready func() error) (code int, err error) {
	return Supervise(path, argv, env, log)
}

// SuperviseMasked is SuperviseAfter with the output masked; see the Linux
// version.
func SuperviseMasked(path string, argv, env []string, log *slog.Logger, ready func() error, m *mask.Masker) (code int, err error) {
	return Supervise(path, argv, env, log)
}

// ScrubEnv is implemented on Linux only, where other processes can read
// the environment block in /proc; elsewhere it always fails.
func ScrubEnv(names ...string) error {
	return errors.New("inject: scrubbing the environment is supported on linux only")
}

// SuperviseWatch is Supervise with restarts; see the Linux version.
func SuperviseWatch(path string, argv, env []string, log *slog.Logger, ready func() error, m *mask.Masker, w Watch) (code int, err error) {
	return Supervise(path, argv, env, log)
}

// CheckExecSize is not checked here: a start that is refused says so.
func CheckExecSize(path string, argv, env []string) error { return nil }
