package fetch

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/fakeapi"
)

const (
	canaryKey   = "canary-apikey-9c41e"
	canaryValue = "canary-value-7f3a2b"
	appPath     = "/v1/orgs/org1/apps/parent1/features/backend/secrets"
)

// fast retries quickly, so that the tests do not sleep for real.
var fast = Client{Retries: 3, RetryWait: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}

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

func TestHTTPFetch(t *testing.T) {
	tests := []struct {
		fault    string
		retries  int
		kind     Kind // 0 for success
		requests int
		msg      []string // substrings of the error
		hint     string   // substring of a hint
		status   int      // the Status of the *Error
	}{
		{fault: "ok", requests: 1},
		{fault: "flat", requests: 1},
		{fault: "503x3", requests: 4},
		{fault: "resetx2", requests: 3},
		{fault: "500x1,502x1,504x1,429x1", requests: 5, retries: 4},
		{fault: "401", kind: Permission, requests: 1, msg: []string{"401 Unauthorized", `"Invalid or expired API key"`}, status: 401},
		{fault: "403", kind: Permission, requests: 1, msg: []string{"403 Forbidden"}, status: 403},
		{fault: "404", kind: Config, requests: 1, msg: []string{"404 Not Found"}, status: 404},
		{fault: "400", kind: Protocol, requests: 1, msg: []string{"400 Bad Request", `"Bad request"`}},
		{fault: "501", kind: Protocol, requests: 1, msg: []string{"501 Not Implemented"}},
		{fault: "418", kind: Protocol, requests: 1, msg: []string{"418"}},
		{fault: "503", kind: Unavailable, requests: 4, msg: []string{"503 Service Unavailable", "after 4 attempts"}},
		{fault: "html502", kind: Unavailable, requests: 4, msg: []string{"502 Bad Gateway after 4 attempts"}},
		{fault: "reset", kind: Unavailable, requests: 4, msg: []string{"after 4 attempts"}},
		{fault: "503", retries: -1, kind: Unavailable, requests: 1, msg: []string{"after 1 attempt"}},
		{fault: "malformed", kind: Protocol, requests: 1, msg: []string{"malformed JSON", "byte"}},
		{fault: "shape", kind: Protocol, requests: 1, msg: []string{"want a JSON object"}},
		{fault: "huge", kind: Protocol, requests: 1, msg: []string{"16 MiB limit"}},
		{fault: "hugechunked", kind: Protocol, requests: 1, msg: []string{"16 MiB limit"}},
		{fault: "longmessage", retries: -1, kind: Unavailable, requests: 1, msg: []string{`"` + strings.Repeat("m", 200) + `…"`}},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			s := newServer(t)
			if err := s.SetFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			c := fast
			switch {
			case tt.retries > 0:
				c.Retries = tt.retries
			case tt.retries < 0:
				c.Retries = 0
			}
			var logs bytes.Buffer
			c.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			h, err := NewHTTP(s.URL+appPath+"?token=canary-query-3e1", canaryKey, c)
			if err != nil {
				t.Fatal(err)
			}
			secrets, err := h.Fetch(context.Background())
			if got := len(s.Requests()); got != tt.requests {
				t.Errorf("%d requests; want %d", got, tt.requests)
			}
			for _, r := range s.Requests() {
				if r.Path != appPath || r.Header.Get("Authorization") != "Bearer "+canaryKey {
					t.Errorf("request %s with Authorization %q", r.Path, r.Header.Get("Authorization"))
				}
			}
			out := logs.String()
			if err != nil {
				out += err.Error()
				var e *Error
				if errors.As(err, &e) {
					out += strings.Join(e.Hints, "\n")
				}
			}
			for _, secret := range []string{canaryKey, canaryValue, "canary-query", "canary-malformed", "canary-shape", "<html>", "token="} {
				if strings.Contains(out, secret) {
					t.Errorf("output holds %q:\n%s", secret, out)
				}
			}
			if tt.kind == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(secrets) != 2 || secrets[0].Key != "OPENAI_API_KEY" || secrets[0].Value != canaryValue || secrets[1].Value != "" {
					t.Errorf("secrets = %+v", secrets)
				}
				if want := s.URL + appPath; secrets[0].Source != want {
					t.Errorf("Source = %s; want %s", secrets[0].Source, want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T); want an *Error", err, err)
			}
			if e.Kind != tt.kind {
				t.Errorf("Kind = %d; want %d (%v)", e.Kind, tt.kind, err)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
			if tt.status != 0 && e.Status != tt.status {
				t.Errorf("Status = %d; want %d", e.Status, tt.status)
			}
			if tt.hint != "" && !strings.Contains(strings.Join(e.Hints, "\n"), tt.hint) {
				t.Errorf("hints %q lack %q", e.Hints, tt.hint)
			}
		})
	}
}

