package lint

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// TestPositions asks positions about ASCII offsets in an order that goes
// forward on a line, back on it, back across lines and forward again, and
// compares each answer with a count from the start of the file.
func TestPositions(t *testing.T) {
	src := []byte("aé€b\nxy😀z q\n\nlast é line")
	want := func(off int) (int, int) {
		line := 1 + bytes.Count(src[:off], []byte("\n"))
		start := bytes.LastIndexByte(src[:off], '\n') + 1
		return line, utf8.RuneCount(src[start:off]) + 1
	}
	var ascii []int
	for i, c := range src {
		if c < utf8.RuneSelf {
			ascii = append(ascii, i)
		}
	}
	var order []int
	order = append(order, ascii...)
	for i := len(ascii) - 1; i >= 0; i-- {
		order = append(order, ascii[i])
	}
	for i := 0; i < len(ascii); i += 3 {
		order = append(order, ascii[i], ascii[len(ascii)-1-i])
	}
	at := positions{src: src}
	for _, off := range order {
		line, col := at.of(off)
		wl, wc := want(off)
		if line != wl || col != wc {
			t.Fatalf("of(%d) = %d:%d; want %d:%d", off, line, col, wl, wc)
		}
	}
}

// naiveDestructured is the plain look ahead that lookup.destructured must
// agree with, reading up to the brace and past it for every word.
func naiveDestructured(src []byte, start, end int, meta bool) bool {
	const space = " \t\r\n"
	b := bytes.TrimRight(src[:start], space)
	if len(b) == 0 || b[len(b)-1] != '{' && b[len(b)-1] != ',' {
		return false
	}
	a := bytes.TrimLeft(src[end:], space)
	if len(a) == 0 || bytes.IndexByte([]byte(",}:="), a[0]) < 0 {
		return false
	}
	k := bytes.IndexByte(a[:min(len(a), 1000)], '}')
	if k < 0 {
		return false
	}
	return envAssigned(a[k+1:], meta)
}

// FuzzDestructured asks lookup.destructured about every word the scanner
// reports, in order, and compares each answer with naiveDestructured.
func FuzzDestructured(f *testing.F) {
	for _, s := range []string{
		"const { A_KEY, b: c, d = 1 } = process.env",
		"{a,b}=import.meta.env; {c} = process.env.X; {d}\n=\nprocess.env",
		"{a_key,a_key,a_key} {b} == process.env",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, src string, meta bool) {
		b := []byte(src)
		look := newLookup(b, meta)
		s := scanner{src: b, str: func(int, int, int) {}}
		s.word = func(start, end int, inString bool) {
			if inString {
				return
			}
			if got, want := look.destructured(start, end), naiveDestructured(b, start, end, meta); got != want {
				t.Fatalf("destructured(%q, %d, %d) = %v; want %v", src, start, end, got, want)
			}
		}
		s.run()
	})
}
