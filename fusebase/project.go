// Package fusebase reads the files the Fusebase CLI leaves on a machine:
// the project's fusebase.json, found upward from a directory, and the
// user's ~/.fusebase/config.json. It builds the secrets endpoint of one app
// from them and never touches the network. Its errors name the file or the
// variable they are about; callers add that the Fusebase source failed.
package fusebase

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/secretexec/secretexec/internal/oserr"
)

// ProjectFile is the name of the project file the Fusebase CLI writes.
const ProjectFile = "fusebase.json"

// A Project is a fusebase.json.
type Project struct {
	// File is the path of the fusebase.json that was read.
	File  string
	OrgID string
	// AppID is the parent app; each entry of Apps is one of its apps.
	AppID string
	// Env is the optional environment name (prod, dev, local).
	Env  string
	Apps []App
	// Legacy is true when the apps came from the older features[] list.
	Legacy bool
	// backends holds each app's backend object, undecoded: only
	// --sidecar reads it (see Sidecar).
	backends []json.RawMessage
}

// An App is one entry of fusebase.json apps[] (or features[]).
type App struct {
	ID string
	// Path is the app's folder relative to the project root, "" when the
	// entry has none.
	Path string
}

// String returns the id and the path, or "no path".
func (a App) String() string {
	if a.Path == "" {
		return a.ID + " (no path)"
	}
	return a.ID + " (path " + a.Path + ")"
}

// Root returns the directory holding the project file.
func (p *Project) Root() string { return filepath.Dir(p.File) }

// ErrNoProject is returned by FindProject when no directory up to the root
// holds a fusebase.json.
var ErrNoProject = errors.New("no " + ProjectFile + " found")

// FindProject loads the fusebase.json in dir or in the nearest parent that
// has one. It returns an error wrapping ErrNoProject when there is none.
func FindProject(dir string) (*Project, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fusebase: %w", err)
	}
	for d := dir; ; {
		file := filepath.Join(d, ProjectFile)
		fi, err := os.Stat(file)
		if err == nil && !fi.IsDir() {
			return LoadProject(file)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", file, oserr.Cause(err))
		}
		parent := filepath.Dir(d)
		if parent == d {
			return nil, fmt.Errorf("%w in %s or any parent", ErrNoProject, dir)
		}
		d = parent
	}
}

// projectJSON is the part of fusebase.json that secretexec reads. The file
// holds more (dev commands, build settings), all of it ignored here.
type projectJSON struct {
	OrgID    string       `json:"orgId"`
	AppID    string       `json:"appId"`
	Env      string       `json:"env"`
	Apps     *[]entryJSON `json:"apps"`
	Features *[]entryJSON `json:"features"`
}

type entryJSON struct {
	ID      string          `json:"id"`
	Path    string          `json:"path"`
	Backend json.RawMessage `json:"backend"`
}

// LoadProject reads one fusebase.json. Apps come from apps[], or from the
// legacy features[] when there is no apps[].
func LoadProject(file string) (*Project, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, oserr.Cause(err))
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("fusebase: %w", err)
	}
	return parseProject(b, abs)
}

// parseProject parses the content of the fusebase.json at file.
func parseProject(b []byte, file string) (*Project, error) {
	var raw projectJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %s", file, jsonProblem(err))
	}
	p := &Project{File: file, OrgID: raw.OrgID, AppID: raw.AppID, Env: raw.Env}
	entries := raw.Apps
	if entries == nil && raw.Features != nil {
		entries, p.Legacy = raw.Features, true
	}
	if entries != nil {
		for i, e := range *entries {
			if e.ID == "" {
				return nil, fmt.Errorf("%s: %s[%d] has no id", file, p.listName(), i)
			}
			path := ""
			if e.Path != "" {
				path = filepath.Clean(filepath.FromSlash(e.Path))
				if path == "." {
					path = ""
				}
			}
			p.Apps = append(p.Apps, App{ID: e.ID, Path: path})
			p.backends = append(p.backends, e.Backend)
		}
	}
	return p, nil
}

func (p *Project) listName() string {
	if p.Legacy {
		return "features"
	}
	return "apps"
}

// jsonKind names the kind of JSON value a type error met. Value may
// carry the literal ("number 1e999"): only its first word is kept.
func jsonKind(typ *json.UnmarshalTypeError) string {
	kind, _, _ := strings.Cut(typ.Value, " ")
	return kind
}

// jsonProblem describes a JSON error by position and type only: the
// standard messages quote the offending input, and the files read here
// sit next to credentials.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return fmt.Sprintf("want a JSON object, got a JSON %s", jsonKind(typ))
		}
		return fmt.Sprintf("%s: want %s, got a JSON %s", field, typ.Type, jsonKind(typ))
	}
	return "malformed JSON"
}

// An AppError reports that no single app could be picked from the project.
type AppError struct {
	File string
	// Want is what --app asked for, "" when nothing did.
	Want string
	Apps []App
}

func (e *AppError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", e.File)
	switch {
	case len(e.Apps) == 0:
		b.WriteString("lists no apps")
		return b.String()
	case e.Want != "":
		fmt.Fprintf(&b, "no app %q; ", e.Want)
	default:
		fmt.Fprintf(&b, "%d apps and the working directory is in none of them; ", len(e.Apps))
	}
	b.WriteString("it lists ")
	for i, a := range e.Apps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	return b.String()
}

// Pick chooses the app to fetch secrets for. want, when not empty, names
// it by id or by path (relative to the project root or to wd). Otherwise
// the only app is picked, or else the one whose folder holds wd (the
// deepest, when folders nest). Anything else is an *AppError.
func (p *Project) Pick(want, wd string) (App, error) {
	if abs, err := filepath.Abs(wd); err == nil {
		wd = abs
	}
	if len(p.Apps) == 0 {
		return App{}, &AppError{File: p.File, Want: want}
	}
	if want != "" {
		for _, a := range p.Apps {
			if a.ID == want {
				return a, nil
			}
		}
		clean := filepath.Clean(filepath.FromSlash(want))
		abs := clean
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(wd, clean)
		}
		for _, a := range p.Apps {
			if a.Path == "" {
				continue
			}
			if a.Path == clean || filepath.Join(p.Root(), a.Path) == abs {
				return a, nil
			}
		}
		return App{}, &AppError{File: p.File, Want: want, Apps: p.Apps}
	}
	if len(p.Apps) == 1 {
		return p.Apps[0], nil
	}
	best, depth := -1, -1
	for i, a := range p.Apps {
		if a.Path == "" {
			continue
		}
		dir := filepath.Join(p.Root(), a.Path)
		if within(dir, wd) {
			if d := strings.Count(dir, string(filepath.Separator)); d > depth {
				best, depth = i, d
			}
		}
	}
	if best >= 0 {
		return p.Apps[best], nil
	}
	return App{}, &AppError{File: p.File, Apps: p.Apps}
}

// within reports whether path is dir or inside it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

// IDs returns the app ids in file order.
func (p *Project) IDs() []string {
	ids := make([]string, len(p.Apps))
	for i, a := range p.Apps {
		ids[i] = a.ID
	}
	return ids
}
