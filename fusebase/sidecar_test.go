package fusebase

import (
	"errors"
	"strings"
	"testing"

	"github.com/secretexec/secretexec/manifest"
)

// sidecarProject is shaped as the Fusebase CLI writes fusebase.json: the
// FUSEBASE.md example, a job with a sidecar of its own, and a second app.
const sidecarProject = `{
  "orgId": "o1",
  "appId": "a1",
  "apps": [
    {
      "id": "shop",
      "path": "apps/shop",
      "backend": {
        "start": {"command": "npm run start"},
        "sidecars": [
          {
            "name": "worker",
            "image": "worker:1",
            "port": 8080,
            "tier": "small",
            "env": {"MODE": "queue", "DATABASE_URL": "fixed"},
            "secrets": ["STRIPE_SECRET_KEY", {"from": "PG_URL", "as": "DATABASE_URL"}, {"from": "PG_URL", "as": "PG_URL"}]
          },
          {"name": "chromium", "image": "chromium:latest"}
        ],
        "jobs": [
          {
            "name": "nightly",
            "type": "cron",
            "cron": "0 3 * * *",
            "command": "node jobs/nightly.js",
            "sidecars": [{"name": "mailer", "image": "mailer:2", "secrets": ["SMTP_PASSWORD"]}]
          }
        ]
      }
    },
    {"id": "admin", "path": "apps/admin"}
  ]
}`

