package fetch

import (
	"bufio"
	"context"
	"errors"
	"io"
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

// Fetch reads and decodes the file, drawing on the fetch's budget.
func (f *File) Fetch(ctx context.Context) ([]Secret, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, openError(f.Name(), err)
	}
	defer fh.Close()
	b := budgetFrom(ctx)
	size := int64(-1) // unknown, as for a pipe
	if fi, err := fh.Stat(); err == nil && fi.IsDir() {
		return nil, errorf(Config, f.Name(), "is a directory (use dir:%s for one file per key)", f.Path)
	} else if err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
		if err := b.fits(size); err != nil {
			return nil, &Error{Kind: Protocol, Source: f.Name(), Err: err}
		}
	}
	return decodeFrom(b, fh, size, f.Name())
}

// decodeFrom decodes r, drawing on b. size is r's length if known, else
// -1. The decoder asks for a few hundred bytes at a time; a buffer makes
// that one read of r per readSize, or one in all for a small file.
func decodeFrom(b *budget, r io.Reader, size int64, source string) ([]Secret, error) {
	n := readSize
	if size >= 0 && size < readSize {
		n = int(size) + 1 // +1: the read that finds the end
	}
	return Decode(bufio.NewReaderSize(b.reader(r), n), source)
}

// readSize is how much a source reads at a time.
const readSize = 32 << 10

// openError reports a file or directory that cannot be read as a
// configuration error, without the path twice.
func openError(source string, err error) error {
	err = oserr.Cause(err)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return errorf(Config, source, "%v", err)
	}
	return errorf(Config, source, "cannot read: %v", err)
}
