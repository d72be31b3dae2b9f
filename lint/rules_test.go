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