func TestHTTPLogs(t *testing.T) {
	s := newServer(t)
	s.SetFault("503x1")
	var logs bytes.Buffer
	c := fast
	c.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := NewHTTP(s.URL+appPath+"?q=canary-query", canaryKey, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{"method=GET", "host=127.0.0.1", "path=" + appPath, "status=503", "status=200", "attempt=2", "level=WARN msg=\"" + s.URL + appPath + ": 503 Service Unavailable; retry 1 of 3 in "} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"canary", "Bearer", "secrets\":"} {
		if strings.Contains(out, bad) {
			t.Errorf("logs hold %q:\n%s", bad, out)
		}
	}

	// QuietRetries: the same line, at debug level.
	s.SetFault("503x1")
	logs.Reset()
	h.Client.QuietRetries = true
	if _, err := h.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out := logs.String(); !strings.Contains(out, "level=DEBUG msg=\""+s.URL+appPath+": 503 Service Unavailable; retry 1 of 3 in ") || strings.Contains(out, "level=WARN") {
		t.Errorf("with QuietRetries, want the retry at debug level and no warning:\n%s", out)
	}
}

func TestHTTPDeadline(t *testing.T) {
	tests := []struct {
		fault    string
		timeout  time.Duration
		requests int // at most
		msg      string
	}{
		{"hang", 300 * time.Millisecond, 1, "(1 attempt; last: no answer)"},
		{"503", 300 * time.Millisecond, 1000, "last: 503 Service Unavailable"},
		{"429:60", 5 * time.Second, 1, "Retry-After 1m0s, past the --timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			s := newServer(t)
			s.SetFault(tt.fault)
			c := fast
			c.Retries = 1000
			h, _ := NewHTTP(s.URL+appPath, canaryKey, c)
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			start := time.Now()
			_, err := h.Fetch(ctx)
			took := time.Since(start)
			var e *Error
			if !errors.As(err, &e) || e.Kind != Unavailable {
				t.Fatalf("got %v; want an Unavailable *Error", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q lacks %q", err, tt.msg)
			}
			if took > tt.timeout+2*time.Second {
				t.Errorf("took %s with a %s timeout", took, tt.timeout)
			}
			if n := len(s.Requests()); n > tt.requests {
				t.Errorf("%d requests; want at most %d", n, tt.requests)
			}
		})
	}
}

