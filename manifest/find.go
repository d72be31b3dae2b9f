package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/secretexec/secretexec/internal/oserr"
)

// Name is the file name of a manifest.
const Name = "secrets.manifest"

// Find returns the manifests that apply when no manifest is named: the
// Name file of the project root (the folder of fusebase.json), of the
// selected app's folder, of that app's backend folder and of the working
// directory wd, in that order, each that exists once by its real path.
// app is the app's folder, relative to root unless absolute; "" is the
// root. With root "" (no fusebase.json) only wd's file counts; with wd ""
// it does not. A file that exists but is not a regular file, or cannot be
// looked at, is an error: a manifest must not be skipped by mistake.
func Find(root, app, wd string) ([]string, error) {
	var candidates []string
	if root != "" {
		dir := app
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(root, app)
		}
		candidates = append(candidates,
			filepath.Join(root, Name),
			filepath.Join(dir, Name),
			filepath.Join(dir, "backend", Name))
	}
	if wd != "" {
		candidates = append(candidates, filepath.Join(wd, Name))
	}
	var found []string
	seen := make(map[string]bool, len(candidates))
	for _, p := range candidates {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", p, oserr.Cause(err))
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("manifest %s: not a regular file", p)
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", p, oserr.Cause(err))
		}
		if real, err = filepath.Abs(real); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", p, err)
		}
		if !seen[real] {
			seen[real] = true
			found = append(found, p)
		}
	}
	return found, nil
}

// Load reads the manifests at paths and merges them in order, as Add does:
// a key in several files is required if any file requires it, and its
// description is the first one given. Every error it returns is the
// configuration's: a file that cannot be read, an invalid line, or two
// files that give the command one name from two store keys.
func Load(paths ...string) (*Manifest, error) {
	m := &Manifest{}
	for _, p := range paths {
		one, err := load(p)
		if err != nil {
			return nil, err
		}
		if len(m.Keys) == 0 {
			m.Keys = one.Keys
			continue
		}
		if err := m.Add(one.Keys...); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func load(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, oserr.Cause(err))
	}
	defer f.Close()
	return Parse(f, path)
}
