package redact

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://api.example.com/v1/secrets", "https://api.example.com/v1/secrets"},
		{"https://user:canary-pw@host/x", "https://host/x"},
		{"https://host/x?token=canary-q", "https://host/x"},
		{"https://host/x#canary-f", "https://host/x"},
		{"https://user:canary-pw@host:badport/x", "https://…host:badport/x"},
		{"https://user:canary%zzpw@host/x", "https://host/x"},
		{"ftp://user:canary-pw@host", "ftp://host"},
		{"htps://user:canary-pw@host/x?q=canary", "htps://host/x"},
		{"user:canary-pw@host/x", "…host/x"},
		{"https://a@b:canary@host/x", "https://host/x"},
		{"http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"},
		{"file:secrets.json", "file:secrets.json"},
		{"%zz?canary", "%zz…"},
		// A '#', '?' or '@' in user info is user info, not a fragment,
		// a query or the host.
		{"https://admin:canary#x@host/v1", "https://host/v1"},
		{"http://admin:4242#canary@host", "http://host"},
		{"https://admin:canary?x@host/v1?token=canary-q", "https://host/v1"},
		{"https://admin:can@ary@host/v1", "https://host/v1"},
		{"https://admin:canary#x@host:badport/v1", "https://…host:badport/v1"},
		{"https://admin:canary?x@%zz/v1", "https://…%zz/v1"},
		// '@' in the path or the query is not user info.
		{"https://host/users/a@b", "https://host/users/a@b"},
		{"https://host/x?mail=canary@b", "https://host/x"},
		// Control characters from a bad URL are escaped.
		{"https://host/\x1b[2J\n", `https://host/\x1b[2J\n`},
	}
	for _, tt := range tests {
		got := URL(tt.in)
		if got != tt.want {
			t.Errorf("URL(%q) = %q; want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "canary") || strings.Contains(got, "4242") {
			t.Errorf("URL(%q) = %q keeps a credential", tt.in, got)
		}
	}
}

