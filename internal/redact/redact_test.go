package redact

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://api.example.com/v1/secrets", "https://api.example.com/v1/secrets"},
		{"https://user:canary-pw@host/x", "https://host/x"},
		{"https://host/x?token=canary-q", "https://host/x"},
		{"https://host/x#canary-f", "https://host/x"},
		{"https://user:canary-pw@host:badport/x", "https://…host:badport/x"},
		{"https://user:canary%zzpw@host/x", "https://…host/x"},
		{"ftp://user:canary-pw@host", "ftp://host"},
		{"htps://user:canary-pw@host/x?q=canary", "htps://host/x"},
		{"user:canary-pw@host/x", "…host/x"},
		{"https://a@b:canary@host/x", "https://host/x"},
		{"http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"},
		{"file:secrets.json", "file:secrets.json"},
		{"%zz?canary", "%zz…"},
	}
	for _, tt := range tests {
		got := URL(tt.in)
		if got != tt.want {
			t.Errorf("URL(%q) = %q; want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "canary") {
			t.Errorf("URL(%q) = %q keeps a credential", tt.in, got)
		}
	}
}

func FuzzURL(f *testing.F) {
	for _, s := range []string{"https://u:p@h/x?q#f", "user:pw@host", "%zz", "a://b@c@d/e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		const secret = "SECRETPW"
		inputs := []string{raw + "?" + secret, raw + "#" + secret}
		if at := strings.Replace(raw, "@", ":"+secret+"@", 1); inAuthority(at, secret) {
			inputs = append(inputs, at)
		}
		for _, in := range inputs {
			if strings.Count(in, secret) != 1 {
				continue
			}
			if got := URL(in); strings.Contains(got, secret) {
				t.Fatalf("URL(%q) = %q keeps the credential", in, got)
			}
		}
	})
}

// inAuthority reports whether secret stands where user info goes: after
// "://" (or at the start) and before the path, query and fragment.
func inAuthority(s, secret string) bool {
	i := strings.Index(s, secret)
	if i < 0 {
		return false
	}
	start := 0
	if j := strings.Index(s, "://"); j >= 0 && j < i {
		start = j + 3
	}
	return !strings.ContainsAny(s[start:i], "/?#")
}
