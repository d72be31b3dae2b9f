package lint

import (
	"bytes"
	"strings"
)

// A scanner walks JavaScript-like source (JS, TS, JSX, and the script and
// markup of .vue, .svelte and .html files) once, byte by byte, and reports
// every word outside comments and every string literal. It is a lexer just
// good enough to tell code from strings from comments: it knows quotes,
// template literals with ${} nesting, line and block comments, HTML
// comments in markup files, and guesses regular expression literals from the
// byte or keyword before them, as JavaScript minifiers do. It never fails: on odd input
// it only misreads a word as code or string, which costs a finding at most.
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
	for i := 0; i < n; {
		c := src[i]
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
			var open bool
			i, open = s.template(i + 1)
			if open {
				tmpl = append(tmpl, depth)
				depth++
				prev = '{'
			} else {
				prev = 'a'
			}
		case c == '/' && (prev == 0 || strings.IndexByte(regexBefore, prev) >= 0):
			i = skipRegex(src, i)
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
				var open bool
				i, open = s.template(i + 1)
				if open {
					tmpl = append(tmpl, depth)
					depth++
					prev = '{'
				} else {
					prev = 'a'
				}
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

// skipRegex returns the offset after the regular expression literal whose
// opening slash is at i. If the line ends first it was no regular
// expression, and skipRegex steps over the slash alone.
func skipRegex(src []byte, i int) int {
	class := false
	for j := i + 1; j < len(src); j++ {
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
			return i + 1
		}
	}
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
