package lint

import (
	"bytes"
	"strings"
)

// A scanner walks JavaScript-like source (JS, TS, JSX, and the script and
// markup of .vue, .svelte, .astro and .html files) once, byte by byte, and reports
// every word outside comments and every string literal. It is a lexer just
// good enough to tell code from strings from comments: it knows quotes,
// template literals with ${} nesting, line and block comments, HTML
// comments and the text around the code in markup files, and guesses
// regular expression literals from the byte or keyword before them, as
// JavaScript minifiers do. It never fails: on odd input it only misreads a
// word as code or string, which costs a finding at most.
type scanner struct {
	src []byte
	// html makes <!-- --> a comment, for .html, .vue and .svelte files.
	html bool
	// word receives each run of identifier bytes, [A-Za-z0-9_$], outside
	// comments, with whether it stands inside a string or template literal.
	word func(start, end int, inString bool)
	// str receives the content of each quoted string literal: the quote is
	// at quote, the content is src[start:end].
	str func(quote, start, end int)
	// failed follows the last regular expression guess that failed; see
	// regex.
	failed regexTrail
}

func isWord(c byte) bool {
	return c == '_' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// regexBefore holds the bytes after which a '/' opens a regular expression
// literal rather than dividing. '<' is left out so that closing tags in
// markup ("</p>") do not read as one.
const regexBefore = "(,=:[!&|?{};+-*%>~^"

func (s *scanner) run() {
	src := s.src
	n := len(src)
	// tmpl holds, for each template literal whose ${ expression is open,
	// the brace depth at which the literal resumes.
	var tmpl []int
	depth := 0
	prev := byte(0) // the last significant byte of code, 'a' for an operand
	// In markup files, m follows the markup around the code, so that
	// text like "<p>Don't {KEY}</p>" opens no string.
	var m markupState
	if s.html {
		m.start(src)
	}
	// template scans a template literal's text from i, at its start or
	// where a ${ expression closed, and returns where the code resumes:
	// after its closing backtick, or inside its next ${.
	template := func(i int) int {
		i, open := s.template(i)
		if open {
			tmpl = append(tmpl, depth)
			depth++
			prev = '{'
		} else {
			prev = 'a'
		}
		return i
	}
	for i := 0; i < n; {
		c := src[i]
		if s.html && m.text(src, i) {
			// Quotes, slashes and backticks in text are prose.
			prev = c
			i++
			continue
		}
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '/' && i+1 < n && src[i+1] == '/':
			i = skipTo(src, i+2, "\n")
		case c == '/' && i+1 < n && src[i+1] == '*':
			i = skipPast(src, i+2, "*/")
		case s.html && c == '<' && bytes.HasPrefix(src[i:], []byte("<!--")):
			i = skipPast(src, i+4, "-->")
		case c == '\'' || c == '"':
			i = s.quoted(i)
			prev = 'a'
		case c == '`':
			i = template(i + 1)
		case c == '/' && (prev == 0 || strings.IndexByte(regexBefore, prev) >= 0):
			i = s.regex(i)
			prev = 'a'
		case isWord(c):
			j := i + 1
			for j < n && isWord(src[j]) {
				j++
			}
			s.word(i, j, false)
			prev = 'a'
			if regexKeyword(src[i:j]) {
				// return /x/.test(s): after these words a '/'
				// opens a regular expression, never divides.
				prev = '('
			}
			i = j
		case c == '{':
			depth++
			prev = c
			i++
		case c == '}':
			if depth > 0 {
				depth--
			}
			if k := len(tmpl); k > 0 && tmpl[k-1] == depth {
				tmpl = tmpl[:k-1]
				i = template(i + 1)
				continue
			}
			prev = c
			i++
		default:
			prev = c
			i++
		}
	}
}

// A markupState follows the markup of a .vue, .svelte, .astro or .html file
// byte by byte: whether the scanner is in a tag, in a <script> or <style>
// element (or an Astro front matter), or in text, and how deep in {}
// expressions of the text (Vue's {{ }}, Svelte's and JSX-like { }).
type markupState struct {
	inTag   bool
	opening bool // the tag being read opens a script or style element
	code    int  // offset up to which the file is code (Astro front matter)
	inCode  bool // in a script or style element
	closing string
	braces  int
}

// start notes an Astro front matter, code between two "---" lines.
func (m *markupState) start(src []byte) {
	if bytes.HasPrefix(src, []byte("---")) {
		m.code = skipPast(src, 3, "\n---")
	}
}

// text reports whether the byte at i is a quote, slash or backtick of
// markup text, and updates the state with it. It must see every byte that
// the scanner reads as code, in order; bytes it skips as strings or
// comments are never markup.
func (m *markupState) text(src []byte, i int) bool {
	if i < m.code {
		return false
	}
	c := src[i]
	if m.inCode {
		if c == '<' && hasPrefixFold(src[i:], m.closing) {
			m.inCode, m.inTag = false, true
		}
		return false
	}
	switch c {
	case '<':
		if m.braces == 0 && i+1 < len(src) && (isLetter(src[i+1]) || src[i+1] == '/') {
			m.inTag = true
			for _, el := range []string{"script", "style"} {
				if hasPrefixFold(src[i+1:], el) && i+1+len(el) < len(src) && !isWord(src[i+1+len(el)]) {
					m.opening, m.closing = true, "</"+el
				}
			}
		}
	case '>':
		if m.inTag && m.braces == 0 {
			m.inTag = false
			if m.opening {
				m.opening, m.inCode = false, true
			}
		}
	case '{':
		m.braces++
	case '}':
		if m.braces > 0 {
			m.braces--
		}
	case '\'', '"', '/', '`':
		return !m.inTag && m.braces == 0
	}
	return false
}

