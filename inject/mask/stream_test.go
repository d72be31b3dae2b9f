package mask

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// notifyWriter records what is written to it and signals each write.
type notifyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
	err   error
}

func newNotifyWriter() *notifyWriter { return &notifyWriter{wrote: make(chan struct{}, 100)} }

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.wrote <- struct{}{}
	if w.err != nil {
		return 0, w.err
	}
	w.buf.Write(p)
	return len(p), nil
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// wait waits for the next write, for at most 10 s.
func (w *notifyWriter) wait(t *testing.T) {
	t.Helper()
	select {
	case <-w.wrote:
	case <-time.After(10 * time.Second):
		t.Fatalf("no write within 10 s; have %q", w.String())
	}
}

func drain(ch chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

var prompt = []Secret{{Name: "CODE", Value: "canary-sk-9f8e7d6c5b4a"}, {Name: "SHORT", Value: "canary-abc"}, {Name: "LONG", Value: "canary-abcdef"}}

// TestPrompt writes a prompt whose end could start a value: it is held,
// then written as it is once Delay has passed without more bytes.
func TestPrompt(t *testing.T) {
	m, _ := New(prompt, 6)
	w := newNotifyWriter()
	s := m.Writer(w)
	start := time.Now()
	if _, err := s.Write([]byte("Enter code: canary-")); err != nil {
		t.Fatal(err)
	}
	if got, want := w.String(), "Enter code: "; got != want {
		t.Fatalf("at once: got %q; want %q", got, want)
	}
	w.wait(t)
	w.wait(t)
	if got, want := w.String(), "Enter code: canary-"; got != want {
		t.Fatalf("after the delay: got %q; want %q", got, want)
	}
	if d := time.Since(start); d < Delay {
		t.Errorf("the tail came after %v; want at least %v", d, Delay)
	}
	s.mu.Lock()
	armed := s.armed
	s.mu.Unlock()
	if armed {
		t.Error("timer armed with nothing held")
	}
	// The value's start is out: what follows is not masked.
	if _, err := s.Write([]byte("sk-9f8e7d6c5b4a\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := w.String(), "Enter code: canary-sk-9f8e7d6c5b4a\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

// TestHeldSince checks that the delay counts from the oldest byte held, so
// a tail that keeps growing is not held past Delay.
func TestHeldSince(t *testing.T) {
	m, _ := New(prompt, 6)
	s := m.Writer(io.Discard)
	s.delay = time.Hour // the bookkeeping, not the timer, however slow the machine
	defer s.Close()
	s.Write([]byte("x canary-"))
	s.mu.Lock()
	first := s.since
	s.mu.Unlock()
	s.Write([]byte("sk"))
	s.mu.Lock()
	got, armed := s.since, s.armed
	s.mu.Unlock()
	if !got.Equal(first) || !armed {
		t.Errorf("tail grew: since %v, armed %v; want %v, true", got, armed, first)
	}
	s.Write([]byte("\nnew line canary-"))
	s.mu.Lock()
	got = s.since
	s.mu.Unlock()
	if got.Before(first) {
		t.Errorf("new tail: since %v; want after %v", got, first)
	}
}

// TestNoTimer checks that writes that hold nothing arm no timer.
func TestNoTimer(t *testing.T) {
	m, _ := New(prompt, 6)
	s := m.Writer(io.Discard)
	for range 100 {
		s.Write([]byte("a line without a value in it\n"))
	}
	if s.timer != nil || s.armed {
		t.Errorf("timer %v, armed %v; want none", s.timer, s.armed)
	}
}

func TestClose(t *testing.T) {
	m, _ := New(prompt, 6)
	var out bytes.Buffer
	s := m.Writer(&out)
	s.Write([]byte("x canary-abc y canary-abc"))
	if got, want := out.String(), "x [masked:SHORT] y "; got != want {
		t.Fatalf("before Close: got %q; want %q", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// At the end, the complete shorter value is masked.
	if got, want := out.String(), "x [masked:SHORT] y [masked:SHORT]"; got != want {
		t.Errorf("after Close: got %q; want %q", got, want)
	}
	if n, err := s.Write([]byte("more")); n != 0 || !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %d, %v; want 0, ErrClosed", n, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if s.armed {
		t.Error("timer armed after Close")
	}
}

func TestWriteError(t *testing.T) {
	m, _ := New(prompt, 6)
	broken := errors.New("broken pipe")
	t.Run("write", func(t *testing.T) {
		w := newNotifyWriter()
		w.err = broken
		s := m.Writer(w)
		if n, err := s.Write([]byte("hello\n")); n != 0 || err != broken {
			t.Errorf("Write = %d, %v; want 0, %v", n, err, broken)
		}
		if _, err := s.Write([]byte("again\n")); err != broken {
			t.Errorf("second Write: %v; want %v", err, broken)
		}
		if err := s.Close(); err != broken {
			t.Errorf("Close: %v; want %v", err, broken)
		}
	})
	t.Run("timer", func(t *testing.T) {
		w := newNotifyWriter()
		s := m.Writer(w)
		s.Write([]byte("go canary-"))
		w.wait(t)
		w.mu.Lock()
		w.err = broken
		w.mu.Unlock()
		w.wait(t) // the timer's write, which fails
		if _, err := s.Write([]byte("more")); err != broken {
			t.Errorf("Write after the timer failed: %v; want %v", err, broken)
		}
		if err := s.Close(); err != broken {
			t.Errorf("Close: %v; want %v", err, broken)
		}
	})
}

// TestReadFrom copies through io.Copy, which uses Stream.ReadFrom.
func TestReadFrom(t *testing.T) {
	m, _ := New(prompt, 6)
	var out bytes.Buffer
	s := m.Writer(&out)
	s.delay = time.Hour // however slow the machine, only Close flushes
	in := strings.Repeat("line canary-sk-9f8e7d6c5b4a\n", 10000)
	n, err := io.Copy(s, io.MultiReader(strings.NewReader(in[:12345]), strings.NewReader(in[12345:])))
	if n != int64(len(in)) || err != nil {
		t.Fatalf("io.Copy = %d, %v; want %d, nil", n, err, len(in))
	}
	s.Close()
	if want := strings.Repeat("line [masked:CODE]\n", 10000); out.String() != want {
		t.Error("output differs")
	}
	bad := errors.New("read failed")
	s = m.Writer(io.Discard)
	if _, err := s.ReadFrom(io.MultiReader(strings.NewReader("x"), iotestErrReader{bad})); err != bad {
		t.Errorf("ReadFrom: %v; want %v", err, bad)
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// TestTimerRace writes while the timer writes, for the race detector.
func TestTimerRace(t *testing.T) {
	m, _ := New(prompt, 6)
	w := newNotifyWriter()
	s := m.Writer(w)
	var want strings.Builder
	for i := range 20 {
		s.Write([]byte("tail canary-"))
		want.WriteString("tail canary-")
		if i%2 == 0 {
			w.wait(t) // "tail "
			w.wait(t) // the timer's "canary-"
		}
		s.Write([]byte("\n"))
		want.WriteString("\n")
		drain(w.wrote)
	}
	s.Close()
	if got := w.String(); got != want.String() {
		t.Errorf("got %q; want %q", got, want.String())
	}
}
