// Package spawn helps tests that start a process and follow what it
// prints: its output, line by line, as events to wait for instead of
// sleeping and hoping.
package spawn

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"
)

// Wait is how long Expect and Await wait for a line: generous, so that a
// loaded machine does not fail a test, and still an end.
const Wait = 10 * time.Second

// Lines reads r line by line into a channel that is closed at EOF.
func Lines(r io.Reader) <-chan string {
	ch := make(chan string, 64)
	go func() {
		s := bufio.NewScanner(r)
		s.Buffer(nil, 1<<20)
		for s.Scan() {
			ch <- s.Text()
		}
		close(ch)
	}()
	return ch
}

// Expect waits for the next line from ch and fails unless it is want.
func Expect(t testing.TB, ch <-chan string, want string) {
	t.Helper()
	select {
	case got, ok := <-ch:
		if !ok {
			t.Fatalf("output ended; want line %q", want)
		}
		if got != want {
			t.Fatalf("got line %q; want %q", got, want)
		}
	case <-time.After(Wait):
		t.Fatalf("no line after %s; want %q", Wait, want)
	}
}

// Await skips lines from ch until one contains want, and returns the lines
// it read, that one included.
func Await(t testing.TB, ch <-chan string, want string) []string {
	t.Helper()
	var seen []string
	timeout := time.After(Wait)
	for {
		select {
		case line, ok := <-ch:
			if !ok {
				t.Fatalf("output ended; want a line with %q; got:\n%s", want, strings.Join(seen, "\n"))
			}
			seen = append(seen, line)
			if strings.Contains(line, want) {
				return seen
			}
		case <-timeout:
			t.Fatalf("no line with %q after %s; got:\n%s", want, Wait, strings.Join(seen, "\n"))
		}
	}
}

// Rest collects the lines left on ch until it is closed.
func Rest(ch <-chan string) string {
	var b strings.Builder
	for line := range ch {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}
