package lint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/secretexec/secretexec/internal/oserr"
	"github.com/secretexec/secretexec/manifest"
)

// ManifestName is the manifest file lint looks for in the root, in each app
// folder and in each app's backend folder.
const ManifestName = manifest.Name

// Manifests reads the manifests a project keeps, found as a run finds them
// (manifest.Find) for each app: the root's, whose keys are the whole
// project's, and each app folder's and its backend folder's, whose keys
// are that app's. A manifest that is a symbolic link leading out of the
// root is never read: it gets a warning, returned for Options.Findings, so
// that a tree cannot make lint print the words of a file outside it. A
// missing file is no error; an unreadable or invalid one is.
func Manifests(root string, apps []App) ([]Key, []Finding, error) {
	realRoot, err := realPath(root)
	if err != nil {
		return nil, nil, fmt.Errorf("lint: %s: %w", root, oserr.Cause(err))
	}
	if len(apps) == 0 {
		apps = []App{{}}
	}
	var (
		keys     []Key
		warnings []Finding
		seen     = map[string]bool{}
	)
	for _, a := range apps {
		p, err := cleanPath(a.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("lint: app %s: %w", appName(a), err)
		}
		files, err := manifest.Find(root, filepath.FromSlash(p), "")
		if err != nil {
			return nil, nil, fmt.Errorf("lint: %w", err)
		}
		for _, file := range files {
			rel := relTo(root, file)
			if seen[rel] {
				continue
			}
			seen[rel] = true
			if !inTree(realRoot, file) {
				warnings = append(warnings, Finding{Path: rel, Line: 1, Col: 1, Severity: Warning,
					Message: "a symbolic link to a file outside the tree; lint does not follow it, so its keys are not checked"})
				continue
			}
			app := p
			if rel == ManifestName {
				app = "" // the root's keys are the whole project's
			}
			ks, err := readManifest(file, rel, app)
			if err != nil {
				return nil, nil, err
			}
			keys = append(keys, ks...)
		}
	}
	return keys, warnings, nil
}

// ReadManifest parses the manifest at file, named by --manifest, into keys
// of the given app ("" for the whole project), each with its File relative
// to root. A file in the tree that is a symbolic link leading out of it is
// refused, as in Manifests. A file outside the tree was named on purpose
// and is read.
func ReadManifest(root, file, app string) ([]Key, error) {
	realRoot, err := realPath(root)
	if err != nil {
		return nil, fmt.Errorf("lint: %s: %w", root, oserr.Cause(err))
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("lint: manifest %s: %w", file, err)
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("lint: %s: %w", root, err)
	}
	_, statErr := os.Stat(abs)
	if statErr == nil && (holds(absRoot, abs) || holds(realRoot, abs)) && !inTree(realRoot, abs) {
		return nil, fmt.Errorf("lint: manifest %s: a symbolic link to a file outside the tree, which lint does not follow", file)
	}
	return readManifest(file, relTo(root, file), app)
}

// readManifest parses the manifest at file; rel is its path as findings
// name it.
func readManifest(file, rel, app string) ([]Key, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("lint: manifest %s: %w", rel, oserr.Cause(err))
	}
	defer f.Close()
	m, err := manifest.Parse(f, rel)
	var syntax *manifest.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("lint: %w", err)
	}
	keys := make([]Key, 0, len(m.Keys))
	for _, k := range m.Keys {
		keys = append(keys, Key{Name: k.Name, As: k.As, Origin: k.Where(), App: app, File: rel, Line: k.Line})
	}
	return keys, nil
}

// realPath returns p absolute, its links resolved.
func realPath(p string) (string, error) {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	return filepath.Abs(r)
}

// inTree reports whether the file p, its links resolved, lies in the
// folder realRoot (absolute, resolved).
func inTree(realRoot, p string) bool {
	r, err := realPath(p)
	return err == nil && holds(realRoot, r)
}

// holds reports whether the absolute path p is dir or lies in it.
func holds(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// relTo returns path as findings name it: relative to dir, slash-separated,
// or as given when it cannot be.
func relTo(dir, path string) string {
	absDir, err1 := filepath.Abs(dir)
	absPath, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return filepath.ToSlash(path)
	}
	rel, err := filepath.Rel(absDir, absPath)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// names returns the words that name k in code: its store name and, when
// the manifest renames it, the name the command sees. Both are secrets in
// browser code, and a backend that reads either references the key.
func (k *Key) names() []string {
	if k.As == "" || k.As == k.Name {
		return []string{k.Name}
	}
	return []string{k.Name, k.As}
}

// label returns the key as messages name it: "PG_URL", or
// "PG_URL (as DATABASE_URL)".
func (k *Key) label() string {
	if k.As == "" || k.As == k.Name {
		return k.Name
	}
	return k.Name + " (as " + k.As + ")"
}
