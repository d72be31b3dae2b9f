// Package redact strips credentials from text before it reaches a message.
package redact

import (
	"net/url"
	"strings"
)

// URL returns raw without user info, query string or fragment, where
// credentials are pasted. It works on text that does not parse as a URL
// too, since that is exactly what an error message about a bad URL shows.
func URL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" && u.Opaque == "" {
		if u.User == nil && u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery {
			return raw
		}
		r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
		return r.String()
	}
	s := raw
	cut := false
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s, cut = s[:i], true
	}
	// Without a proper URL to say where user info ends, drop everything
	// up to the last '@': better a message that says too little.
	if k := strings.LastIndexByte(s, '@'); k >= 0 {
		start := 0
		if sep := strings.Index(s, "://"); sep >= 0 && sep+3 <= k && !strings.Contains(s[:sep], "@") {
			start = sep + 3
		}
		s = s[:start] + "…" + s[k+1:]
	}
	if cut {
		s += "…"
	}
	return s
}
