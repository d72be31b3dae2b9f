// Package mask replaces secret values in a stream of bytes with
// [masked:NAME], as the supervisor does to a command's output under --mask.
//
// A Masker holds the patterns: for each secret, its value and the forms the
// value takes when a program prints it in a common way (see New). A Stream
// is one output (stdout, stderr or a terminal) going through it.
//
// Where matches overlap, they are masked as one: every byte any of them
// covers, chained from the first (a match that starts inside the cluster
// joins it), is replaced by one label, the longest match's (of equals, the
// first's). So a longer value is never left half shown because a shorter
// one started first, and a value that contains another is masked as itself.
// The one bound: a chain longer than a Stream holds at once (64 KiB) is cut
// there, and the match running across the cut may show its rest. Masking
// is best effort: a value the program transforms in another way is not
// recognised.
package mask

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// Secret is one value to mask, under the name the command sees it by.
type Secret struct {
	Name  string
	Value string
}

// Masker holds the patterns of a set of secrets. It is immutable, and any
// number of Streams may share it.
type Masker struct {
	m matcher
	// own are the patterns of the Masker's own secrets, without those
	// WithPrevious added.
	own []pattern
}

// New returns a Masker for secrets. A value shorter than minLen bytes is
// not masked (too likely to stand for itself in ordinary output, such as
// "true" or "8080"); short lists those secrets' names, for one warning. A
// minLen below 1 counts as 1.
//
// For each other value these patterns are masked, each under the secret's
// name:
//   - the value itself;
//   - for a value of several lines (split at "\n", a line's final "\r"
//     dropped), each line at least minLen bytes long, and the value with
//     every line ending written "\r\n", as a terminal shows it;
//   - the value JSON-string-escaped, without the quotes, as encoding/json
//     writes it, both with its HTML escaping (<, >, & as \u003c...) and
//     without (SetEscapeHTML(false), the form other encoders write);
//   - the value percent-encoded, by url.QueryEscape (space as "+") and
//     url.PathEscape (space as "%20");
//   - the value's standard base64 (base64.StdEncoding, padded), and the
//     characters that encode only the value's bits when it is base64
//     encoded inside a longer stream, at each of the three byte alignments
//     (so a secret inside a base64'd config file or basic-auth header is
//     caught too, though up to three characters of the stream around it
//     that mix its bits with its neighbours' are passed through).
//
// A derived form shorter than minLen is skipped. Where two secrets give the
// same pattern, the values come before the derived forms, and then the
// first secret in the slice names it.
func New(secrets []Secret, minLen int) (*Masker, []string) {
	if minLen < 1 {
		minLen = 1
	}
	var short []string
	var keep []Secret
	for _, s := range secrets {
		if len(s.Value) < minLen {
			short = append(short, s.Name)
			continue
		}
		keep = append(keep, s)
	}
	var pats []pattern
	seen := make(map[string]bool)
	add := func(text, name string) {
		if len(text) < minLen || seen[text] {
			return
		}
		seen[text] = true
		pats = append(pats, pattern{text: text, label: "[masked:" + name + "]"})
	}
	for _, s := range keep {
		add(s.Value, s.Name)
	}
	for _, s := range keep {
		for _, f := range lineForms(s.Value) {
			add(f, s.Name)
		}
	}
	for _, s := range keep {
		for _, f := range encodedForms(s.Value) {
			add(f, s.Name)
		}
	}
	return &Masker{m: newMatcher(pats), own: pats}, short
}

// WithPrevious returns a Masker of m's secrets and, after them, those of
// prev, the set m replaces, each under the name it had there: a value
// rotated away may still be valid, or be printed from a cache, after the
// command starts again with the new set. Only prev's own secrets count,
// not the sets before it, so masking stays one rotation deep. Where a
// pattern is in both, m's name labels it.
func (m *Masker) WithPrevious(prev *Masker) *Masker {
	if prev == nil {
		return m
	}
	pats := slices.Clone(m.own)
	seen := make(map[string]bool, len(pats))
	for _, p := range pats {
		seen[p.text] = true
	}
	for _, p := range prev.own {
		if !seen[p.text] {
			seen[p.text] = true
			pats = append(pats, p)
		}
	}
	return &Masker{m: newMatcher(pats), own: m.own}
}

// lineForms returns the lines of a multi-line value and the value with
// "\r\n" line endings (a terminal's output processing turns "\n" into
// "\r\n", so a value printed on a terminal never shows as itself).
func lineForms(v string) []string {
	if !strings.Contains(v, "\n") {
		return nil
	}
	var forms []string
	for line := range strings.SplitSeq(v, "\n") {
		forms = append(forms, strings.TrimSuffix(line, "\r"))
	}
	crlf := strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\n", "\r\n")
	return append(forms, crlf)
}

// encodedForms returns v JSON-escaped, percent-encoded and base64-encoded.
func encodedForms(v string) []string {
	var forms []string
	if b, err := json.Marshal(v); err == nil {
		forms = append(forms, string(b[1:len(b)-1]))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err == nil {
		b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		forms = append(forms, string(b[1:len(b)-1]))
	}
	forms = append(forms, url.QueryEscape(v), url.PathEscape(v))
	forms = append(forms, base64.StdEncoding.EncodeToString([]byte(v)))
	return append(forms, base64Inner(v)...)
}

// base64Inner returns, for each of the three alignments k of v within a
// longer byte stream (k bytes before it, counted modulo 3), the run of base64
// characters that depends on v's bytes alone. A character encodes 6 bits;
// with k bytes before v, characters [ceil(8k/6), floor(8(k+n)/6)) hold bits of
// v only.
func base64Inner(v string) []string {
	forms := make([]string, 0, 3)
	b := make([]byte, 2+len(v))
	for k := 0; k < 3; k++ {
		clear(b[:k])
		copy(b[k:], v)
		enc := base64.RawStdEncoding.EncodeToString(b[:k+len(v)])
		lo, hi := (8*k+5)/6, 8*(k+len(v))/6
		if lo < hi {
			forms = append(forms, enc[lo:hi])
		}
	}
	return forms
}
