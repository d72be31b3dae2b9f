package lint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// source checks one JavaScript-like file, as backend or as browser code.
func (l *linter) source(rel string, src []byte, pl place, markup bool) {
	at := positions{src: src}
	s := scanner{src: src, html: markup}
	if pl.backend {
		refs, known := l.refs[pl.app], l.known[pl.app]
		s.word = func(start, end int, inString bool) {
			w := src[start:end]
			if n, ok := l.names[string(w)]; ok && !n.public {
				refs[n.key.Name] = true
			}
			if credential(w) && envRead(src, start, end, inString, false) && !known[string(w)] {
				line, col := at.of(start)
				l.add(rel, line, col, Warning, fmt.Sprintf("process.env.%s looks like a credential but is not in the manifest", w))
			}
		}
		s.str = func(quote, start, end int) {
			if loadsDotenv(src, quote, start, end) {
				line, col := at.of(quote)
				l.add(rel, line, col, Error, "backend loads dotenv; secretexec provides the environment, remove it")
			}
		}
	} else {
		s.word = func(start, end int, inString bool) {
			n, ok := l.names[string(src[start:end])]
			if !ok {
				return
			}
			var msg string
			switch {
			case n.public:
				msg = fmt.Sprintf("%s exposes secret %s (%s) to browser code", src[start:end], n.key.Name, n.key.where())
			case envRead(src, start, end, inString, true):
				msg = fmt.Sprintf("secret %s (%s) read in browser code", n.key.Name, n.key.where())
			case inString:
				msg = fmt.Sprintf("secret %s (%s) named in browser code", n.key.Name, n.key.where())
			default:
				return // a variable that happens to share the name
			}
			line, col := at.of(start)
			l.add(rel, line, col, Error, msg)
		}
		s.str = func(quote, start, end int) {}
	}
	s.run()
}

// credentialSuffixes are the endings of names that look like credentials.
var credentialSuffixes = []string{"KEY", "SECRET", "TOKEN", "PASSWORD", "DSN"}

// credential reports whether w ends in one of credentialSuffixes, in any
// case, as a word of its own: API_KEY, apiKey and KEY do, MONKEY does not.
func credential(w []byte) bool {
	for _, suf := range credentialSuffixes {
		n := len(w) - len(suf)
		if n < 0 || !bytes.EqualFold(w[n:], []byte(suf)) {
			continue
		}
		if n == 0 || w[n-1] == '_' {
			return true
		}
		// camelCase: a lower-case byte, then the suffix capitalised.
		if c, d := w[n-1], w[n]; 'a' <= c && c <= 'z' && 'A' <= d && d <= 'Z' {
			return true
		}
	}
	return false
}

// envRead reports whether the word src[start:end] is read from the
// environment: process.env.W, process.env?.W, process.env["W"], and with
// meta set import.meta.env.W too. inString says the word stands in a string,
// which then must be exactly the subscript of process.env[…].
func envRead(src []byte, start, end int, inString, meta bool) bool {
	if inString {
		if start == 0 || end >= len(src) {
			return false
		}
		q := src[start-1]
		if q != '"' && q != '\'' && q != '`' || src[end] != q {
			return false
		}
		before := bytes.TrimRight(src[:start-1], " \t")
		return bytes.HasSuffix(before, []byte("process.env[")) || bytes.HasSuffix(before, []byte("process.env?.["))
	}
	before := src[:start]
	return bytes.HasSuffix(before, []byte("process.env.")) || bytes.HasSuffix(before, []byte("process.env?.")) ||
		meta && (bytes.HasSuffix(before, []byte("import.meta.env.")) || bytes.HasSuffix(before, []byte("import.meta.env?.")))
}

// loadsDotenv reports whether the string literal at quote names the dotenv
// module in an import or require: import 'dotenv/config', import x from
// "dotenv", require('dotenv'), import("dotenv").
func loadsDotenv(src []byte, quote, start, end int) bool {
	s := src[start:end]
	if !bytes.Equal(s, []byte("dotenv")) && !bytes.HasPrefix(s, []byte("dotenv/")) {
		return false
	}
	before := bytes.TrimRight(src[:quote], " \t\r\n")
	if bytes.HasSuffix(before, []byte("(")) {
		before = bytes.TrimRight(before[:len(before)-1], " \t\r\n")
	}
	for _, w := range []string{"import", "require", "from"} {
		if bytes.HasSuffix(before, []byte(w)) && (len(before) == len(w) || !isWord(before[len(before)-len(w)-1])) {
			return true
		}
	}
	return false
}

// packageJSON reports dotenv among a backend's dependencies. A file that is
// not JSON gets a warning: it cannot be checked.
func (l *linter) packageJSON(rel string, src []byte) {
	dec := json.NewDecoder(bytes.NewReader(src))
	bad := func(err error) {
		l.add(rel, 1, 1, Warning, fmt.Sprintf("cannot check package.json: %v", err))
	}
	if t, err := dec.Token(); err != nil {
		bad(err)
		return
	} else if t != json.Delim('{') {
		bad(fmt.Errorf("not an object"))
		return
	}
	at := positions{src: src}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			bad(err)
			return
		}
		field, _ := t.(string)
		if field != "dependencies" && field != "devDependencies" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				bad(err)
				return
			}
			continue
		}
		var deps map[string]json.RawMessage
		if err := dec.Decode(&deps); err != nil {
			bad(err)
			return
		}
		if _, ok := deps["dotenv"]; !ok {
			continue
		}
		// The decoder has just passed the object; its "dotenv" key is
		// the last one before this offset.
		off := bytes.LastIndex(src[:dec.InputOffset()], []byte(`"dotenv"`))
		line, col := 1, 1
		if off >= 0 {
			line, col = at.of(off)
		}
		l.add(rel, line, col, Error, fmt.Sprintf("dotenv in %s; secretexec provides the environment, remove it", field))
	}
}

// envFile reports secrets assigned in a .env file of browser code, which
// dev servers load and bundlers may expose. Only names are read.
func (l *linter) envFile(rel string, src []byte) {
	for line, rest := 1, src; len(rest) > 0; line++ {
		text := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			text, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		lead := len(text)
		text = bytes.TrimLeft(text, " \t")
		if bytes.HasPrefix(text, []byte("export ")) {
			text = bytes.TrimLeft(text[len("export "):], " \t")
		}
		col := lead - len(text) + 1
		eq := bytes.IndexByte(text, '=')
		if eq < 0 {
			continue
		}
		n, ok := l.names[string(bytes.TrimRight(text[:eq], " \t"))]
		if !ok {
			continue
		}
		msg := fmt.Sprintf("secret %s (%s) set in a browser .env file", n.key.Name, n.key.where())
		if n.public {
			msg = fmt.Sprintf("%s exposes secret %s (%s) to browser code", bytes.TrimRight(text[:eq], " \t"), n.key.Name, n.key.where())
		}
		l.add(rel, line, col, Error, msg)
	}
}

// positions turns byte offsets of one file into 1-based lines and columns,
// counting columns in characters as editors do. Offsets mostly come in
// increasing order, so it counts on from the last one.
type positions struct {
	src       []byte
	off       int
	line      int
	lineStart int
}

func (p *positions) of(off int) (line, col int) {
	if p.line == 0 || off < p.off {
		p.off, p.line, p.lineStart = 0, 1, 0
	}
	for {
		i := bytes.IndexByte(p.src[p.off:off], '\n')
		if i < 0 {
			break
		}
		p.off += i + 1
		p.line++
		p.lineStart = p.off
	}
	p.off = off
	return p.line, utf8.RuneCount(p.src[p.lineStart:off]) + 1
}