func FuzzURL(f *testing.F) {
	for _, s := range []string{"https://u:p@h/x?q#f", "user:pw@host", "%zz", "a://b@c@d/e"} {
		f.Add(s, uint8(0), "admin", "#x?y@z")
	}
	f.Add("host:4242/x", uint8(1), "", "#")
	f.Add("host/x?q=1", uint8(2), "a@b", "?")
	schemes := []string{"https", "http", "ftp", "htps", "postgres"}
	f.Fuzz(func(t *testing.T, raw string, scheme uint8, user, pass string) {
		const secret = "SECRETPW"
		inputs := []string{raw + "?" + secret, raw + "#" + secret}
		if at := strings.Replace(raw, "@", ":"+secret+"@", 1); inAuthority(at, secret) {
			inputs = append(inputs, at)
		}
		// User info that holds '#', '?' and '@' around the password,
		// in front of any host and path. A '/' would end the user
		// info; see URL.
		user = strings.ReplaceAll(user, "/", "")
		pass = strings.ReplaceAll(pass, "/", "")
		s := schemes[int(scheme)%len(schemes)]
		inputs = append(inputs,
			s+"://"+user+":"+secret+pass+"@"+raw,
			s+"://"+user+":"+pass+secret+"@"+raw,
			s+"://"+user+secret+"@"+raw)
		for _, in := range inputs {
			if strings.Count(in, secret) != 1 {
				continue
			}
			if got := URL(in); strings.Contains(got, secret) {
				t.Fatalf("URL(%q) = %q keeps the credential", in, got)
			}
		}
		if got := URL(raw); !printable(got) {
			t.Fatalf("URL(%q) = %q holds a control character", raw, got)
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

func TestScrub(t *testing.T) {
	const key = "canary-key/+ &\"<>é"
	tests := []struct{ msg, want string }{
		{"no key here", "no key here"},
		{"invalid: Bearer " + key, "invalid: Bearer REDACTED"},
		{"auth=" + key + "; again " + key + ".", "auth=REDACTED; again REDACTED."},
		{"query ?k=canary-key%2F%2B+%26%22%3C%3E%C3%A9 end", "query ?k=REDACTED end"},
		{"path /canary-key%2F+%20&%22%3C%3E%C3%A9/x", "path /REDACTED/x"},
		{`json {"auth":"canary-key/+ \u0026\"\u003c\u003eé"}`, `json {"auth":"REDACTED"}`},
		{`json {"auth":"canary-key/+ &\"<>é"}`, `json {"auth":"REDACTED"}`},
		{`go "canary-key/+ &\"<>é"`, `go "REDACTED"`},
		{key + key, "REDACTED"},
	}
	for _, tt := range tests {
		if got := Scrub(tt.msg, "", key); got != tt.want {
			t.Errorf("Scrub(%q) = %q; want %q", tt.msg, got, tt.want)
		}
	}
	// Overlapping matches of several secrets are replaced as one.
	if got := Scrub("xxabcdeyy", "abcd", "cde"); got != "xxREDACTEDyy" {
		t.Errorf("overlap: got %q", got)
	}
	if got := Scrub("aaaa", "aa"); got != "REDACTED" {
		t.Errorf("self-overlap: got %q", got)
	}
	if got := Scrub("message", ""); got != "message" {
		t.Errorf("empty secret: got %q", got)
	}
}

func FuzzScrub(f *testing.F) {
	f.Add("a Bearer canary-k b", "canary-k")
	f.Add("x%2Fy", "x/y")
	f.Add(`"a\"b"`, `a"b`)
	f.Fuzz(func(t *testing.T, msg, secret string) {
		if secret == "" || strings.ContainsAny(secret, Redacted) {
			// A secret that shares letters with the word put in its place
			// can reappear across the seam, from letters that were no
			// part of it.
			return
		}
		for _, in := range []string{msg, msg + secret, secret + msg, "Bearer " + secret + msg} {
			if got := Scrub(in, secret); strings.Contains(got, secret) {
				t.Fatalf("Scrub(%q, %q) = %q keeps the secret", in, secret, got)
			}
		}
	})
}

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, é, 日本, \\n", "plain text, é, 日本, \\n"},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{"\x1b]0;title\a\x1b[31m", `\x1b]0;title\a\x1b[31m`},
		{"\x00\x7f", `\x00\x7f`},
		{"c1 \u0085 \u009b", `c1 \u0085 \u009b`},
		{"ls \u2028 ps \u2029", `ls \u2028 ps \u2029`},
		{"bidi \u202e \u2066", `bidi \u202e \u2066`},
		{"bad \xff\x9b utf8", `bad \xff\x9b utf8`},
		{".env.\n::warning file=README.md,line=1::forged", `.env.\n::warning file=README.md,line=1::forged`},
	}
	for _, tt := range tests {
		if got := Printable(tt.in); got != tt.want {
			t.Errorf("Printable(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// printable reports whether s holds nothing Printable escapes.
func printable(s string) bool {
	for i, r := range s {
		_, size := utf8.DecodeRuneInString(s[i:])
		if unsafe(r, size) {
			return false
		}
	}
	return true
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "a\nb", "\x1b[0m", "\u2028", "\xff", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Printable(s)
		if !utf8.ValidString(got) || !printable(got) {
			t.Fatalf("Printable(%q) = %q", s, got)
		}
		if printable(s) && got != s {
			t.Fatalf("Printable(%q) = %q; want it unchanged", s, got)
		}
	})
}

func TestKey(t *testing.T) {
	long := strings.Repeat("K", 200)
	tests := []struct{ in, want string }{
		{"OPENAI_API_KEY", "OPENAI_API_KEY"},
		{"", ""},
		{"DATABASE_URL=postgres://app:canary@db", "DATABASE_URL=…"},
		{"=canary", "=…"},
		{"A\x1b[2JB", `A\x1b[2JB`},
		{"A\nB=canary\n", `A\nB=…`},
		{long, strings.Repeat("K", MaxKey) + "…"},
		{long + "=canary", strings.Repeat("K", MaxKey) + "…=…"},
		{strings.Repeat("é", 70), strings.Repeat("é", MaxKey) + "…"},
	}
	for _, tt := range tests {
		if got := Key(tt.in); got != tt.want {
			t.Errorf("Key(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzKey(f *testing.F) {
	f.Add("KEY", "value")
	f.Add("A\nB", "x=y")
	f.Add(strings.Repeat("é", 70), "")
	f.Fuzz(func(t *testing.T, name, value string) {
		got := Key(name)
		if !printable(got) {
			t.Fatalf("Key(%q) = %q holds a control character", name, got)
		}
		// An escape is at most 6 bytes, "\u2028"; then the two marks.
		if n := utf8.RuneCountInString(got); n > 6*MaxKey+3 {
			t.Fatalf("Key(%q) is %d characters long", name, n)
		}
		if strings.Contains(name, "=") {
			return
		}
		const canary = "CANARY"
		if strings.Contains(name, canary) {
			return
		}
		if got := Key(name + "=" + canary + value); strings.Contains(got, canary) {
			t.Fatalf("Key(%q) = %q shows the value", name+"="+canary+value, got)
		}
	})
}

func TestAmbiguousUserinfo(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"https://host/x", false},
		{"https://user:pw@host/x", false},
		{"https://user:pa%23ss@host/x", false},
		{"https://host/x?next=a@b", false},
		{"https://host/x#a@b", false},
		{"https://host?a@b", true}, // no path: the '?' is before the '@'
		{"https://admin:4242#x@127.0.0.1:1/x", true},
		{"http://admin:p?w@host/x", true},
		{"admin:p#w@host/x", true},
		{"", false},
	}
	for _, tt := range tests {
		if got := AmbiguousUserinfo(tt.in); got != tt.want {
			t.Errorf("AmbiguousUserinfo(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestSlashUserinfo(t *testing.T) {
	tests := []struct {
		in   string
		want bool
		url  string // what URL shows
	}{
		{"https://admin:4242/canary@host/v1", true, "https://host/v1"},
		{"https://admin:/canary@host:8443/v1?q=1", true, "https://host:8443/v1"},
		{"admin:42/canary@host/v1", true, "…host/v1"},
		{"https://user:pw@host:8443/a@b", false, "https://host:8443/a@b"},
		{"https://host/users/a@b", false, "https://host/users/a@b"},
		{"https://host:8443/x?mail=a@b", false, "https://host:8443/x"},
		{"https://host:8443/x#a@b", false, "https://host:8443/x"},
		{"https://host:8443/v1", false, "https://host:8443/v1"},
		{"http://[::1]:8443/v1", false, "http://[::1]:8443/v1"},
		{"", false, ""},
	}
	for _, tt := range tests {
		if got := SlashUserinfo(tt.in); got != tt.want {
			t.Errorf("SlashUserinfo(%q) = %v; want %v", tt.in, got, tt.want)
		}
		if got := URL(tt.in); got != tt.url {
			t.Errorf("URL(%q) = %q; want %q", tt.in, got, tt.url)
		}
	}
}
