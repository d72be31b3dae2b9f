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
	look := newLookup(src, !pl.backend)
	s := scanner{src: src, html: markup}
	if pl.backend {
		refs, known := l.refs[pl.app], l.known[pl.app]
		s.word = func(start, end int, inString bool) {
			w := src[start:end]
			if n, ok := l.names[string(w)]; ok && !n.public {
				refs[string(w)] = true
			}
			if !inString {
				look.statement(start, end)
			}
			if !inString && loadsEnvFile(src, start, end) {
				line, col := at.of(start)
				l.add(rel, line, col, Error, "backend loads a .env file with process.loadEnvFile; secretexec provides the environment, remove it")
			}
			if credential(w) && look.envRead(start, end, inString) && !known[string(w)] {
				line, col := at.of(start)
				l.add(rel, line, col, Warning, fmt.Sprintf("process.env.%s looks like a credential but is not in the manifest", w))
			}
		}
		s.str = func(quote, start, end int) {
			if look.loadsDotenv(quote, start, end) {
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
			case look.envRead(start, end, inString):
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

// A lookup answers what the rules ask about the code around the words and
// strings of one file, which the scanner reports in order. Asked for each
// of the many words of one long line, a question must not read the line
// again each time: the lookup remembers what it found ahead of the last
// word, so that a file costs time in proportion to its length.
type lookup struct {
	src []byte
	// meta makes import.meta.env an environment too, in browser code.
	meta bool
	// brace is the offset of the first '}' at or after the place the
	// last destructuring pattern was looked for from, or len(src).
	brace int
	// envBrace is the '}' whose envAfter says whether "= process.env"
	// follows it, or -1.
	envBrace int
	envAfter bool
	// typeOnly says the last import or export is "import type" or
	// "export type".
	typeOnly bool
}

func newLookup(src []byte, meta bool) *lookup {
	return &lookup{src: src, meta: meta, brace: -1, envBrace: -1}
}

// statement notes the word src[start:end] of code if it opens an import or
// export statement, for loadsDotenv.
func (lk *lookup) statement(start, end int) {
	if w := string(lk.src[start:end]); w == "import" || w == "export" {
		rest := bytes.TrimLeft(lk.src[end:], " \t\r\n")
		lk.typeOnly = bytes.HasPrefix(rest, []byte("type")) && len(rest) > 4 && !isWord(rest[4])
	}
}

// envRead reports whether the word src[start:end] is read from the
// environment: process.env.W, process.env?.W, process.env["W"], and with
// meta set import.meta.env.W too. inString says the word stands in a string,
// which then must be exactly the subscript of process.env[…].
func (lk *lookup) envRead(start, end int, inString bool) bool {
	src := lk.src
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
		lk.meta && (bytes.HasSuffix(before, []byte("import.meta.env.")) || bytes.HasSuffix(before, []byte("import.meta.env?."))) ||
		lk.destructured(start, end)
}

// destructured reports whether the word src[start:end] is a property taken
// out of the environment by destructuring: const { W } = process.env,
// { A, W: alias } = process.env, { W = "x" } = process.env, and with meta
// set import.meta.env too. The words of one pattern share its closing
// brace, which is looked for once, and so is what follows it.
func (lk *lookup) destructured(start, end int) bool {
	const space = " \t\r\n"
	src := lk.src
	b := bytes.TrimRight(src[:start], space)
	if len(b) == 0 || b[len(b)-1] != '{' && b[len(b)-1] != ',' {
		return false
	}
	a := bytes.TrimLeft(src[end:], space)
	if len(a) == 0 || bytes.IndexByte([]byte(",}:="), a[0]) < 0 {
		return false
	}
	from := len(src) - len(a)
	if lk.brace < from {
		lk.brace = len(src)
		if k := bytes.IndexByte(src[from:], '}'); k >= 0 {
			lk.brace = from + k
		}
	}
	// The pattern's closing brace, looked for not too far.
	if lk.brace == len(src) || lk.brace-from >= 1000 {
		return false
	}
	if lk.envBrace != lk.brace {
		lk.envBrace, lk.envAfter = lk.brace, envAssigned(src[lk.brace+1:], lk.meta)
	}
	return lk.envAfter
}

// envAssigned reports whether a begins "= process.env", or with meta set
// "= import.meta.env", after white space.
func envAssigned(a []byte, meta bool) bool {
	const space = " \t\r\n"
	a = bytes.TrimLeft(a, space)
	if len(a) < 2 || a[0] != '=' || a[1] == '=' || a[1] == '>' {
		return false
	}
	a = bytes.TrimLeft(a[1:], space)
	for _, env := range []string{"process.env", "import.meta.env"} {
		if !meta && env == "import.meta.env" {
			break
		}
		if bytes.HasPrefix(a, []byte(env)) && (len(a) == len(env) || a[len(env)] != '.' && a[len(env)] != '?' && !isWord(a[len(env)])) {
			return true
		}
	}
	return false
}

// dotenvPackages are the packages that load a .env file into process.env.
var dotenvPackages = []string{"dotenv", "dotenv-flow", "dotenv-expand", "@dotenvx/dotenvx"}

// isDotenv reports whether the module specifier s names one of
// dotenvPackages or a file in it (dotenv/config).
func isDotenv(s []byte) bool {
	for _, p := range dotenvPackages {
		if bytes.HasPrefix(s, []byte(p)) && (len(s) == len(p) || s[len(p)] == '/') {
			return true
		}
	}
	return false
}

// loadsDotenv reports whether the string literal at quote names a dotenv
// module in an import or require: import 'dotenv/config', import x from
// "dotenv", require('dotenv'), import("dotenv"). A type-only import
// (import type { X } from "dotenv") loads nothing at run time.
func (lk *lookup) loadsDotenv(quote, start, end int) bool {
	src := lk.src
	if !isDotenv(src[start:end]) {
		return false
	}
	before := bytes.TrimRight(src[:quote], " \t\r\n")
	if bytes.HasSuffix(before, []byte("(")) {
		before = bytes.TrimRight(before[:len(before)-1], " \t\r\n")
	}
	for _, w := range []string{"import", "require", "from"} {
		if endsWithWord(before, w) {
			return w != "from" || !lk.typeOnly
		}
	}
	return false
}

// endsWithWord reports whether b ends with the word w.
func endsWithWord(b []byte, w string) bool {
	return bytes.HasSuffix(b, []byte(w)) && (len(b) == len(w) || !isWord(b[len(b)-len(w)-1]))
}

// loadsEnvFile reports whether the word src[start:end] is the call
// process.loadEnvFile(…), Node's own dotenv.
func loadsEnvFile(src []byte, start, end int) bool {
	if string(src[start:end]) != "loadEnvFile" {
		return false
	}
	before := bytes.TrimRight(src[:start], " \t")
	return bytes.HasSuffix(before, []byte("process.")) || bytes.HasSuffix(before, []byte("process?."))
}

// packageJSON reports a dotenv package among a backend's dependencies, and
// scripts that load a .env file (node --env-file=.env, -r dotenv/config). A
// file that is not JSON gets a warning: it cannot be checked.
func (l *linter) packageJSON(rel string, src []byte) {
	at := positions{src: src}
	// A byte order mark, which some editors write, is no JSON; offsets
	// below count from after it.
	bom := 0
	if bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) {
		bom = 3
	}
	dec := json.NewDecoder(bytes.NewReader(src[bom:]))
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
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			bad(err)
			return
		}
		field, _ := t.(string)
		if field == "scripts" {
			from := bom + int(dec.InputOffset())
			var scripts map[string]string
			if err := dec.Decode(&scripts); err != nil {
				bad(err)
				return
			}
			l.scripts(rel, src, from, bom+int(dec.InputOffset()), &at)
			continue
		}
		if field != "dependencies" && field != "devDependencies" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				bad(err)
				return
			}
			continue
		}
		from := bom + int(dec.InputOffset())
		var deps map[string]json.RawMessage
		if err := dec.Decode(&deps); err != nil {
			bad(err)
			return
		}
		for _, p := range dotenvPackages {
			if _, ok := deps[p]; !ok {
				continue
			}
			// The decoder has just passed the object; its key is the
			// last one in it. It is looked for in the object alone: a
			// key written with escapes is not found, and a file of many
			// such objects must not be searched to its start for each.
			off := bytes.LastIndex(src[from:bom+int(dec.InputOffset())], []byte(`"`+p+`"`))
			line, col := 1, 1
			if off >= 0 {
				line, col = at.of(from + off)
			}
			l.add(rel, line, col, Error, fmt.Sprintf("%s in %s; secretexec provides the environment, remove it", p, field))
		}
	}
}

