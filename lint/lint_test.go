package lint

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lintFixture runs lint on testdata/dir with its default manifests and
// returns the findings as text lines.
func lintFixture(t *testing.T, dir string, apps []App, extra ...Key) []string {
	t.Helper()
	root := filepath.Join("testdata", dir)
	keys, warnings, err := Manifests(root, apps)
	if err != nil {
		t.Fatalf("Manifests: %v", err)
	}
	found, err := Run(root, Options{Apps: apps, Keys: append(keys, extra...), Findings: warnings})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return lines(found)
}

func lines(found []Finding) []string {
	out := make([]string, len(found))
	for i, f := range found {
		out[i] = f.String()
	}
	return out
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range got {
		if strings.Contains(l, "canary") {
			t.Errorf("a finding holds a secret value: %s", l)
		}
	}
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		dir   string
		apps  []App
		extra []Key
		want  []string
	}{
		{
			dir:  "clean",
			apps: []App{{ID: "notes", Path: "."}},
			want: nil,
		},
		{
			dir: "envfile",
			want: []string{
				"backend/.env:1:1: error: .env file in backend code; keep secrets in the store and delete the file",
				"backend/.env.local:1:1: error: .env file in backend code; keep secrets in the store and delete the file",
			},
		},
		{
			dir: "dotenv-dep",
			want: []string{
				"backend/package.json:5:5: error: dotenv in dependencies; secretexec provides the environment, remove it",
				"backend/package.json:8:5: error: dotenv in devDependencies; secretexec provides the environment, remove it",
			},
		},
		{
			dir: "dotenv-import",
			want: []string{
				"backend/src/cjs.cjs:1:9: error: backend loads dotenv; secretexec provides the environment, remove it",
				"backend/src/cjs.cjs:2:11: error: backend loads dotenv; secretexec provides the environment, remove it",
				"backend/src/esm.mjs:1:8: error: backend loads dotenv; secretexec provides the environment, remove it",
				"backend/src/esm.mjs:2:20: error: backend loads dotenv; secretexec provides the environment, remove it",
				"backend/src/esm.mjs:3:24: error: backend loads dotenv; secretexec provides the environment, remove it",
				"backend/src/esm.mjs:4:28: error: backend loads dotenv; secretexec provides the environment, remove it",
			},
		},
		{
			// Other dotenv packages, Node's own loaders, and a
			// package.json with a byte order mark; a type-only import
			// loads nothing.
			dir: "dotenv-more",
			want: []string{
				"backend/package.json:4:20: error: script loads a .env file with --env-file; secretexec provides the environment, remove it",
				"backend/package.json:5:21: error: script loads a .env file with dotenv/config; secretexec provides the environment, remove it",
				"backend/package.json:9:5: error: dotenv-flow in dependencies; secretexec provides the environment, remove it",
				"backend/package.json:10:5: error: @dotenvx/dotenvx in dependencies; secretexec provides the environment, remove it",
				"backend/package.json:11:5: error: dotenv-expand in dependencies; secretexec provides the environment, remove it",
				"backend/src/load.ts:3:8: error: backend loads dotenv; secretexec provides the environment, remove it",
				"backend/src/load.ts:4:9: error: backend loads dotenv; secretexec provides the environment, remove it",
				"backend/src/load.ts:5:9: error: backend loads a .env file with process.loadEnvFile; secretexec provides the environment, remove it",
			},
		},
		{
			// Destructuring the environment reads from it.
			dir: "destructure",
			want: []string{
				"backend/server.js:1:25: warning: process.env.GITHUB_TOKEN looks like a credential but is not in the manifest",
				"backend/server.js:5:3: warning: process.env.WEBHOOK_SECRET looks like a credential but is not in the manifest",
				"src/app.ts:1:9: error: secret OPENAI_API_KEY (secrets.manifest:1) read in browser code",
				"src/app.ts:2:9: error: secret STRIPE_SECRET_KEY (secrets.manifest:2) read in browser code",
			},
		},
		{
			// An apostrophe in markup text opens no string: only the
			// script's string is one.
			dir: "markup",
			want: []string{
				"secrets.manifest:1:1: warning: OPENAI_API_KEY is in the manifest but no backend code references it",
				"src/Page.svelte:3:17: error: secret OPENAI_API_KEY (secrets.manifest:1) named in browser code",
				"src/Page.svelte:6:15: error: secret OPENAI_API_KEY (secrets.manifest:1) named in browser code",
				"src/index.html:2:20: error: secret OPENAI_API_KEY (secrets.manifest:1) named in browser code",
			},
		},
		{
			dir: "browser",
			want: []string{
				".env.local:3:8: error: secret STRIPE_SECRET_KEY (secrets.manifest:2) set in a browser .env file",
				"src/App.tsx:1:23: error: secret OPENAI_API_KEY (secrets.manifest:1) read in browser code",
				"src/App.tsx:2:27: error: VITE_STRIPE_SECRET_KEY exposes secret STRIPE_SECRET_KEY (secrets.manifest:2) to browser code",
				"src/App.tsx:3:27: error: secret STRIPE_SECRET_KEY (secrets.manifest:2) read in browser code",
				"src/App.tsx:4:23: error: NEXT_PUBLIC_OPENAI_API_KEY exposes secret OPENAI_API_KEY (secrets.manifest:1) to browser code",
				"src/App.tsx:5:24: error: secret OPENAI_API_KEY (secrets.manifest:1) read in browser code",
				"src/App.tsx:6:20: error: secret STRIPE_SECRET_KEY (secrets.manifest:2) named in browser code",
				"src/Settings.vue:3:18: error: VITE_OPENAI_API_KEY exposes secret OPENAI_API_KEY (secrets.manifest:1) to browser code",
			},
		},
		{
			dir: "stale",
			want: []string{
				"secrets.manifest:3:1: warning: UNUSED_API_KEY is in the manifest but no backend code references it",
				"secrets.manifest:4:1: warning: COMMENTED_TOKEN is in the manifest but no backend code references it",
			},
		},
		{
			dir: "unregistered",
			want: []string{
				"backend/src/index.ts:2:24: warning: process.env.GITHUB_TOKEN looks like a credential but is not in the manifest",
				"backend/src/index.ts:3:25: warning: process.env.DATABASE_PASSWORD looks like a credential but is not in the manifest",
				"backend/src/index.ts:4:29: warning: process.env.SENTRY_DSN looks like a credential but is not in the manifest",
				"backend/src/index.ts:5:27: warning: process.env.webhookSecret looks like a credential but is not in the manifest",
			},
		},
		{
			// --require and --from keys count as registered and as
			// secrets, but only a manifest line can be stale.
			dir: "unregistered",
			extra: []Key{
				{Name: "GITHUB_TOKEN", Origin: "--require"},
				{Name: "DATABASE_PASSWORD", Origin: "file:secrets.json"},
				{Name: "NEVER_READ_KEY", Origin: "--require"},
			},
			want: []string{
				"backend/src/index.ts:4:29: warning: process.env.SENTRY_DSN looks like a credential but is not in the manifest",
				"backend/src/index.ts:5:27: warning: process.env.webhookSecret looks like a credential but is not in the manifest",
			},
		},
		{
			dir:  "two-apps",
			apps: []App{{ID: "shop", Path: "apps/shop"}, {ID: "admin", Path: "apps/admin"}},
			want: []string{
				"apps/admin/secrets.manifest:1:1: warning: ADMIN_TOKEN is in the manifest but no backend code references it",
				"apps/admin/src/refunds.ts:1:36: error: VITE_STRIPE_SECRET_KEY exposes secret STRIPE_SECRET_KEY (apps/shop/secrets.manifest:1) to browser code",
				"apps/shop/backend/server.js:3:27: warning: process.env.ADMIN_TOKEN looks like a credential but is not in the manifest",
			},
		},
		{
			dir:  "legacy",
			apps: []App{{ID: "chat", Path: "features/chat"}},
			want: []string{
				"features/chat/backend/index.js:1:9: error: backend loads dotenv; secretexec provides the environment, remove it",
				"features/chat/web/chat.js:1:54: error: secret OPENAI_API_KEY (features/chat/secrets.manifest:1) read in browser code",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			sameLines(t, lintFixture(t, tt.dir, tt.apps, tt.extra...), tt.want)
		})
	}
}

