package manifest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretexec/secretexec/fusebase"
	"github.com/secretexec/secretexec/manifest"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// discover finds and loads the manifests as a run from wd does: the
// project and the app from fusebase.json, then Find and Load.
func discover(t *testing.T, wd string) (*manifest.Manifest, []string) {
	t.Helper()
	root, app := "", ""
	p, err := fusebase.FindProject(wd)
	switch {
	case errors.Is(err, fusebase.ErrNoProject):
	case err != nil:
		t.Fatal(err)
	default:
		a, err := p.Pick("", wd)
		if err != nil {
			t.Fatal(err)
		}
		root, app = p.Root(), a.Path
	}
	paths, err := manifest.Find(root, app, wd)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	m, err := manifest.Load(paths...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m, paths
}

func keyList(m *manifest.Manifest) string {
	var s []string
	for _, k := range m.Keys {
		w := k.String()
		if k.Optional {
			w += "?"
		}
		if k.Description != "" {
			w += ":" + k.Description
		}
		s = append(s, w)
	}
	return strings.Join(s, " ")
}

// TestDiscovery is the Fusebase project of the bug: fusebase.json at the
// root, the app under features/demo, its manifest in features/demo/backend.
// From the root, from the app and from backend/ the same keys apply.
func TestDiscovery(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"fusebase.json": `{"orgId": "o1", "appId": "a1", "features": [{"id": "demo", "path": "features/demo",
			"backend": {"start": {"command": "node backend"}}}]}`,
		"secrets.manifest":                       "OPENAI_API_KEY: OpenAI\nSENTRY_DSN?: optional here\n",
		"features/demo/backend/secrets.manifest": "STRIPE_SECRET_KEY: Stripe\nSENTRY_DSN: required there\n",
		"features/demo/backend/src/.keep":        "",
		"elsewhere/secrets.manifest":             "NOT_THIS_ONE\n",
	})
	want := "OPENAI_API_KEY:OpenAI SENTRY_DSN:optional here STRIPE_SECRET_KEY:Stripe"
	for _, wd := range []string{"", "features/demo", "features/demo/backend", "features/demo/backend/src"} {
		m, paths := discover(t, filepath.Join(root, wd))
		if got := keyList(m); got != want {
			t.Errorf("from %q: keys %s (from %v); want %s", wd, got, paths, want)
		}
		if len(paths) != 2 {
			t.Errorf("from %q: %d files %v; want 2, each once", wd, len(paths), paths)
		}
	}
	// Where each key was declared.
	m, _ := discover(t, root)
	if got := m.Keys[2].Where(); got != filepath.Join(root, "features/demo/backend/secrets.manifest")+":1" {
		t.Errorf("STRIPE_SECRET_KEY declared at %s", got)
	}
	// The working directory's own file counts too.
	m, _ = discover(t, filepath.Join(root, "elsewhere"))
	if got := keyList(m); got != want+" NOT_THIS_ONE" {
		t.Errorf("from elsewhere: %s", got)
	}
}

// TestDiscoveryApps picks the app whose folder holds the working directory:
// its app folder, its backend, not the other app's.
func TestDiscoveryApps(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"fusebase.json": `{"orgId": "o1", "appId": "a1", "apps": [
			{"id": "shop", "path": "apps/shop"}, {"id": "admin", "path": "apps/admin"}]}`,
		"apps/shop/secrets.manifest":          "SHOP_KEY\n",
		"apps/shop/backend/secrets.manifest":  "SHOP_BACKEND_KEY\n",
		"apps/admin/secrets.manifest":         "ADMIN_KEY\n",
		"apps/admin/backend/secrets.manifest": "ADMIN_BACKEND_KEY\n",
	})
	for wd, want := range map[string]string{
		"apps/shop":          "SHOP_KEY SHOP_BACKEND_KEY",
		"apps/shop/backend":  "SHOP_KEY SHOP_BACKEND_KEY",
		"apps/admin/backend": "ADMIN_KEY ADMIN_BACKEND_KEY",
	} {
		if m, _ := discover(t, filepath.Join(root, wd)); keyList(m) != want {
			t.Errorf("from %s: %s; want %s", wd, keyList(m), want)
		}
	}
}

