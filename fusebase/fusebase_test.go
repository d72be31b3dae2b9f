package fusebase

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

const threeApps = `{
  "orgId": "org1", "appId": "parent1", "env": "dev",
  "apps": [
    {"id": "backend", "path": "backend", "dev": {"command": "npm run dev"}},
    {"id": "api", "path": "backend/api"},
    {"id": "cron"}
  ]
}`

func TestFindProject(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "fusebase.json"), threeApps)
	deep := filepath.Join(root, "backend", "src", "lib")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := FindProject(deep)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.File, filepath.Join(root, "fusebase.json"); got != want {
		t.Errorf("File = %s; want %s", got, want)
	}
	if p.OrgID != "org1" || p.AppID != "parent1" || p.Env != "dev" || p.Legacy {
		t.Errorf("got %+v", p)
	}
	want := []App{{"backend", "backend"}, {"api", filepath.Join("backend", "api")}, {"cron", ""}}
	if len(p.Apps) != len(want) {
		t.Fatalf("Apps = %v; want %v", p.Apps, want)
	}
	for i := range want {
		if p.Apps[i] != want[i] {
			t.Errorf("Apps[%d] = %v; want %v", i, p.Apps[i], want[i])
		}
	}

	// The nearest file wins.
	write(t, filepath.Join(root, "backend", "fusebase.json"), `{"orgId":"o","appId":"a","apps":[{"id":"inner"}]}`)
	p, err = FindProject(deep)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Apps) != 1 || p.Apps[0].ID != "inner" {
		t.Errorf("nearest: got apps %v; want inner", p.Apps)
	}

	_, err = FindProject(t.TempDir())
	if !errors.Is(err, ErrNoProject) {
		t.Errorf("empty tree: got %v; want ErrNoProject", err)
	}
}

func TestLoadProject(t *testing.T) {
	tests := []struct {
		name    string
		content string
		apps    []string
		legacy  bool
		err     string
	}{
		{"apps", `{"apps":[{"id":"a"},{"id":"b","path":"./b/"}]}`, []string{"a", "b"}, false, ""},
		{"features", `{"features":[{"id":"f1","path":"f"}]}`, []string{"f1"}, true, ""},
		{"apps win over features", `{"apps":[{"id":"a"}],"features":[{"id":"f"}]}`, []string{"a"}, false, ""},
		{"empty apps", `{"apps":[]}`, nil, false, ""},
		{"no list", `{"orgId":"o"}`, nil, false, ""},
		{"entry without id", `{"apps":[{"path":"x"}]}`, nil, false, "apps[0] has no id"},
		{"malformed", `{"apps": [ secret-looking-text`, nil, false, "malformed JSON at byte"},
		{"wrong type", `{"apps": "backend"}`, nil, false, "want"},
		{"not an object", `[1]`, nil, false, "want"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "fusebase.json")
			write(t, file, tt.content)
			p, err := LoadProject(file)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got error %v; want one containing %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "secret-looking-text") {
					t.Errorf("error quotes the file: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.IDs(), ","); got != strings.Join(tt.apps, ",") {
				t.Errorf("ids = %s; want %s", got, strings.Join(tt.apps, ","))
			}
			if p.Legacy != tt.legacy {
				t.Errorf("Legacy = %v; want %v", p.Legacy, tt.legacy)
			}
		})
	}
}