// TestRootIsTheApp checks that without apps the root is the one app and
// only its manifest is read: the two-app project linted so has no backend/
// at its top, and all of it is browser code.
func TestRootIsTheApp(t *testing.T) {
	sameLines(t, lintFixture(t, "two-apps", nil), []string{
		"apps/admin/backend/server.js:1:28: error: secret SHARED_API_KEY (secrets.manifest:1) read in browser code",
		"apps/shop/backend/server.js:2:28: error: secret SHARED_API_KEY (secrets.manifest:1) read in browser code",
		"secrets.manifest:1:1: warning: SHARED_API_KEY is in the manifest but no backend code references it",
	})
}

// write creates the files of a tree under dir, each name mapped to its
// content.
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

var secret = []Key{{Name: "OPENAI_API_KEY", Origin: "--require"}}

func TestSymlinks(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "project")
	write(t, base, map[string]string{
		"outside/leak.js":            "x = process.env.OPENAI_API_KEY\n",
		"project/shared/inside.js":   "x = process.env.OPENAI_API_KEY\n",
		"project/backend/index.js":   "x = process.env.OPENAI_API_KEY\n",
		"project/backend/real/.keep": "",
	})
	links := map[string]string{
		"project/src/outside-dir":   filepath.Join(base, "outside"),
		"project/src/outside.js":    filepath.Join(base, "outside", "leak.js"),
		"project/src/inside.js":     filepath.Join(root, "shared", "inside.js"),
		"project/src/inside-dir":    filepath.Join(root, "shared"),
		"project/src/dangling.js":   filepath.Join(base, "missing.js"),
		"project/backend/.env":      filepath.Join(base, "outside", "leak.js"),
		"project/backend/linked.js": filepath.Join(root, "shared", "inside.js"),
	}
	for name, target := range links {
		p := filepath.Join(base, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Skipf("symlinks not supported here: %v", err)
		}
	}
	// The root itself reached through a symlink is walked all the same.
	alias := filepath.Join(base, "alias")
	if err := os.Symlink(root, alias); err != nil {
		t.Fatal(err)
	}
	found, err := Run(alias, Options{Keys: secret})
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, lines(found), []string{
		"backend/.env:1:1: error: .env file in backend code; keep secrets in the store and delete the file",
		"shared/inside.js:1:17: error: secret OPENAI_API_KEY (--require) read in browser code",
		"src/inside.js:1:17: error: secret OPENAI_API_KEY (--require) read in browser code",
	})
}

