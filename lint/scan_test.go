package lint

import (
	"strings"
	"testing"
)

// scanWords returns what the scanner reports of src: each word as "w" in
// code or "'w'" in a string, and each string literal as <content>.
func scanWords(src string, markup bool) string {
	var out []string
	s := scanner{src: []byte(src), html: markup}
	s.word = func(start, end int, inString bool) {
		if inString {
			out = append(out, "'"+src[start:end]+"'")
		} else {
			out = append(out, src[start:end])
		}
	}
	s.str = func(quote, start, end int) { out = append(out, "<"+src[start:end]+">") }
	s.run()
	return strings.Join(out, " ")
}

func TestScanner(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		markup bool
		want   string
	}{
		{"code", "a.b = c", false, "a b c"},
		{"strings", `x("A", 'B c')`, false, "x 'A' <A> 'B' 'c' <B c>"},
		{"escaped quote", `"a\"b" c`, false, `'a' 'b' <a\"b> c`},
		{"line comment", "a // b\nc", false, "a c"},
		{"block comment", "a /* b\n d */ c", false, "a c"},
		{"unterminated comment", "a /* b", false, "a"},
		{"comment in string", `"a // b" c`, false, "'a' 'b' <a // b> c"},
		{"template", "`a ${b + `c ${d}`} e` f", false, "'a' b 'c' d 'e' f"},
		{"template braces", "`${ {a: 1}.a }` b", false, "a 1 a b"},
		{"template dollar word", "`$a${b}`", false, "'$a' b"},
		{"regex", `x = /"a"/g; y`, false, "x g y"},
		{"regex class", `x = /[/"]/; y`, false, "x y"},
		{"division", `a / "b" / c`, false, "a 'b' <b> c"},
		{"regex after return", "return /`/.test(s)\nx", false, "return test s x"},
		{"regex after keywords", "case /'/: typeof /\"/; y", false, "case typeof y"},
		{"division after word", "a / b / `c`", false, "a b 'c'"},
		{"division after paren", `(a) / b / c`, false, "a b c"},
		{"unterminated string", "'a b\nc", false, "'a' 'b' <a b> c"},
		{"closing tag", "<p>a</p> b", true, "p a p b"},
		{"html comment", "<!-- a -->b", true, "b"},
		{"html comment in js", "<!-- a -->b", false, "a b"},
		{"apostrophe in markup", "<p>don't A\nB</p>", true, "p don t A B p"},
		{"apostrophe before expression", "<p>Don't {K}</p> <i>it's</i>", true, "p Don t K p i it s i"},
		{"quotes in attributes", "<a title='x y'>it's</a>", true, "a title 'x' 'y' <x y> it s a"},
		{"script element", "<p>it's</p><script>a = 'K' < b</script><p>'</p>", true, "p it s p script a 'K' <K> b script p p"},
		{"style element", "<style>a::after { content: '}' }</style>'", true, "style a after content <}> style"},
		{"expression in text", "<p>{a ? 'K' : b}</p>", true, "p a 'K' <K> b p"},
		{"slashes in text", "<p>http://x/`y</p> b", true, "p http x y p b"},
		{"astro front matter", "---\nconst a = 'K'\n---\n<p>it's</p>", true, "const a 'K' <K> p it s p"},
		{"apostrophe in JSX", "<p>don't A\nB</p>", false, "p don 't' 'A' <t A> B p"},
		{"unicode", `é = "ü K"`, false, "'K' <ü K>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scanWords(tt.src, tt.markup); got != tt.want {
				t.Errorf("scan %q:\n got %s\nwant %s", tt.src, got, tt.want)
			}
		})
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range []string{"`${`${'", "a/[", "\"\\", "/*", "<!--", "}`", "x = /a\\/b/g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		last := -1
		s := scanner{src: []byte(src), html: true}
		s.word = func(start, end int, inString bool) {
			if start < 0 || end > len(src) || start >= end || start < last {
				t.Fatalf("word [%d,%d) after %d in %d bytes", start, end, last, len(src))
			}
			last = end
		}
		s.str = func(quote, start, end int) {
			if quote < 0 || start != quote+1 || end < start || end > len(src) {
				t.Fatalf("string %d [%d,%d) in %d bytes", quote, start, end, len(src))
			}
		}
		s.run()
	})
}

// naiveRegex is the plain scan that scanner.regex must agree with: from
// the slash at i to the closing slash outside a class, or i+1 when the
// line ends first.
func naiveRegex(src []byte, i int) int {
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

// checkRegex asks scanner.regex about every slash of src in order, as the
// scanner may, and compares each answer with naiveRegex.
func checkRegex(t *testing.T, src string) {
	t.Helper()
	s := scanner{src: []byte(src)}
	for i := 0; i < len(src); i++ {
		if src[i] != '/' {
			continue
		}
		if got, want := s.regex(i), naiveRegex(s.src, i); got != want {
			t.Fatalf("regex(%q, %d) = %d; want %d", src, i, got, want)
		}
	}
}

func TestRegexTrail(t *testing.T) {
	for _, src := range []string{
		"=/[=/[=/[",
		"x = /[ ; y = /a/",
		"x = /[ ; y = /a[/]/",
		"x = /[ ; y = /]/",
		"x = /[ \\/ y = /a/",
		"x = /[ \\\\/ y = /a/",
		"x = /[\n y = /a/",
		"x = /[\\\n/] /a/",
		"/[ / ] / [ / ] /",
		"/\\[/ /[/ /\\]/ /]/",
	} {
		checkRegex(t, src)
	}
}

func FuzzRegex(f *testing.F) {
	for _, s := range []string{"=/[=/[", "x = /[ ; y = /a/", "/[/]/\\/[\n/]/", "\\//[\\]/]/"} {
		f.Add(s)
	}
	f.Fuzz(checkRegex)
}
