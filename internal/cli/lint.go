package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/secretexec/secretexec/fusebase"
	"github.com/secretexec/secretexec/internal/oserr"
	"github.com/secretexec/secretexec/lint"
)

// lint checks the app tree at DIR against the Fusebase secrets checklist
// and prints its findings on stdout, one a line or as JSON. Errors exit 1,
// and so do warnings with --strict; a tree or manifest that cannot be read
// is configuration (78).
func (c *cli) lint(ctx context.Context, args []string) error {
	s, err := c.configure("lint", args)
	if err != nil || s == nil {
		return err
	}
	dir := "."
	switch len(s.Command) {
	case 0:
	case 1:
		dir = s.Command[0]
	default:
		return usagef("lint takes one DIR, not %q", strings.Join(s.Command, " "))
	}
	if fi, err := os.Stat(dir); err != nil {
		return configf("lint: %s: %v", dir, oserr.Cause(err))
	} else if !fi.IsDir() {
		return configf("lint: %s: not a directory", dir)
	}
	root, sub, apps, err := lintProject(dir)
	if err != nil {
		return err
	}
	keys, warnings, err := c.lintKeys(ctx, s, root, apps)
	if err != nil {
		return err
	}
	c.log.Debug("lint", "dir", dir, "root", root, "apps", len(apps), "keys", len(keys))
	found, err := lint.Run(root, lint.Options{Apps: apps, Keys: keys, Dir: sub, Findings: warnings})
	if err != nil {
		return &configError{err: err}
	}
	if s.Format.v == "json" {
		err = writeJSONFindings(c.stdout, found)
	} else {
		err = writeTextFindings(c.stdout, found)
	}
	if err != nil {
		return fmt.Errorf("lint: writing the report: %w", err)
	}
	for _, f := range found {
		if f.Severity == lint.Error || s.Strict.v {
			return &exitStatus{code: 1}
		}
	}
	return nil
}

func writeTextFindings(w io.Writer, found []lint.Finding) error {
	for _, f := range found {
		if _, err := fmt.Fprintln(w, f); err != nil {
			return err
		}
	}
	return nil
}

func writeJSONFindings(w io.Writer, found []lint.Finding) error {
	if found == nil {
		found = []lint.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(found)
}

// lintProject finds the project as the run path does: the fusebase.json in
// DIR or in its nearest parent that has one. It returns the project root,
// DIR relative to it (slash-separated, "" when DIR is the root) and the app
// folders: apps[], or the legacy features[]; lint.Run reads those that hold
// DIR or lie in it. Without a fusebase.json DIR is the root and the one app.
func lintProject(dir string) (root, sub string, apps []lint.App, err error) {
	p, err := fusebase.FindProject(dir)
	if errors.Is(err, fusebase.ErrNoProject) {
		return dir, "", nil, nil
	}
	if err != nil {
		return "", "", nil, &configError{err: err}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", nil, configf("lint: %s: %v", dir, err)
	}
	root = p.Root()
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return "", "", nil, configf("lint: %s: %v", dir, err)
	}
	if sub = filepath.ToSlash(rel); sub == "." {
		sub = ""
	}
	for _, a := range p.Apps {
		apps = append(apps, lint.App{ID: a.ID, Path: filepath.ToSlash(a.Path)})
	}
	return root, sub, apps, nil
}

// lintKeys gathers the secret names lint looks for: the manifest named by
// --manifest, else the project root's and each app folder's and app backend
// folder's secrets.manifest; the
// --require keys; and, only when --from names sources, the keys those
// sources hold. Of a source it keeps the key names alone.
func (c *cli) lintKeys(ctx context.Context, s *settings, root string, apps []lint.App) ([]lint.Key, []lint.Finding, error) {
	var keys []lint.Key
	var warnings []lint.Finding
	var err error
	if s.Manifest.v != "" {
		keys, err = lint.ReadManifest(root, s.Manifest.v, "")
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, nil, configf("manifest %s: %v", s.Manifest.v, oserr.Cause(err))
		}
	} else {
		keys, warnings, err = lint.Manifests(root, apps)
	}
	if err != nil {
		return nil, nil, &configError{err: err}
	}
	required, err := s.requiredKeys()
	if err != nil {
		return nil, nil, err
	}
	for _, k := range required {
		keys = append(keys, lint.Key{Name: k.Name, As: k.As, Origin: k.Where()})
	}
	if s.From.from == byDefault {
		return keys, warnings, nil
	}
	sources, err := c.sources(s)
	if err != nil {
		return nil, nil, err
	}
	secrets, err := c.fetch(ctx, s, sources)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range secrets {
		keys = append(keys, lint.Key{Name: s.Key, Origin: s.Source})
	}
	return keys, warnings, nil
}
