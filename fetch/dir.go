package fetch

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/secretexec/secretexec/internal/oserr"
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
	secrets := make([]Secret, 0, len(names))
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		value, ok, err := d.readKey(name)
		if err != nil {
			return nil, err
		}
		if ok {
			secrets = append(secrets, Secret{Key: name, Value: value, Source: d.Name()})
		}
	}
	return secrets, nil
}

// readKey reads one key file. Entries that are not regular files after
// following links (subdirectories, sockets, dangling links) are skipped:
// ok is false.
func (d *Dir) readKey(name string) (value string, ok bool, err error) {
	path := filepath.Join(d.Path, name)
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return "", false, nil
	}
	if fi.Size() > MaxSize {
		return "", false, errorf(Protocol, d.Name(), "%s: %v", name, &TooBigError{Limit: MaxSize})
	}
	f, err := os.Open(path)
	if err != nil {
		return "", false, errorf(Config, d.Name(), "%s: %v", name, oserr.Cause(err))
	}
	defer f.Close()
	b, err := io.ReadAll(limitReader(f, MaxSize))
	if err != nil {
		if _, big := err.(*TooBigError); big {
			return "", false, errorf(Protocol, d.Name(), "%s: %v", name, err)
		}
		return "", false, errorf(Config, d.Name(), "%s: %v", name, oserr.Cause(err))
	}
	b = trimNewline(b)
	return string(b), true, nil
}

// trimNewline strips one trailing "\n". Only one: a value may itself end
// in a newline, and a second one is then part of it.
func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return b
}