// TestDiscoveryNoProject: without fusebase.json only the working
// directory's file counts, not its backend's.
func TestDiscoveryNoProject(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"secrets.manifest":         "HERE\n",
		"backend/secrets.manifest": "NOT_READ\n",
	})
	if m, paths := discover(t, dir); keyList(m) != "HERE" || len(paths) != 1 {
		t.Errorf("keys %s from %v; want HERE alone", keyList(m), paths)
	}
	if m, paths := discover(t, filepath.Join(dir, "backend")); keyList(m) != "NOT_READ" || len(paths) != 1 {
		t.Errorf("from backend: keys %s from %v; want NOT_READ alone", keyList(m), paths)
	}
	paths, err := manifest.Find("", "", t.TempDir())
	if err != nil || len(paths) != 0 {
		t.Errorf("empty folder: %v, %v; want nothing", paths, err)
	}
}

// TestFindOnce reads a file reached by two paths once: the app at the
// root, and a manifest that is a link to another.
func TestFindOnce(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"secrets.manifest":   "A\n",
		"shared/app.secrets": "B\n",
	})
	// The app is the root: root and app are one file.
	paths, err := manifest.Find(root, "", root)
	if err != nil || len(paths) != 1 || paths[0] != filepath.Join(root, "secrets.manifest") {
		t.Errorf("app at the root: %v, %v; want the root's file once", paths, err)
	}
	// An absolute app path works as a relative one.
	if err := os.MkdirAll(filepath.Join(root, "app", "backend"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "shared", "app.secrets"), filepath.Join(root, "app", "secrets.manifest")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	if err := os.Symlink("../secrets.manifest", filepath.Join(root, "app", "backend", "secrets.manifest")); err != nil {
		t.Fatal(err)
	}
	paths, err = manifest.Find(root, filepath.Join(root, "app"), filepath.Join(root, "app", "backend"))
	want := []string{filepath.Join(root, "secrets.manifest"), filepath.Join(root, "app", "secrets.manifest")}
	if err != nil || strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("Find = %v, %v; want %v", paths, err, want)
	}
	// A dangling link is no manifest.
	if err := os.Symlink("nowhere", filepath.Join(root, "shared", "secrets.manifest")); err != nil {
		t.Fatal(err)
	}
	if paths, err := manifest.Find("", "", filepath.Join(root, "shared")); err != nil || len(paths) != 0 {
		t.Errorf("dangling link: %v, %v; want nothing", paths, err)
	}
}

// TestFindNotAFile: a manifest that is there but cannot be read as one is
// an error, never skipped.
func TestFindNotAFile(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "app", "backend", "secrets.manifest"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := manifest.Find(root, "app", "")
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Find = %v; want not a regular file", err)
	}
	// An app path that is a file holds no manifest.
	write(t, root, map[string]string{"file": ""})
	if paths, err := manifest.Find(root, "file", ""); err != nil || len(paths) != 0 {
		t.Errorf("app is a file: %v, %v; want nothing", paths, err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"one":      "A?: first\nB\nPG_URL as DATABASE_URL\n",
		"two":      "A: second\nB?: b\nPG_URL? as DATABASE_URL: pg\nPG_URL\n",
		"conflict": "\nDB_URL as DATABASE_URL\n",
		"bad":      "OK\nBAD-KEY\n",
	})
	at := func(name string) string { return filepath.Join(dir, name) }
	m, err := manifest.Load(at("one"), at("two"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keyList(m), "A:first B:b PG_URL (as DATABASE_URL):pg PG_URL"; got != want {
		t.Errorf("keys %s; want %s", got, want)
	}
	if m.Keys[2].Where() != at("one")+":3" || m.Keys[3].Where() != at("two")+":4" {
		t.Errorf("declared at %s and %s", m.Keys[2].Where(), m.Keys[3].Where())
	}
	_, err = manifest.Load(at("one"), at("conflict"))
	var se *manifest.SyntaxError
	want := at("conflict") + ": line 2: DATABASE_URL is the name of two keys: DB_URL (as DATABASE_URL) here and PG_URL (as DATABASE_URL) at " + at("one") + ":3"
	if !errors.As(err, &se) || err.Error() != want {
		t.Errorf("Load = %v; want %s", err, want)
	}
	_, err = manifest.Load(at("one"), at("bad"))
	if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), at("bad")+": line 2: not a portable key name") {
		t.Errorf("Load = %v; want line 2 of bad", err)
	}
	_, err = manifest.Load(at("nope"))
	if err == nil || err.Error() != "manifest "+at("nope")+": does not exist" {
		t.Errorf("Load = %v; want does not exist", err)
	}
	_, err = manifest.Load(dir)
	if err == nil || err.Error() != "manifest "+dir+": is a directory" {
		t.Errorf("Load = %v; want is a directory", err)
	}
	if m, err := manifest.Load(); err != nil || len(m.Keys) != 0 {
		t.Errorf("Load() = %+v, %v; want an empty manifest", m, err)
	}
}
