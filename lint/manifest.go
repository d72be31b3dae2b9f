package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/secretexec/secretexec/internal/oserr"
	"github.com/secretexec/secretexec/manifest"
)

// ManifestName is the manifest file lint looks for in the root, in each app
// folder and in each app's backend folder.
const ManifestName = "secrets.manifest"

// Manifests reads the manifests a project keeps by default: ManifestName in
// the root, whose keys are the whole project's, and in each app folder and
// its backend folder, whose keys are that app's. A missing file is no error; an unreadable or
// invalid one is.
func Manifests(root string, apps []App) ([]Key, error) {
	if len(apps) == 0 {
		apps = []App{{}}
	}
	var keys []Key
	seen := map[string]bool{}
	read := func(dir, app string) error {
		rel := path.Join(dir, ManifestName)
		if seen[rel] {
			return nil
		}
		seen[rel] = true
		ks, err := ReadManifest(filepath.Join(root, filepath.FromSlash(rel)), rel, app)
		var syntax *manifest.SyntaxError
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case errors.As(err, &syntax):
			return err
		case err != nil:
			return fmt.Errorf("lint: manifest %s: %w", rel, oserr.Cause(err))
		}
		keys = append(keys, ks...)
		return nil
	}
	if err := read("", ""); err != nil {
		return nil, err
	}
	for _, a := range apps {
		p, err := cleanPath(a.Path)
		if err != nil {
			return nil, fmt.Errorf("lint: app %s: %w", appName(a), err)
		}
		if err := read(p, p); err != nil {
			return nil, err
		}
		if err := read(path.Join(p, "backend"), p); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// ReadManifest parses the manifest at file into keys of the given app ("" for
// the whole project). rel is the file's path as findings and messages name it.
func ReadManifest(file, rel, app string) ([]Key, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := manifest.Parse(f, rel)
	if err != nil {
		return nil, err
	}
	keys := make([]Key, 0, len(m.Keys))
	for _, k := range m.Keys {
		// Parse sets Origin to "rel:line".
		line, _ := strconv.Atoi(k.Origin[strings.LastIndexByte(k.Origin, ':')+1:])
		keys = append(keys, Key{Name: k.Name, Origin: k.Origin, App: app, File: rel, Line: line})
	}
	return keys, nil
}