// envFileFlags are what, in a package.json script, loads a .env file: Node's
// --env-file and --env-file-if-exists, and preloading dotenv/config.
var envFileFlags = []string{"--env-file", "dotenv/config"}

// scripts reports each envFileFlags in src[from:to], the "scripts" object
// of a package.json.
func (l *linter) scripts(rel string, src []byte, from, to int, at *positions) {
	for _, flag := range envFileFlags {
		for i := from; i < to; {
			k := bytes.Index(src[i:to], []byte(flag))
			if k < 0 {
				break
			}
			line, col := at.of(i + k)
			l.add(rel, line, col, Error, fmt.Sprintf("script loads a .env file with %s; secretexec provides the environment, remove it", flag))
			i += k + len(flag)
		}
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
// counting columns in Unicode code points (editors that count UTF-16 code
// units count one more past a character outside the Basic Multilingual
// Plane). Offsets come mostly in increasing order, so it counts on from the
// last one, lines and columns both: many findings on one long line cost no
// more than one. An offset back on the same line counts back; one on an
// earlier line counts again from the top. Offsets must be those of ASCII
// bytes, as every finding's is, which always start a code point.
type positions struct {
	src  []byte
	off  int // the last offset asked for
	line int // its line, or 0 before the first
	col  int // its column
}

func (p *positions) of(off int) (line, col int) {
	if p.line == 0 || off < p.off && bytes.IndexByte(p.src[off:p.off], '\n') >= 0 {
		p.off, p.line, p.col = 0, 1, 1
	}
	if off < p.off {
		p.col -= utf8.RuneCount(p.src[off:p.off])
		p.off = off
		return p.line, p.col
	}
	for {
		i := bytes.IndexByte(p.src[p.off:off], '\n')
		if i < 0 {
			break
		}
		p.off += i + 1
		p.line++
		p.col = 1
	}
	p.col += utf8.RuneCount(p.src[p.off:off])
	p.off = off
	return p.line, p.col
}