func TestSkips(t *testing.T) {
	root := t.TempDir()
	leak := "x = process.env.OPENAI_API_KEY\n"
	big := strings.Repeat("// padding\n", MaxFileSize/11) + leak
	if len(big) <= MaxFileSize {
		t.Fatalf("big file is only %d bytes", len(big))
	}
	fits := strings.Repeat("/", MaxFileSize-len(leak)-1) + "\n" + leak
	write(t, root, map[string]string{
		"node_modules/a/index.js":   leak,
		"src/node_modules/b/x.js":   leak,
		"dist/bundle.js":            leak,
		"build/bundle.js":           leak,
		".next/server/page.js":      leak,
		".nuxt/dist/app.js":         leak,
		".output/public/app.js":     leak,
		".svelte-kit/output/app.js": leak,
		"coverage/lcov/app.js":      leak,
		"out/index.js":              leak,
		".git/hooks/pre-commit.js":  leak,
		"src/big.js":                big,
		"src/fits.js":               fits,
		"src/notes.md":              leak,
		"src/data.json":             `{"k": "OPENAI_API_KEY"}`,
		"backend/node_modules/x.js": "require('dotenv')\n",
		"backend/.env/not-a-file":   "",
	})
	found, err := Run(root, Options{Keys: secret})
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, lines(found), []string{
		"src/fits.js:2:17: error: secret OPENAI_API_KEY (--require) read in browser code",
	})
}

func TestUnreadable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	write(t, dir, map[string]string{"file": "", "real/.keep": ""})
	if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	// apps -> a folder outside the tree, holding the app x.
	elsewhere := t.TempDir()
	write(t, elsewhere, map[string]string{"x/backend/.keep": ""})
	if err := os.Symlink(elsewhere, filepath.Join(dir, "apps")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		root string
		opts Options
		want string
	}{
		{"missing root", filepath.Join(dir, "nope"), Options{}, "does not exist"},
		{"root is a file", file, Options{}, "not a directory"},
		{"missing app", dir, Options{Apps: []App{{ID: "web", Path: "web"}}}, "lint: app web: web: does not exist"},
		{"app outside", dir, Options{Apps: []App{{ID: "up", Path: "../up"}}}, "outside the project"},
		{"app is a file", dir, Options{Apps: []App{{ID: "f", Path: "file"}}}, "not a directory"},
		{"app through a symlink", dir, Options{Apps: []App{{ID: "x", Path: "apps/x"}}}, "lint: app x: path apps/x is outside the project"},
		{"app is a symlink", dir, Options{Apps: []App{{ID: "l", Path: "link"}}}, "a symbolic link"},
		{"key of no app", dir, Options{Keys: []Key{{Name: "K", App: "web"}}}, "no app has the path web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(tt.root, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: %v; want an error holding %q", err, tt.want)
			}
		})
	}
}

