package redact

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// Scrub replaces each secret in msg, as it is and URL-escaped, with
// REDACTED: for text from outside, such as a server's error message,
// that may repeat a credential it was sent.
func Scrub(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, s, "REDACTED")
		if q := url.QueryEscape(s); q != s {
			msg = strings.ReplaceAll(msg, q, "REDACTED")
		}
	}
	return msg
}

// Printable escapes the control characters in s, Go-style, so that text
// from outside (a store's description, a file name, a server's message)
// cannot move the cursor, change colours or start a line of its own.
func Printable(s string) string {
	if strings.IndexFunc(s, unprintable) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unprintable(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unprintable(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == unicode.ReplacementChar
}
