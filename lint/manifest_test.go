package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestManifests(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"secrets.manifest":             "A_KEY\n",
		"web/secrets.manifest":         "# web\nB_KEY: b\n",
		"broken/secrets.manifest":      "1BAD\n",
		"api/backend/secrets.manifest": "C_TOKEN\nPG_URL as DATABASE_URL\n",
	})
	keys, warnings, err := Manifests(root, []App{{Path: "."}, {Path: "web/"}, {Path: "api"}})
	if err != nil || warnings != nil {
		t.Fatalf("Manifests: %v, %v", warnings, err)
	}
	want := []Key{
		{Name: "A_KEY", Origin: "secrets.manifest:1", File: "secrets.manifest", Line: 1},
		{Name: "B_KEY", Origin: "web/secrets.manifest:2", App: "web", File: "web/secrets.manifest", Line: 2},
		{Name: "C_TOKEN", Origin: "api/backend/secrets.manifest:1", App: "api", File: "api/backend/secrets.manifest", Line: 1},
		{Name: "PG_URL", As: "DATABASE_URL", Origin: "api/backend/secrets.manifest:2", App: "api", File: "api/backend/secrets.manifest", Line: 2},
	}
	if len(keys) != len(want) {
		t.Fatalf("keys %+v; want %+v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Errorf("key %d = %+v; want %+v", i, keys[i], want[i])
		}
	}
	_, _, err = Manifests(root, []App{{Path: "broken"}})
	if err == nil || !strings.Contains(err.Error(), "broken/secrets.manifest: line 1") {
		t.Errorf("broken manifest: %v; want a line 1 error", err)
	}
	// A manifest that is a folder cannot be read: an error, not a skip.
	write(t, root, map[string]string{"dir/secrets.manifest/x": ""})
	_, _, err = Manifests(root, []App{{Path: "dir"}})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a folder: %v; want not a regular file", err)
	}
}

// TestMapping: lint reads FROM as NAME as the run does. A backend that
// reads the name the command sees references the key; both names are
// secrets in browser code; a stale key is named with both.
func TestMapping(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"secrets.manifest": "PG_URL as DATABASE_URL: Postgres\nSTORE_TOKEN as APP_TOKEN\nSMTP_PASSWORD as MAIL_PASSWORD\n",
		"backend/server.js": "const db = process.env.DATABASE_URL;\n" +
			"const t = process.env.STORE_TOKEN;\n",
		"src/app.ts": "const a = process.env.PG_URL;\nconst b = process.env.DATABASE_URL;\nconst c = import.meta.env.VITE_DATABASE_URL;\n",
	})
	sameLines(t, lintTree(t, root, nil), []string{
		"secrets.manifest:3:1: warning: SMTP_PASSWORD (as MAIL_PASSWORD) is in the manifest but no backend code references it",
		"src/app.ts:1:23: error: secret PG_URL (secrets.manifest:1) read in browser code",
		"src/app.ts:2:23: error: secret PG_URL (secrets.manifest:1) read in browser code",
		"src/app.ts:3:27: error: VITE_DATABASE_URL exposes secret PG_URL (secrets.manifest:1) to browser code",
	})
	// The name the command sees is in the manifest: reading it is no
	// unregistered credential.
	write(t, root, map[string]string{"backend/server.js": "const p = process.env.MAIL_PASSWORD;\nconst q = process.env.APP_TOKEN;\n"})
	sameLines(t, lintTree(t, root, nil), []string{
		"secrets.manifest:1:1: warning: PG_URL (as DATABASE_URL) is in the manifest but no backend code references it",
		"src/app.ts:1:23: error: secret PG_URL (secrets.manifest:1) read in browser code",
		"src/app.ts:2:23: error: secret PG_URL (secrets.manifest:1) read in browser code",
		"src/app.ts:3:27: error: VITE_DATABASE_URL exposes secret PG_URL (secrets.manifest:1) to browser code",
	})
}

// TestMappingOneKeySeveralNames: when one store key feeds several names,
// the stale check asks after each name on its own. Browser code reading
// any of them reads the store key, named as in the store.
func TestMappingOneKeySeveralNames(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"secrets.manifest":  "PG_URL as DATABASE_URL\nPG_URL as READ_URL\nPG_URL\n",
		"backend/server.js": "const db = process.env.DATABASE_URL;\n",
		"src/app.ts":        "const r = process.env.READ_URL;\n",
	})
	sameLines(t, lintTree(t, root, nil), []string{
		"secrets.manifest:2:1: warning: PG_URL (as READ_URL) is in the manifest but no backend code references it",
		"secrets.manifest:3:1: warning: PG_URL is in the manifest but no backend code references it",
		"src/app.ts:1:23: error: secret PG_URL (secrets.manifest:2) read in browser code",
	})
	// Reading the store name references the line that passes it as it is,
	// and, as the stale check looks at both names, the renamed ones.
	write(t, root, map[string]string{"backend/server.js": "const { PG_URL } = process.env;\n"})
	sameLines(t, lintTree(t, root, nil), []string{
		"src/app.ts:1:23: error: secret PG_URL (secrets.manifest:2) read in browser code",
	})
}

