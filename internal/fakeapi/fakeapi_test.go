package fakeapi

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

const path = "/v1/orgs/o/apps/p/features/backend/secrets"

func get(t *testing.T, url, key string) (int, string, http.Header, error) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header, err
}

func TestFaultSequence(t *testing.T) {
	s := New()
	defer s.Close()
	s.SetKey("k")
	s.SetSecrets("backend", Secret{Key: "A", Value: "1"})
	if err := s.SetFault("503x2,429:7x1"); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		code       int
		retryAfter string
	}{{503, ""}, {503, ""}, {429, "7"}, {200, ""}, {200, ""}}
	for i, w := range want {
		code, body, h, err := get(t, s.URL+path, "k")
		if err != nil {
			t.Fatal(err)
		}
		if code != w.code || h.Get("Retry-After") != w.retryAfter {
			t.Errorf("request %d: got %d Retry-After %q; want %d %q", i, code, h.Get("Retry-After"), w.code, w.retryAfter)
		}
		if code == 200 && body != `{"secrets":[{"key":"A","value":"1"}]}` {
			t.Errorf("body = %s", body)
		}
	}
	reqs := s.Requests()
	if len(reqs) != len(want) {
		t.Fatalf("recorded %d requests; want %d", len(reqs), len(want))
	}
	if reqs[0].Path != path || reqs[0].Header.Get("Authorization") != "Bearer k" || reqs[0].At.IsZero() {
		t.Errorf("recorded %+v", reqs[0])
	}
}

func TestAnswers(t *testing.T) {
	s := New()
	defer s.Close()
	s.SetKey("k")
	s.SetSecrets("backend", Secret{Key: "A", Value: "1"})
	tests := []struct {
		fault, key, path string
		code             int
		body             string // a substring
	}{
		{"ok", "wrong", path, 401, "Invalid or expired API key"},
		{"ok", "k", "/v1/orgs/o/apps/p/features/other/secrets", 404, "not found"},
		{"flat", "k", path, 200, `{"A":"1"}`},
		{"403", "k", path, 403, "no access"},
		{"501", "k", path, 501, "Not implemented"},
		{"html502", "k", path, 502, "<html>"},
		{"malformed", "k", path, 200, `"canary-malformed`},
		{"shape", "k", path, 200, `[{`},
		{"eqkey", "k", path, 200, `"BAD=KEY"`},
		{"nul", "k", path, 200, `canary\u0000nul`},
		{"longmessage", "k", path, 500, strings.Repeat("m", 1000)},
	}
	for _, tt := range tests {
		if err := s.SetFault(tt.fault); err != nil {
			t.Fatal(err)
		}
		code, body, _, err := get(t, s.URL+tt.path, tt.key)
		if err != nil {
			t.Fatalf("%s: %v", tt.fault, err)
		}
		if code != tt.code || !strings.Contains(body, tt.body) {
			t.Errorf("%s: got %d %.80s; want %d with %q", tt.fault, code, body, tt.code, tt.body)
		}
	}
}

func TestHugeAndReset(t *testing.T) {
	s := New()
	defer s.Close()
	s.SetSecrets("backend")
	for _, f := range []string{"huge", "hugechunked"} {
		s.SetFault(f)
		code, body, h, err := get(t, s.URL+path, "")
		if err != nil || code != 200 || len(body) != HugeSize {
			t.Errorf("%s: got %d, %d bytes, %v; want 200 and %d bytes", f, code, len(body), err, HugeSize)
		}
		if (h.Get("Content-Length") != "") != (f == "huge") {
			t.Errorf("%s: Content-Length %q", f, h.Get("Content-Length"))
		}
	}
	s.SetFault("reset")
	if _, _, _, err := get(t, s.URL+path, ""); err == nil {
		t.Error("reset: got an answer; want an error")
	}
}

func TestRate(t *testing.T) {
	s := New()
	defer s.Close()
	s.SetSecrets("backend")
	s.SetFault("rate:3")
	var codes []int
	for i := 0; i < 5; i++ {
		code, _, _, err := get(t, s.URL+path, "")
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, code)
	}
	// Five quick requests fall in one window: three admitted.
	if got := codes; got[2] != 200 || got[3] != 429 || got[4] != 429 {
		t.Errorf("codes = %v; want 200 200 200 429 429", got)
	}
}

func TestBadSpecs(t *testing.T) {
	s := New()
	defer s.Close()
	for _, spec := range []string{"teapot", "503x0", "hang:1", "rate:0", "503,429x1", "999"} {
		if err := s.SetFault(spec); err == nil {
			t.Errorf("SetFault(%q): want an error", spec)
		}
	}
}
