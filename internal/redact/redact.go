// Package redact makes outside text safe to show in a message: it strips
// credentials from URLs, removes secrets a server echoes back, escapes
// control characters and cuts key names to size.
package redact

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Redacted is the word that stands in a message where a secret was.
const Redacted = "REDACTED"

// URL returns raw without user info, query string or fragment, where
// credentials are pasted, and with control characters escaped as
// Printable does. It works on text that does not parse as a URL too,
// since that is exactly what an error message about a bad URL shows; a
// "…" then marks where something was cut.
//
// User info is found by text, before parsing, because a password may
// hold '#', '?' or '@' that a parser takes for the start of the fragment
// or the query: after "://" (or from the start when there is none) up to
// the first '/', everything up to the last '@' is user info. A '/' in a
// password is covered only where what comes before it reads as a port
// (user:4242/pw@host, see SlashUserinfo); else such a URL is cut at the
// last '@' only if it does not parse.
func URL(raw string) string {
	s, creds := dropUserinfo(raw)
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" && u.Opaque == "" && u.User == nil {
		if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
			r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
			s = r.String()
		}
		return Printable(s)
	}
	// Not a URL that parses: cut what could be a query, a fragment or
	// user info, however the text is arranged. Better a message that
	// says too little.
	start := schemeEnd(s)
	cut := false
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s, cut = s[:i], true
	}
	if k := strings.LastIndexByte(s, '@'); k >= start {
		s, creds = s[:start]+s[k+1:], true
	}
	if creds {
		s = s[:start] + "…" + s[start:]
	}
	if cut {
		s += "…"
	}
	return Printable(s)
}

// AmbiguousUserinfo reports whether raw has user info that holds '#' or
// '?'. A URL parser ends the host at either, so the request would go to a
// host made of the user name and password, while URL, by the rule it
// describes, names the host after the last '@'. Such a URL must be
// refused, not used: the user means the host after the '@', and the
// password must be percent-encoded.
func AmbiguousUserinfo(raw string) bool {
	_, authority := authorityOf(raw)
	at := strings.LastIndexByte(authority, '@')
	return at >= 0 && strings.ContainsAny(authority[:at], "#?")
}

// authorityOf returns where the authority of s starts (after "scheme://",
// or at 0 when there is none) and its text, up to the first '/': the text
// URL's rule looks for user info in.
func authorityOf(s string) (start int, authority string) {
	start = schemeEnd(s)
	end := strings.IndexByte(s[start:], '/')
	if end < 0 {
		return start, s[start:]
	}
	return start, s[start : start+end]
}

// schemeEnd returns the offset just after "scheme://" in s, or 0.
func schemeEnd(s string) int {
	sep := strings.Index(s, "://")
	if sep < 0 || strings.ContainsAny(s[:sep], "/?#@") {
		return 0
	}
	return sep + 3
}

// dropUserinfo removes the user info of a URL by the rule URL describes,
// and reports whether there was any.
func dropUserinfo(s string) (string, bool) {
	start, authority := authorityOf(s)
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		at = slashUserinfo(s)
	}
	if at < 0 {
		return s, false
	}
	return s[:start] + s[start+at+1:], true
}

// slashUserinfo returns, for a URL whose password holds '/' after what
// reads as a port (user:4242/pw@host, user:/pw@host), the offset from
// schemeEnd of the '@' that ends the user info; else -1. A parser takes
// user:4242 for the host and port and the rest for the path, so the URL
// parses, and the rule URL describes does not see the user info. Only an
// '@' in the path, before any '?' or '#', counts; an '@' in the path of a
// URL with a port is rare enough to be taken for this.
func slashUserinfo(s string) int {
	start := schemeEnd(s)
	rest := s[start:]
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	end := strings.IndexByte(rest, '/')
	if end < 0 {
		return -1
	}
	colon := strings.LastIndexByte(rest[:end], ':')
	if colon < 0 || strings.Trim(rest[colon+1:end], "0123456789") != "" {
		return -1
	}
	return strings.LastIndexByte(rest, '@')
}

// SlashUserinfo reports whether raw is a URL whose password holds '/'
// after what a parser takes for a port (see slashUserinfo): the request
// would go to a host made of the user name, with the rest of the password
// in its path. Such a URL must be refused; URL cuts its user info.
func SlashUserinfo(raw string) bool {
	if _, authority := authorityOf(raw); strings.IndexByte(authority, '@') >= 0 {
		return false // user info before the '/', as URL's rule has it
	}
	return slashUserinfo(raw) >= 0
}