func loadSidecarProject(t *testing.T, content string) *Project {
	t.Helper()
	p, err := parseProject([]byte(content), "/p/fusebase.json")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSidecar(t *testing.T) {
	p := loadSidecarProject(t, sidecarProject)
	s, err := p.Sidecar(p.Apps[0], "worker")
	if err != nil {
		t.Fatal(err)
	}
	want := []SidecarSecret{{"STRIPE_SECRET_KEY", "STRIPE_SECRET_KEY"}, {"PG_URL", "DATABASE_URL"}, {"PG_URL", "PG_URL"}}
	if s.Name != "worker" || s.Job != "" || len(s.Secrets) != len(want) {
		t.Fatalf("got %+v; want worker with %v", s, want)
	}
	for i := range want {
		if s.Secrets[i] != want[i] {
			t.Errorf("secret %d = %v; want %v", i, s.Secrets[i], want[i])
		}
	}
	if len(s.Env) != 2 || s.Env["MODE"] != "queue" || s.Env["DATABASE_URL"] != "fixed" {
		t.Errorf("env %v", s.Env)
	}
	m, err := s.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if !m.Only || len(m.Keys) != 3 {
		t.Fatalf("manifest %+v; want Only with 3 keys", m)
	}
	var got []string
	for _, k := range m.Keys {
		if k.Optional {
			t.Errorf("%s is optional; every sidecar key is required", k)
		}
		got = append(got, k.String())
	}
	if strings.Join(got, ", ") != "STRIPE_SECRET_KEY, PG_URL (as DATABASE_URL), PG_URL" {
		t.Errorf("keys %s", strings.Join(got, ", "))
	}
	if w := m.Keys[1].Where(); w != `/p/fusebase.json: app shop sidecar "worker" secrets[1]` {
		t.Errorf("Where = %s", w)
	}

	// A job's sidecar.
	s, err = p.Sidecar(p.Apps[0], "mailer")
	if err != nil || s.Job != "nightly" || len(s.Secrets) != 1 || s.Secrets[0] != (SidecarSecret{"SMTP_PASSWORD", "SMTP_PASSWORD"}) {
		t.Errorf("mailer: %+v, %v", s, err)
	}
	// A sidecar without secrets gives the command none.
	s, err = p.Sidecar(p.Apps[0], "chromium")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.Manifest(); err != nil || !m.Only || len(m.Keys) != 0 {
		t.Errorf("chromium: %+v, %v; want an empty Only manifest", m, err)
	}
	// The legacy features[] list holds sidecars the same way.
	legacy := loadSidecarProject(t, strings.Replace(sidecarProject, `"apps"`, `"features"`, 1))
	if _, err := legacy.Sidecar(legacy.Apps[0], "worker"); err != nil {
		t.Errorf("legacy: %v", err)
	}
}

func TestSidecarErrors(t *testing.T) {
	p := loadSidecarProject(t, sidecarProject)
	tests := []struct {
		name    string
		project string // "" is sidecarProject
		app     int
		sidecar string
		want    string
	}{
		{"unknown", "", 0, "nope", `/p/fusebase.json: app shop has no sidecar "nope"; it has "worker", "chromium", "mailer" (job "nightly")`},
		{"empty name", "", 0, "", "/p/fusebase.json: the sidecar name is empty"},
		{"app without backend", "", 1, "worker", `/p/fusebase.json: app admin has no sidecars, so none named "worker"`},
		{"repeated target", `{"apps":[{"id":"x","backend":{"sidecars":[{"name":"w","secrets":[{"from":"PG_URL","as":"DATABASE_URL"},"A",{"from":"DB","as":"DATABASE_URL"}]}]}}]}`, 0, "w",
			`/p/fusebase.json: app x sidecar "w" secrets[2]: DATABASE_URL is the name of two keys: DB (as DATABASE_URL) here and PG_URL (as DATABASE_URL) at /p/fusebase.json: app x sidecar "w" secrets[0]`},
		{"same key twice", `{"apps":[{"id":"x","backend":{"sidecars":[{"name":"w","secrets":["A","A"]}]}}]}`, 0, "w",
			`/p/fusebase.json: app x sidecar "w" secrets[1]: key A appears twice (first at /p/fusebase.json: app x sidecar "w" secrets[0])`},
		{"empty secret", `{"apps":[{"id":"x","backend":{"sidecars":[{"name":"w","secrets":["A",""]}]}}]}`, 0, "w",
			`/p/fusebase.json: app x sidecar "w": secrets[1]: empty name`},
		{"empty as", `{"apps":[{"id":"x","backend":{"sidecars":[{"name":"w","secrets":[{"from":"A","as":""}]}]}}]}`, 0, "w",
			`/p/fusebase.json: app x sidecar "w": secrets[0]: empty name`},
		{"no as", `{"apps":[{"id":"x","backend":{"sidecars":[{"name":"w","secrets":[{"from":"A"}]}]}}]}`, 0, "w",
			`/p/fusebase.json: app x sidecar "w": secrets[0]: want "KEY" or {"from": "KEY", "as": "NAME"}`},
		{"number", `{"apps":[{"id":"x","backend":{"sidecars":[{"name":"w","secrets":[7]}]}}]}`, 0, "w",
			`/p/fusebase.json: app x sidecar "w": secrets[0]: want "KEY" or {"from": "KEY", "as": "NAME"}`},
		{"not portable", `{"apps":[{"id":"x","backend":{"sidecars":[{"name":"w","secrets":[{"from":"A","as":"sk-canary"}]}]}}]}`, 0, "w",
			`/p/fusebase.json: app x sidecar "w" secrets[0]: the name after 'as' is not a portable key name`},
		{"env value not a string", `{"apps":[{"id":"x","backend":{"sidecars":[{"name":"w","env":{"PORT":8080}}]}}]}`, 0, "w",
			`/p/fusebase.json: apps[0].backend: sidecars.env: want string, got a JSON number`},
		{"env name with =", `{"apps":[{"id":"x","backend":{"sidecars":[{"name":"w","env":{"A=canary":"v"}}]}}]}`, 0, "w",
			`/p/fusebase.json: app x sidecar "w": env: a name that is empty or holds '=' or NUL`},
		{"twice", `{"apps":[{"id":"x","backend":{"sidecars":[{"name":"w"}],"jobs":[{"name":"j","sidecars":[{"name":"w"}]}]}}]}`, 0, "w",
			`/p/fusebase.json: app x has 2 sidecars named "w"; it has "w", "w" (job "j")`},
		{"backend not an object", `{"apps":[{"id":"x","backend":"yes"}]}`, 0, "w",
			`/p/fusebase.json: apps[0].backend: want a JSON object, got a JSON string`},
		{"job sidecar of wrong shape", `{"apps":[{"id":"x","backend":{"jobs":[{"name":"j","sidecars":{}}]}}]}`, 0, "w",
			`/p/fusebase.json: apps[0].backend: jobs.sidecars: want`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := p
			if tt.project != "" {
				q = loadSidecarProject(t, tt.project)
			}
			_, err := q.Sidecar(q.Apps[tt.app], tt.sidecar)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Sidecar = %v;\nwant %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "canary") {
				t.Errorf("the error quotes a value: %v", err)
			}
		})
	}
	var se *manifest.SyntaxError
	q := loadSidecarProject(t, tests[3].project)
	if _, err := q.Sidecar(q.Apps[0], "w"); !errors.As(err, &se) {
		t.Errorf("repeated target: %T; want a *manifest.SyntaxError", err)
	}
	if _, err := p.Sidecar(App{ID: "other"}, "worker"); err == nil || !strings.Contains(err.Error(), "no app other") {
		t.Errorf("an app not in the project: %v", err)
	}
}
