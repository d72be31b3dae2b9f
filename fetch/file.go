package fetch

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/secretexec/secretexec/internal/oserr"
)

// File is a JSON file in either shape Decode accepts.
type File struct {
	Path string
}

// Name returns "file:PATH".
func (f *File) Name() string { return "file:" + f.Path }

// Fetch reads and decodes the file.
func (f *File) Fetch(ctx context.Context) ([]Secret, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, openError(f.Name(), err)
	}
	defer fh.Close()
	var size int64 // unknown, as for a pipe
	if fi, err := fh.Stat(); err == nil && fi.IsDir() {
		return nil, errorf(Config, f.Name(), "is a directory (use dir:%s for one file per key)", f.Path)
	} else if err == nil && fi.Mode().IsRegular() {
		if size = fi.Size(); size > MaxSize {
			return nil, &Error{Kind: Protocol, Source: f.Name(), Err: &TooBigError{Limit: MaxSize}}
		}
	}
	return decodeSized(limitReader(fh, MaxSize), f.Name(), size)
}

// openError reports a file or directory that cannot be read as a
// configuration error, without the path twice.
func openError(source string, err error) error {
	err = oserr.Cause(err)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return errorf(Config, source, "%v", err)
	}
	return errorf(Config, source, "cannot read: %v", err)
}