// TestUnreadableParts makes a folder and a file fail to read, through the
// seams when running as root (which reads anything) and through permissions
// otherwise: each costs a warning, and the rest of the tree is linted.
func TestUnreadableParts(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"src/a.js":         "x\n",
		"src/locked/b.js":  "x = process.env.OPENAI_API_KEY\n",
		"src/leak.js":      "x = process.env.OPENAI_API_KEY\n",
		"backend/index.js": "x\n",
	})
	lockedDir := filepath.Join(root, "src", "locked")
	lockedFile := filepath.Join(root, "src", "a.js")
	if os.Geteuid() == 0 {
		denied := func(p string) error { return &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission} }
		walkDir = func(top string, fn fs.WalkDirFunc) error {
			return filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
				if p != lockedDir || err != nil {
					return fn(p, d, err)
				}
				// As WalkDir does when ReadDir fails: once before, once
				// with the error.
				if err := fn(p, d, nil); err != nil {
					return err
				}
				if err := fn(p, d, denied(p)); err != nil {
					return err
				}
				return filepath.SkipDir
			})
		}
		openFile = func(p string) (*os.File, error) {
			if p == lockedFile {
				return nil, denied(p)
			}
			return os.Open(p)
		}
		t.Cleanup(func() { walkDir, openFile = filepath.WalkDir, os.Open })
	} else {
		for _, p := range []string{lockedDir, lockedFile} {
			if err := os.Chmod(p, 0); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { os.Chmod(lockedDir, 0o755) })
	}
	found, err := Run(root, Options{Keys: secret})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	sameLines(t, lines(found), []string{
		"src/a.js:1:1: warning: cannot read: permission denied",
		"src/leak.js:1:17: error: secret OPENAI_API_KEY (--require) read in browser code",
		"src/locked:1:1: warning: cannot read: permission denied",
	})
}

// TestDir lints part of an app: the whole app is read, so the backend's
// references count and the stale check holds, but only findings in Dir are
// reported, relative to it.
func TestDir(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"secrets.manifest":  "OPENAI_API_KEY\nSTALE_TOKEN\n",
		"backend/server.js": "const k = process.env.OPENAI_API_KEY\nconst t = process.env.GITHUB_TOKEN\n",
		"src/App.tsx":       "const k = process.env.OPENAI_API_KEY\n",
		"src/deep/x.js":     "const k = process.env.OPENAI_API_KEY\n",
	})
	keys, _, err := Manifests(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir  string
		want []string
	}{
		{"backend", []string{
			"../secrets.manifest:2:1: warning: STALE_TOKEN is in the manifest but no backend code references it",
			"server.js:2:23: warning: process.env.GITHUB_TOKEN looks like a credential but is not in the manifest",
		}},
		{"src/deep", []string{
			"../../secrets.manifest:2:1: warning: STALE_TOKEN is in the manifest but no backend code references it",
			"x.js:1:23: error: secret OPENAI_API_KEY (../../secrets.manifest:1) read in browser code",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			found, err := Run(root, Options{Keys: keys, Dir: tt.dir})
			if err != nil {
				t.Fatal(err)
			}
			sameLines(t, lines(found), tt.want)
		})
	}
}

func TestCredential(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"API_KEY", true}, {"KEY", true}, {"apiKey", true}, {"STRIPE_SECRET", true},
		{"GITHUB_TOKEN", true}, {"DB_PASSWORD", true}, {"SENTRY_DSN", true},
		{"clientSecret", true}, {"MONKEY", false}, {"PORT", false}, {"TOKENS", false},
		{"apikey", false}, {"NODE_ENV", false}, {"", false},
	}
	for _, tt := range tests {
		if got := credential([]byte(tt.name)); got != tt.want {
			t.Errorf("credential(%q) = %v; want %v", tt.name, got, tt.want)
		}
	}
}
