package oserr

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestCause(t *testing.T) {
	_, err := os.Open(filepath.Join(t.TempDir(), "nope"))
	got := Cause(err)
	if got.Error() != "does not exist" || !errors.Is(got, fs.ErrNotExist) {
		t.Errorf("Cause = %q (Is ErrNotExist: %v); want \"does not exist\"", got, errors.Is(got, fs.ErrNotExist))
	}
	got = Cause(&fs.PathError{Op: "open", Path: "/secret/path", Err: syscall.EACCES})
	if got.Error() != "permission denied" || !errors.Is(got, fs.ErrPermission) {
		t.Errorf("Cause = %q; want \"permission denied\"", got)
	}
	got = Cause(&fs.PathError{Op: "read", Path: "/x", Err: syscall.EIO})
	if got != syscall.EIO {
		t.Errorf("Cause = %v; want EIO itself", got)
	}
	if other := errors.New("other"); Cause(other) != other {
		t.Errorf("an error without a path must pass through")
	}
}
