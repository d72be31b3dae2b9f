// Package logging builds secretexec's slog loggers.
//
// Every text line secretexec writes starts with "secretexec: ", then the
// level unless it is info: "secretexec: error: …", "secretexec: warning: …",
// "secretexec: debug: …". Hints, what the user could do next, follow an
// error or warning as "secretexec: hint: …" lines. A message of several lines
// repeats the prefix on each, so grep and log collectors see whole lines.
// In json mode each record is one JSON object a line.
package logging

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// HintKey is the attribute key for hints: a string or a []string.
const HintKey = "hints"

// facts are the attributes that repeat, for json logs, what a message says
// in words: a text line leaves them out.
var facts = map[string]bool{"secrets": true, "sources": true, "duration_ms": true, "command": true, "keys": true}

// New returns a logger writing to w in the given format, "text" or "json".
func New(w io.Writer, format string, level slog.Level) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(&textHandler{w: w, level: level, mu: new(sync.Mutex)})
}

// Print logs msg at level through l's handler, as l.Log would, but without
// the caller's program counter, which slog.Logger looks up on every call
// with runtime.Callers. On a fresh process that walks tables nothing else
// touches, some 15 µs, and secretexec's handlers never print the source.
// It is for the one line of a successful run.
func Print(ctx context.Context, l *slog.Logger, level slog.Level, msg string, attrs ...slog.Attr) {
	h := l.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(attrs...)
	h.Handle(ctx, r)
}

// Hints returns an attribute carrying hints.
func Hints(hints ...string) slog.Attr {
	return slog.Any(HintKey, hints)
}

type textHandler struct {
	w     io.Writer
	level slog.Level
	mu    *sync.Mutex
	attrs []slog.Attr
	group string
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *textHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &h2
}

func (h *textHandler) WithGroup(name string) slog.Handler {
	h2 := *h
	if h2.group != "" {
		name = h2.group + "." + name
	}
	h2.group = name
	return &h2
}

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	prefix := "secretexec: "
	switch {
	case r.Level >= slog.LevelError:
		prefix += "error: "
	case r.Level >= slog.LevelWarn:
		prefix += "warning: "
	case r.Level < slog.LevelInfo:
		prefix += "debug: "
	}
	var hints []string
	var tail strings.Builder
	add := func(a slog.Attr) {
		if a.Key == HintKey {
			switch v := a.Value.Any().(type) {
			case []string:
				hints = append(hints, v...)
			case string:
				hints = append(hints, v)
			}
			return
		}
		if a.Equal(slog.Attr{}) || facts[a.Key] {
			return
		}
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		tail.WriteByte(' ')
		tail.WriteString(key)
		tail.WriteByte('=')
		tail.WriteString(quote(a.Value.Resolve().String()))
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })

	var b strings.Builder
	lines := strings.Split(r.Message, "\n")
	for i, line := range lines {
		b.WriteString(prefix)
		b.WriteString(line)
		if i == len(lines)-1 {
			b.WriteString(tail.String())
		}
		b.WriteByte('\n')
	}
	for _, hint := range hints {
		for _, line := range strings.Split(hint, "\n") {
			b.WriteString("secretexec: hint: ")
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

// quote quotes s when it would not read as one word.
func quote(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r == ' ' || r == '"' || r == '=' || r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return s
}
