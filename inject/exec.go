package inject

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrNotFound means the command is not on PATH or does not exist (exit 127).
var ErrNotFound = errors.New("command not found")

// ErrNotExecutable means the command exists but cannot be run (exit 126).
var ErrNotExecutable = errors.New("permission denied or not an executable")

// CommandError is a command that cannot be started.
type CommandError struct {
	Name string
	Err  error // ErrNotFound, ErrNotExecutable, or another cause
}

func (e *CommandError) Error() string { return e.Name + ": " + e.Err.Error() }
func (e *CommandError) Unwrap() error { return e.Err }

// LookPath resolves name the way a shell does, using the PATH in env (the
// command's environment, which may differ from secretexec's own), with one
// exception, as in Go's os/exec: a command found only through an empty or
// relative PATH entry (a stray ':' in PATH=$PATH:$X) is refused, since it
// would run whatever file of that name the working directory holds, with
// every secret.
func LookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return checkExecutable(name, name, false)
	}
	var firstErr error
	for _, dir := range filepath.SplitList(PathOf(env)) {
		if dir == "" {
			dir = "." // POSIX: an empty PATH entry is the working directory
		}
		path, err := checkExecutable(name, filepath.Join(dir, name), true)
		if err == nil && !filepath.IsAbs(dir) {
			err = &CommandError{Name: name, Err: fmt.Errorf("%w in PATH but through the relative entry %q; name it as ./%s to run it",
				ErrNotFound, dir, filepath.ToSlash(filepath.Clean(path)))}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if err == nil {
			return path, nil
		}
		var ce *CommandError
		if errors.As(err, &ce) && ce.Err == ErrNotExecutable && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return "", firstErr
	}
	return "", &CommandError{Name: name, Err: ErrNotFound}
}

// checkExecutable reports whether path can be run. While searching PATH,
// a file that cannot even be looked at (in a folder the user may not
// search) is not there, as for a shell; named outright, it is not
// executable.
// PathOf returns the value of PATH in env: the first one, should it be
// set twice, as getenv(3) in the command would see it.
func PathOf(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			return v
		}
	}
	return ""
}

func checkExecutable(name, path string, searching bool) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if searching || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return "", &CommandError{Name: name, Err: ErrNotFound}
		}
		return "", &CommandError{Name: name, Err: ErrNotExecutable}
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return "", &CommandError{Name: name, Err: ErrNotExecutable}
	}
	return path, nil
}

// Exec replaces the current process with the command: it keeps this
// process's PID, so in a container it is PID 1 and gets signals directly.
// It returns only on failure.
func Exec(path string, argv, env []string) error {
	return startError(argv[0], syscall.Exec(path, argv, env))
}

// startError turns the errno of a failed execve into a *CommandError.
func startError(name string, err error) error {
	switch {
	case errors.Is(err, syscall.E2BIG):
		return &InvalidError{Problems: []string{fmt.Sprintf(
			"%s cannot start: its arguments and environment are larger than the system allows; mount large secrets as files instead", name)}}
	case errors.Is(err, syscall.ENOENT):
		// The file vanished, or its interpreter (#!) does not exist.
		return &CommandError{Name: name, Err: fmt.Errorf("%w (or its interpreter is missing)", ErrNotFound)}
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.ENOEXEC), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EISDIR):
		return &CommandError{Name: name, Err: fmt.Errorf("%w: %v", ErrNotExecutable, err)}
	}
	return &CommandError{Name: name, Err: err}
}