func TestPick(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "fusebase.json"), threeApps)
	p, err := LoadProject(filepath.Join(root, "fusebase.json"))
	if err != nil {
		t.Fatal(err)
	}
	in := func(parts ...string) string { return filepath.Join(append([]string{root}, parts...)...) }
	tests := []struct {
		name, want, wd string
		id             string // "" when an error is expected
		err            []string
	}{
		{"by id", "cron", root, "cron", nil},
		{"by path from root", "backend/api", root, "api", nil},
		{"by path from wd", "api", in("backend"), "api", nil},
		{"by path with slash", "backend/", in("elsewhere"), "backend", nil},
		{"by absolute path", in("backend"), "/", "backend", nil},
		{"by working directory", "", in("backend", "src"), "backend", nil},
		{"deepest folder wins", "", in("backend", "api", "x"), "api", nil},
		{"app folder itself", "", in("backend"), "backend", nil},
		{"unknown id", "nope", root, "", []string{`no app "nope"`, "backend (path backend)", "cron (no path)"}},
		{"ambiguous", "", root, "", []string{"3 apps and the working directory is in none of them", "api (path backend/api)", "cron (no path)"}},
		{"sibling prefix is not inside", "", root + "-other", "", []string{"3 apps"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := p.Pick(tt.want, tt.wd)
			if tt.id != "" {
				if err != nil {
					t.Fatal(err)
				}
				if a.ID != tt.id {
					t.Errorf("picked %s; want %s", a.ID, tt.id)
				}
				return
			}
			var ae *AppError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v; want an *AppError", err)
			}
			for _, s := range tt.err {
				if !strings.Contains(err.Error(), filepath.FromSlash(s)) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}

	one := &Project{File: "fusebase.json", Apps: []App{{ID: "only", Path: "somewhere"}}}
	if a, err := one.Pick("", "/unrelated"); err != nil || a.ID != "only" {
		t.Errorf("only app: got %v, %v; want only", a, err)
	}
	none := &Project{File: "fusebase.json"}
	if _, err := none.Pick("", root); err == nil || !strings.Contains(err.Error(), "lists no apps") {
		t.Errorf("no apps: got %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	home := t.TempDir()
	c, err := LoadConfig(home)
	if err != nil || c.APIKey != "" || c.Env != "" {
		t.Fatalf("missing file: got %+v, %v; want empty", c, err)
	}
	write(t, ConfigPath(home), `{"apiKey":"canary-key-5d1e","env":"local","other":1}`)
	c, err = LoadConfig(home)
	if err != nil || c.APIKey != "canary-key-5d1e" || c.Env != "local" {
		t.Fatalf("got %+v, %v", c, err)
	}
	write(t, ConfigPath(home), `{"apiKey":"canary-key-5d1e",`)
	_, err = LoadConfig(home)
	if err == nil || strings.Contains(err.Error(), "canary") {
		t.Fatalf("malformed: got %v; want an error that does not quote the key", err)
	}
}

func TestResolve(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "fusebase.json"), `{"orgId":"org 1","appId":"parent1","apps":[{"id":"backend","path":"backend"},{"id":"web","path":"web"}]}`)
	backend := filepath.Join(root, "backend")
	if err := os.MkdirAll(backend, 0o755); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	write(t, ConfigPath(home), `{"apiKey":"from-config","env":"dev"}`)
	emptyHome := t.TempDir()
	badEnvHome := t.TempDir()
	write(t, ConfigPath(badEnvHome), `{"apiKey":"k","env":"staging"}`)

	const path = "/v1/orgs/org%201/apps/parent1/features/backend/secrets"
	tests := []struct {
		name    string
		o       Options
		url     string
		key     string
		err     string
		errIs   error
		appID   string
		project bool
	}{
		{name: "from files", o: Options{Dir: backend, Home: home},
			url: Bases["dev"] + path, key: "from-config", appID: "backend", project: true},
		{name: "variables beat files", o: Options{Dir: backend, Home: home, APIKey: "from-env", Env: "local"},
			url: "http://localhost:3000" + path, key: "from-env", appID: "backend", project: true},
		{name: "api url beats env names", o: Options{Dir: backend, Home: badEnvHome, APIURL: "http://127.0.0.1:9/base/", Env: "nonsense"},
			url: "http://127.0.0.1:9/base" + path, key: "k", appID: "backend", project: true},
		{name: "prod by default", o: Options{Dir: backend, Home: emptyHome, APIKey: "k"},
			url: Bases["prod"] + path, key: "k", appID: "backend", project: true},
		{name: "app flag", o: Options{Dir: root, Home: home, App: "web"},
			url: Bases["dev"] + "/v1/orgs/org%201/apps/parent1/features/web/secrets", key: "from-config", appID: "web", project: true},
		{name: "url skips the project", o: Options{Dir: t.TempDir(), Home: home, URL: "https://example.test/s"},
			url: "https://example.test/s", key: "from-config"},
		{name: "unknown env", o: Options{Dir: backend, Home: badEnvHome}, err: `unknown Fusebase environment "staging"`},
		{name: "unknown env from variable", o: Options{Dir: backend, Home: home, Env: "qa"}, err: "FUSEBASE_ENV"},
		{name: "no key", o: Options{Dir: backend, Home: emptyHome}, errIs: ErrNoKey},
		{name: "no project", o: Options{Dir: t.TempDir(), Home: home}, errIs: ErrNoProject},
		{name: "ambiguous", o: Options{Dir: root, Home: home}, err: "2 apps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, err := Resolve(tt.o)
			if tt.err != "" || tt.errIs != nil {
				if err == nil {
					t.Fatalf("got %+v; want an error", target)
				}
				if tt.err != "" && !strings.Contains(err.Error(), tt.err) {
					t.Errorf("got %v; want %q", err, tt.err)
				}
				if tt.errIs != nil && !errors.Is(err, tt.errIs) {
					t.Errorf("got %v; want %v", err, tt.errIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if target.URL != tt.url {
				t.Errorf("URL = %s; want %s", target.URL, tt.url)
			}
			if target.APIKey != tt.key {
				t.Errorf("APIKey = %s; want %s", target.APIKey, tt.key)
			}
			if target.App.ID != tt.appID {
				t.Errorf("App = %s; want %s", target.App.ID, tt.appID)
			}
			if (target.Project != nil) != tt.project {
				t.Errorf("Project = %v; want found %v", target.Project, tt.project)
			}
		})
	}
}

func TestCreateCommand(t *testing.T) {
	tests := []struct {
		app  string
		keys []KeyDescription
		want string
	}{
		{"backend", []KeyDescription{{"OPENAI_API_KEY", "OpenAI API key"}, {"PLAIN", ""}},
			`fusebase secret create --app backend --secret "OPENAI_API_KEY:OpenAI API key" --secret "PLAIN"`},
		{"my app", []KeyDescription{{"K", `costs $5 "each"`}},
			`fusebase secret create --app "my app" --secret 'K:costs $5 "each"'`},
		{"a", []KeyDescription{{"K", "it's"}},
			`fusebase secret create --app a --secret "K:it's"`},
		{"a", []KeyDescription{{"K", "it's $HOME"}},
			`fusebase secret create --app a --secret 'K:it'\''s $HOME'`},
	}
	for _, tt := range tests {
		if got := CreateCommand(tt.app, tt.keys); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	for env, want := range map[string]string{"prod": "https://public-api.thefusebase.com", "dev": "https://public-api.dev-thefusebase.com", "local": "http://localhost:3000"} {
		if got, err := BaseURL(env); err != nil || got != want {
			t.Errorf("BaseURL(%s) = %s, %v; want %s", env, got, err, want)
		}
	}
	if _, err := BaseURL("Prod"); err == nil {
		t.Error("BaseURL(Prod): want an error")
	}
}