// lintTree runs lint on root with its default manifests and the manifests'
// warnings.
func lintTree(t *testing.T, root string, apps []App) []string {
	t.Helper()
	keys, warnings, err := Manifests(root, apps)
	if err != nil {
		t.Fatalf("Manifests: %v", err)
	}
	found, err := Run(root, Options{Apps: apps, Keys: keys, Findings: warnings})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return lines(found)
}

// TestManifestSymlinkOutside: a secrets.manifest that links to a file
// outside the tree is not read, so none of its words is printed, whether
// lint finds it or is told its path. Links inside the tree are read.
func TestManifestSymlinkOutside(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "project")
	// A word that parses as a key: were the file read, the stale check
	// would print it.
	const canary = "canary_ghp_token_from_the_runner"
	write(t, base, map[string]string{
		"outside/token":                  canary + "\n",
		"outside/token2":                 canary + "_two\n",
		"project/fusebase.json":          `{"apps": [{"id": "shop", "path": "apps/shop"}]}`,
		"project/apps/shop/backend/a.js": "x = process.env.INSIDE_KEY\n",
		"project/shared/keys":            "INSIDE_KEY\n",
	})
	links := map[string]string{
		"project/secrets.manifest":                   filepath.Join(base, "outside", "token"),
		"project/apps/shop/backend/secrets.manifest": "../../../../outside/token2",
		"project/apps/shop/secrets.manifest":         "../../shared/keys",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(base, filepath.FromSlash(name))); err != nil {
			t.Skipf("no symlinks here: %v", err)
		}
	}
	got := lintTree(t, root, []App{{ID: "shop", Path: "apps/shop"}})
	sameLines(t, got, []string{
		"apps/shop/backend/secrets.manifest:1:1: warning: a symbolic link to a file outside the tree; lint does not follow it, so its keys are not checked",
		"secrets.manifest:1:1: warning: a symbolic link to a file outside the tree; lint does not follow it, so its keys are not checked",
	})
	// Reached through a linked root, and linted from a folder below it.
	alias := filepath.Join(base, "alias")
	if err := os.Symlink(root, alias); err != nil {
		t.Fatal(err)
	}
	keys, warnings, err := Manifests(alias, []App{{ID: "shop", Path: "apps/shop"}})
	if err != nil {
		t.Fatal(err)
	}
	found, err := Run(alias, Options{Apps: []App{{ID: "shop", Path: "apps/shop"}}, Keys: keys, Findings: warnings, Dir: "apps/shop/backend"})
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, lines(found), []string{
		"../../../secrets.manifest:1:1: warning: a symbolic link to a file outside the tree; lint does not follow it, so its keys are not checked",
		"secrets.manifest:1:1: warning: a symbolic link to a file outside the tree; lint does not follow it, so its keys are not checked",
	})
	for _, k := range keys {
		if strings.Contains(k.Name, "canary") {
			t.Errorf("key %+v read from outside the tree", k)
		}
	}
	// Named with --manifest: refused too.
	_, err = ReadManifest(root, filepath.Join(root, "secrets.manifest"), "")
	if err == nil || strings.Contains(err.Error(), "canary") || !strings.Contains(err.Error(), "outside the tree") {
		t.Errorf("ReadManifest of the link: %v; want a refusal", err)
	}
	// A file outside the tree named on purpose is read; one inside too.
	keys, err = ReadManifest(root, filepath.Join(base, "outside", "token"), "")
	if err != nil || len(keys) != 1 || keys[0].File != "../outside/token" {
		t.Errorf("ReadManifest outside: %+v, %v", keys, err)
	}
	keys, err = ReadManifest(root, filepath.Join(root, "apps/shop/secrets.manifest"), "")
	if err != nil || len(keys) != 1 || keys[0].Name != "INSIDE_KEY" {
		t.Errorf("ReadManifest inside: %+v, %v", keys, err)
	}
	_, err = ReadManifest(root, filepath.Join(root, "nope.manifest"), "")
	if err == nil || err.Error() != "lint: manifest nope.manifest: does not exist" {
		t.Errorf("ReadManifest of no file: %v", err)
	}
}
