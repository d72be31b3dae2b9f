package fetch

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/secretexec/secretexec/internal/oserr"
	"github.com/secretexec/secretexec/internal/redact"
)

// Dir is a directory holding one regular file per key, as Docker and
// Kubernetes mount secrets: the file name is the key, its content the value.
//
// Symbolic links are followed, since Kubernetes links each key to
// ..data/KEY. Names starting with "." are skipped, so "..data" and the
// timestamped folder it points to never become keys. One trailing newline
// is stripped from each value; editors and `echo` add it.
type Dir struct {
	Path string
}

// Name returns "dir:PATH".
func (d *Dir) Name() string { return "dir:" + d.Path }

// Fetch reads every key file, sorted by name.
func (d *Dir) Fetch(ctx context.Context) ([]Secret, error) {
	fi, err := os.Stat(d.Path)
	if err != nil {
		return nil, openError(d.Name(), err)
	}
	if !fi.IsDir() {
		return nil, errorf(Config, d.Name(), "is not a directory (use file:%s for a JSON file)", d.Path)
	}
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		return nil, openError(d.Name(), err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // ReadDir sorts already; keep the order explicit
	b := budgetFrom(ctx)
	buf := make([]byte, readSize) // for every key's copy
	secrets := make([]Secret, 0, len(names))
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		value, ok, err := d.readKey(b, buf, name)
		if err != nil {
			return nil, err
		}
		if ok {
			secrets = append(secrets, Secret{Key: name, Value: value, Source: d.Name()})
		}
	}
	return secrets, nil
}

// readKey reads one key file, drawing on b, through buf. Entries that
// are not regular files after following links (subdirectories, sockets,
// dangling links) are skipped: ok is false.
func (d *Dir) readKey(b *budget, buf []byte, name string) (value string, ok bool, err error) {
	path := filepath.Join(d.Path, name)
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return "", false, nil
	}
	key := redact.Key(name)
	if err := b.fits(fi.Size()); err != nil {
		return "", false, errorf(Protocol, d.Name(), "%s: %w", key, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", false, errorf(Config, d.Name(), "%s: %v", key, oserr.Cause(err))
	}
	defer f.Close()
	// The value is read into the string it becomes, sized by the file's
	// size, which may still change.
	var v strings.Builder
	v.Grow(int(fi.Size()))
	if _, err := io.CopyBuffer(&v, b.reader(f), buf); err != nil {
		var big *TooBigError
		if errors.As(err, &big) {
			return "", false, errorf(Protocol, d.Name(), "%s: %w", key, err)
		}
		return "", false, errorf(Config, d.Name(), "%s: %v", key, oserr.Cause(err))
	}
	// One trailing newline only: a value may itself end in a newline,
	// and a second one is then part of it.
	return strings.TrimSuffix(v.String(), "\n"), true, nil
}