func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// hasPrefixFold reports whether b begins with the ASCII prefix p in any case.
func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && bytes.EqualFold(b[:len(p)], []byte(p))
}

// regexKeyword reports whether w is a keyword after which a '/' starts a
// regular expression literal.
func regexKeyword(w []byte) bool {
	switch string(w) {
	case "return", "typeof", "case", "do", "else", "in", "instanceof", "new",
		"void", "delete", "throw", "yield", "await", "of":
		return true
	}
	return false
}

// quoted scans the '- or "-quoted string whose quote is at i and returns the
// offset after it. A string ends at its closing quote or, unterminated, at
// the end of the line, so that a stray apostrophe in markup text costs one
// line at most.
func (s *scanner) quoted(i int) int {
	src := s.src
	q := src[i]
	j := i + 1
	for j < len(src) {
		c := src[j]
		switch {
		case c == '\\':
			j += 2
		case c == q:
			s.str(i, i+1, j)
			return j + 1
		case c == '\n':
			s.str(i, i+1, j)
			return j
		case isWord(c):
			k := j + 1
			for k < len(src) && isWord(src[k]) {
				k++
			}
			s.word(j, k, true)
			j = k
		default:
			j++
		}
	}
	if j > len(src) {
		j = len(src)
	}
	s.str(i, i+1, j)
	return j
}

// template scans template literal text from i, just after a backquote or the
// } that closes a ${ expression. It returns the offset after the closing
// backquote, or after a "${" with open set.
func (s *scanner) template(i int) (next int, open bool) {
	src := s.src
	j := i
	for j < len(src) {
		c := src[j]
		switch {
		case c == '\\':
			j += 2
		case c == '`':
			return j + 1, false
		case c == '$' && j+1 < len(src) && src[j+1] == '{':
			return j + 2, true
		case isWord(c):
			k := j + 1
			// $ is a word byte, but "${" opens an expression even
			// right after a word.
			for k < len(src) && isWord(src[k]) && !(src[k] == '$' && k+1 < len(src) && src[k+1] == '{') {
				k++
			}
			s.word(j, k, true)
			j = k
		default:
			j++
		}
	}
	return len(src), false
}

// A regexTrail follows the scan of the last slash that was guessed to open
// a regular expression and opened none: that scan read from start to end,
// the newline or end of file where it gave up, and next and class are how
// far it has been replayed and whether it was in a [] class there.
type regexTrail struct {
	start, end int
	next       int
	class      bool
}

// regex returns the offset after the regular expression literal whose
// opening slash is at i. If the line ends first it was no regular
// expression, and regex steps over the slash alone.
//
// A wrong guess costs a scan to the end of the line, so a long line of them
// ("=/[=/[…") would cost time in the square of its length; the trail of the
// last failed scan makes it linear. A later scan from a slash at i on the
// same line reads the very bytes that one read from i+1 on (that one read
// the slash, or skipped it after a backslash, and so reads i+1 next): the
// two differ only in whether they are in a class. If the trail is out of a
// class at i+1, the scans are one and this one fails too. If it is in one,
// this one closes at a '/' it reads before any '[' or ']', and fails at one,
// after which the two agree. Slashes are met in increasing order, so the
// trail is replayed once, and each later scan stops at its first bracket.
func (s *scanner) regex(i int) int {
	src, t := s.src, &s.failed
	if t.start < i && i < t.end {
		for t.next <= i {
			switch src[t.next] {
			case '\\':
				t.next++
			case '[':
				t.class = true
			case ']':
				t.class = false
			}
			t.next++
		}
		if !t.class {
			return i + 1
		}
		for j := i + 1; j < len(src); j++ {
			switch src[j] {
			case '\\':
				j++
			case '/':
				return j + 1
			case '[', ']', '\n':
				return i + 1
			}
		}
		return i + 1
	}
	class := false
	j := i + 1
	for ; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '[':
			class = true
		case ']':
			class = false
		case '/':
			if !class {
				return j + 1
			}
		case '\n':
			*t = regexTrail{start: i, end: j, next: i + 1}
			return i + 1
		}
	}
	*t = regexTrail{start: i, end: len(src), next: i + 1}
	return i + 1
}

// skipTo returns the offset of the next sep at or after i, or len(src).
func skipTo(src []byte, i int, sep string) int {
	if k := bytes.Index(src[i:], []byte(sep)); k >= 0 {
		return i + k
	}
	return len(src)
}

// skipPast returns the offset after the next sep at or after i, or len(src).
func skipPast(src []byte, i int, sep string) int {
	if k := bytes.Index(src[i:], []byte(sep)); k >= 0 {
		return i + k + len(sep)
	}
	return len(src)
}