func TestHTTPCancel(t *testing.T) {
	s := newServer(t)
	s.SetFault("hang")
	h, _ := NewHTTP(s.URL+appPath, canaryKey, fast)
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("interrupted")
	time.AfterFunc(200*time.Millisecond, func() { cancel(cause) })
	start := time.Now()
	_, err := h.Fetch(ctx)
	if !errors.Is(err, cause) {
		t.Errorf("got %v; want the cancel cause", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s to stop after the cancel", took)
	}
}

func TestHTTPRetryAfter(t *testing.T) {
	s := newServer(t)
	s.SetFault("429:1x2")
	h, _ := NewHTTP(s.URL+appPath, canaryKey, fast)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := h.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	r := s.Requests()
	if len(r) != 3 {
		t.Fatalf("%d requests; want 3", len(r))
	}
	for i := 1; i < len(r); i++ {
		if gap := r[i].At.Sub(r[i-1].At); gap < time.Second || gap > 3*time.Second {
			t.Errorf("gap before request %d = %s; want about 1s", i+1, gap)
		}
	}
}

func TestBackoff(t *testing.T) {
	f := &attempt{h: &HTTP{}, ctx: context.Background(), log: slog.New(discard{})}
	min, max := 250*time.Millisecond, 5*time.Second
	for n, ceiling := range map[int]time.Duration{0: min, 1: 2 * min, 3: 8 * min, 5: max, 40: max, 100: max} {
		var top time.Duration
		for i := 0; i < 2000; i++ {
			d := f.backoff(min, max, n, nil)
			if d < 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %s; want within [0, %s]", n, d, ceiling)
			}
			top = maxDuration(top, d)
		}
		if top < ceiling/2 {
			t.Errorf("backoff(%d) never above %s in 2000 tries; want full jitter up to %s", n, top, ceiling)
		}
	}
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"2"}}}
	if d := f.backoff(min, max, 0, resp); d < 2*time.Second || d > 2*time.Second+min {
		t.Errorf("with Retry-After 2: %s; want 2s plus up to %s", d, min)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	f.ctx = ctx
	for i := 0; i < 200; i++ {
		if d := f.backoff(min, max, 10, resp); d < 2*time.Second || d > 2500*time.Millisecond {
			t.Fatalf("with Retry-After 2 and 2.5s left: %s; want 2s to 2.5s", d)
		}
	}
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://public-api.thefusebase.com/v1/x", true},
		{"http://localhost:3000/v1", true},
		{"http://LOCALHOST/v1", true},
		{"http://127.0.0.1:8080/", true},
		{"http://127.9.9.9/", true},
		{"http://[::1]:99/", true},
		{"http://example.com/secrets", false},
		{"http://10.0.0.1/secrets", false},
		{"http://localhost.example.com/", false},
		{"http://127.0.0.1.nip.io/", false},
		{"ftp://localhost/", false},
		{"localhost:3000", false},
		{"/just/a/path", false},
		{"https://user:pa%23ss@host/x", true},
		{"https://host/x?email=a@b#frag@x", true},
		{"https://admin:4242#x@127.0.0.1:1/x", false},
		{"https://admin:42?x@host/x", false},
		{"https://a#b@c@host", false},
	}
	for _, tt := range tests {
		err := CheckURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("CheckURL(%s) = %v; want ok %v", tt.url, err, tt.ok)
		}
		if !tt.ok {
			if _, err := NewHTTP(tt.url, "k", fast); err == nil {
				t.Errorf("NewHTTP(%s): want an error", tt.url)
			} else if e := err.(*Error); e.Kind != Config {
				t.Errorf("NewHTTP(%s): Kind %d; want Config", tt.url, e.Kind)
			}
		}
	}
}

func TestHTTPName(t *testing.T) {
	h := &HTTP{URL: "https://user:canary-pw@host.test:8443/a/secrets?key=canary-q#frag"}
	if got, want := h.Name(), "https://host.test:8443/a/secrets"; got != want {
		t.Errorf("Name = %s; want %s", got, want)
	}
	h = &HTTP{URL: "https://h/x", Label: "fusebase app backend"}
	if got, want := h.Name(), "fusebase app backend"; got != want {
		t.Errorf("Name = %s; want %s", got, want)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCleanKey(t *testing.T) {
	for in, want := range map[string]string{
		"k": "k", "k\n": "k", " k \r\n": "k", "\tk": "k",
	} {
		if got, err := CleanKey(in); err != nil || got != want {
			t.Errorf("CleanKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"canary\nkey", "canary\x00key", "canary\x7fkey", "\n"} {
		_, err := CleanKey(in)
		if err == nil {
			t.Errorf("CleanKey(%q): no error", in)
		} else if strings.Contains(err.Error(), "canary") {
			t.Errorf("CleanKey(%q) error quotes the key: %v", in, err)
		}
	}
}