// Scrub returns msg with every occurrence of each non-empty secret
// replaced by REDACTED, for text from outside, such as a server's error
// message, that may echo a credential back. The forms a secret takes when
// echoed are replaced too: percent-encoded (in a query or a path),
// JSON-escaped, and Go-quoted. A "Bearer <secret>" header shows as
// "Bearer REDACTED". Where matches overlap, their union is replaced.
func Scrub(msg string, secrets ...string) string {
	var hide []bool // bytes of msg to replace
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		for _, form := range forms(secret) {
			for i := 0; i+len(form) <= len(msg); {
				k := strings.Index(msg[i:], form)
				if k < 0 {
					break
				}
				if hide == nil {
					hide = make([]bool, len(msg))
				}
				for j := i + k; j < i+k+len(form); j++ {
					hide[j] = true
				}
				i += k + 1
			}
		}
	}
	if hide == nil {
		return msg
	}
	var b strings.Builder
	for i := 0; i < len(msg); {
		if !hide[i] {
			b.WriteByte(msg[i])
			i++
			continue
		}
		b.WriteString(Redacted)
		for i < len(msg) && hide[i] {
			i++
		}
	}
	return b.String()
}

// forms returns the ways secret may be written in an echoed message.
func forms(secret string) []string {
	out := []string{secret}
	add := func(f string) {
		for _, o := range out {
			if o == f {
				return
			}
		}
		if f != "" {
			out = append(out, f)
		}
	}
	add(url.QueryEscape(secret))
	add(url.PathEscape(secret))
	add(strings.ReplaceAll(url.QueryEscape(secret), "+", "%20"))
	q := strconv.Quote(secret)
	add(q[1 : len(q)-1])
	if b, err := json.Marshal(secret); err == nil { // HTML-safe, as Go writes it
		add(string(b[1 : len(b)-1]))
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as most other encoders write it
	if enc.Encode(secret) == nil {
		s := strings.TrimSuffix(b.String(), "\n")
		add(s[1 : len(s)-1])
	}
	return out
}

// Printable returns s with the characters that could drive a terminal,
// break a line or reorder the text escaped the way Go writes them in a
// quoted string: C0 controls (\n, \t and ESC included), DEL, C1 controls,
// U+2028 and U+2029, the bidirectional formatting characters, and each
// byte of invalid UTF-8. Everything else, backslashes included, stays as
// it is; s comes back unchanged, without a copy, when it holds none.
//
// Use it on text from outside (store descriptions, file names, server
// messages) before it reaches a terminal or a CI log, where a newline can
// forge a line and an escape sequence can rewrite the screen.
func Printable(s string) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafe(r, size) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unsafe(r, size) {
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '\a':
			b.WriteString(`\a`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\v':
			b.WriteString(`\v`)
		case r < 0x80:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		default:
			b.WriteString(`\u`)
			b.WriteString(hex2(byte(r >> 8)))
			b.WriteString(hex2(byte(r)))
		}
		i += size
	}
	return b.String()
}

// unsafe reports whether the rune r, size bytes long in its string,
// is one Printable escapes.
func unsafe(r rune, size int) bool {
	switch {
	case r < 0x20, r == 0x7f, 0x80 <= r && r <= 0x9f:
		return true
	case r == utf8.RuneError && size == 1:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, 0x202a <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069:
		return true
	}
	return false
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// MaxKey is how many characters of a key name Key keeps.
const MaxKey = 64

// Key returns a key name as a message may show it. A key holding '=' is
// often a pasted KEY=value line, so only the part before the first '='
// is kept, followed by "=…". The name is cut to MaxKey characters, marked
// by "…", and its control characters are escaped as Printable does.
func Key(name string) string {
	eq := false
	if i := strings.IndexByte(name, '='); i >= 0 {
		name, eq = name[:i], true
	}
	cut := false
	n := 0
	for i := range name {
		if n == MaxKey {
			name, cut = name[:i], true
			break
		}
		n++
	}
	out := Printable(name)
	if cut {
		out += "…"
	}
	if eq {
		out += "=…"
	}
	return out
}
