package fusebase

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/fakeapi"
)

const (
	canaryKey   = "canary-apikey-9c41e"
	canaryValue = "canary-value-7f3a2b"
	appPath     = "/v1/orgs/org1/apps/parent1/features/backend/secrets"
)

// fast retries quickly, so that the tests do not sleep for real.
var fast = fetch.Client{Retries: 3, RetryWait: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}

func newServer(t *testing.T) *fakeapi.Server {
	t.Helper()
	s := fakeapi.New()
	t.Cleanup(s.Close)
	s.SetKey(canaryKey)
	s.SetSecrets("backend",
		fakeapi.Secret{Key: "OPENAI_API_KEY", Value: canaryValue, Description: "OpenAI API key"},
		fakeapi.Secret{Key: "EMPTY", Value: ""})
	return s
}

func TestNewSource(t *testing.T) {
	s := newServer(t)
	root := t.TempDir()
	writeTestFile(t, root+"/fusebase.json", `{"orgId":"org1","appId":"parent1","apps":[{"id":"backend","path":"backend"},{"id":"web","path":"web"}]}`)
	home := t.TempDir()
	writeTestFile(t, home+"/.fusebase/config.json", `{"apiKey":"`+canaryKey+`"}`)

	h, err := NewSource(Options{Dir: root, Home: home, App: "backend", APIURL: s.URL}, fast)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := h.Fetch(context.Background())
	if err != nil || len(secrets) != 2 || secrets[0].Source != "fusebase app backend" {
		t.Fatalf("got %+v, %v", secrets, err)
	}
	if r := s.Requests(); len(r) != 1 || r[0].Path != appPath || r[0].Header.Get("Authorization") != "Bearer "+canaryKey {
		t.Errorf("requests = %+v", r)
	}

	// 404: the app is not in the store; the hint lists the project's apps.
	h, err = NewSource(Options{Dir: root, Home: home, App: "web", APIURL: s.URL}, fast)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Fetch(context.Background())
	var e *fetch.Error
	if !errors.As(err, &e) || e.Kind != fetch.Config {
		t.Fatalf("got %v; want a Config *fetch.Error", err)
	}
	if hints := strings.Join(e.Hints, "\n"); !strings.Contains(hints, `check the app id "web"`) || !strings.Contains(hints, "lists backend, web") {
		t.Errorf("hints = %q", e.Hints)
	}

	configErrors := []struct {
		name string
		o    Options
		msg  string
		hint string
	}{
		{"no key", Options{Dir: root, Home: t.TempDir(), App: "web"}, "no Fusebase API key", "fusebase auth"},
		{"ambiguous", Options{Dir: root, Home: home}, "web (path web)", "--app"},
		{"no project", Options{Dir: t.TempDir(), Home: home}, "no fusebase.json", "SECRETEXEC_URL"},
		{"remote http", Options{Dir: root, Home: home, App: "web", APIURL: "http://fusebase.example"}, "plain http", "FUSEBASE_API_URL"},
		{"remote http url", Options{Dir: root, Home: home, URL: "http://fusebase.example/s"}, "plain http", ""},
	}
	for _, tt := range configErrors {
		_, err := NewSource(tt.o, fast)
		var e *fetch.Error
		if !errors.As(err, &e) || e.Kind != fetch.Config {
			t.Errorf("%s: got %v; want a Config *fetch.Error", tt.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) || !strings.Contains(strings.Join(e.Hints, "\n"), tt.hint) {
			t.Errorf("%s: got %v, hints %q; want %q and hint %q", tt.name, err, e.Hints, tt.msg, tt.hint)
		}
	}
}

// TestSourceHints checks what a failed fetch from an endpoint URL says to
// do, in Fusebase's terms.
func TestSourceHints(t *testing.T) {
	for _, tt := range []struct {
		fault string
		kind  fetch.Kind
		hint  string
	}{
		{"401", fetch.Permission, "fusebase auth"},
		{"403", fetch.Permission, "FUSEBASE_API_KEY"},
		{"404", fetch.Config, "check the endpoint URL"},
		{"malformed", fetch.Protocol, "check that the URL is a Fusebase secrets endpoint"},
	} {
		s := newServer(t)
		if err := s.SetFault(tt.fault); err != nil {
			t.Fatal(err)
		}
		src, err := NewSource(Options{URL: s.URL + appPath, APIKey: canaryKey}, fast)
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Fetch(context.Background())
		var e *fetch.Error
		if !errors.As(err, &e) || e.Kind != tt.kind {
			t.Errorf("%s: got %v; want a *fetch.Error of kind %d", tt.fault, err, tt.kind)
			continue
		}
		if !strings.Contains(strings.Join(e.Hints, "\n"), tt.hint) {
			t.Errorf("%s: hints %q lack %q", tt.fault, e.Hints, tt.hint)
		}
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
