// Package manifest parses the list of secrets an app requires, finds the
// manifests that apply to a run, and checks fetched secrets against them.
//
// The syntax is that of `fusebase secret create --secret`: one KEY or
// KEY:description per line, split at the first colon, both sides trimmed.
// KEY? marks a key as optional. FROM as NAME passes the store's key FROM to
// the command as NAME (FROM? as NAME when optional). Blank lines are
// ignored and '#' starts a comment only as the first non-blank character of
// a line.
package manifest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/secretexec/secretexec/internal/oserr"
	"github.com/secretexec/secretexec/internal/redact"
)

// A Key is one required or optional secret.
type Key struct {
	// Name is the key in the store (FROM).
	Name string
	// As is the name the command sees the key under; "" means Name.
	As          string
	Description string
	Optional    bool
	// File and Line say where the key was declared: a manifest's path and
	// line, or a setting such as "--require" with Line 0.
	File string
	Line int
}

// Target returns the name the command sees the key under.
func (k Key) Target() string {
	if k.As != "" {
		return k.As
	}
	return k.Name
}

// String returns the key as messages name it: "PG_URL", or
// "PG_URL (as DATABASE_URL)" when the command sees it under another name.
func (k Key) String() string { return display(k.Name, k.As) }

// Where returns "file:line", or the file alone when there is no line.
func (k Key) Where() string {
	if k.Line > 0 {
		return k.File + ":" + strconv.Itoa(k.Line)
	}
	return k.File
}

func display(name, as string) string {
	if as == "" {
		return DisplayKey(name)
	}
	return DisplayKey(name) + " (as " + DisplayKey(as) + ")"
}

// A Manifest is the ordered list of keys an app declares.
type Manifest struct {
	Keys []Key
	// Only says that the command gets the manifest's keys alone: the other
	// keys of the store do not reach it (--only-manifest, and sidecars).
	Only bool
}

// SyntaxError is an invalid manifest line, or a key that cannot join the
// keys already declared.
type SyntaxError struct {
	File string
	// Line is 0 when the key came from somewhere without lines, such as
	// --require or a fusebase.json sidecar.
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Parse reads a manifest. file is used in errors and in each Key's File.
func Parse(r io.Reader, file string) (*Manifest, error) {
	// The text of every key line goes into one string, which the keys are
	// cut from: one allocation, not one a line.
	type entry struct {
		line, start, end int32
	}
	// Sized for a manifest of a few dozen keys, so that one allocation of
	// each serves it: every growth step would be an object of a new size
	// class, whose first use costs a fresh span and a page fault.
	var (
		b       strings.Builder
		entries = make([]entry, 0, 32)
	)
	b.Grow(1024)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Bytes()
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf")) // a BOM from some editors
		}
		text = bytes.TrimSpace(text)
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		e := entry{line: int32(line), start: int32(b.Len())}
		b.Write(text)
		e.end = int32(b.Len())
		entries = append(entries, e)
	}
	all := b.String()
	m := &Manifest{Keys: make([]Key, 0, len(entries))}
	var targets map[string]int
	for _, e := range entries {
		k, err := ParseKey(all[e.start:e.end])
		if err != nil {
			return nil, &SyntaxError{File: file, Line: int(e.line), Msg: err.Error()}
		}
		k.File, k.Line = file, int(e.line)
		if err := m.insert(&targets, k, false); err != nil {
			return nil, err
		}
	}
	// A line in error comes before a read error that followed it, as it
	// would have stopped the reading.
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, fmt.Errorf("manifest %s: a line is longer than 1 MiB", file)
		}
		return nil, fmt.Errorf("manifest %s: %w", file, oserr.Cause(err))
	}
	return m, nil
}

// ParseKey parses one manifest line without its comment: "KEY", "KEY?",
// "FROM as NAME" or "FROM? as NAME", each optionally followed by
// ":description". --require values are parsed with it too.
func ParseKey(s string) (Key, error) {
	head, desc, _ := strings.Cut(s, ":")
	// The description reaches terminals and CI logs, in errors and in
	// hints: its control characters are escaped, as a store's are.
	k := Key{Description: redact.Printable(strings.TrimSpace(desc))}
	if before, _, ok := strings.Cut(head, "="); ok {
		// A line from a .env file: what follows '=' is a value, which must
		// not reach the message.
		if before = strings.TrimSpace(before); Portable(before) {
			return Key{}, fmt.Errorf("%s followed by '=': a manifest lists key names, never KEY=value", before)
		}
		return Key{}, fmt.Errorf("a key followed by '=': a manifest lists key names, never KEY=value")
	}
	// The words are never quoted in errors: what is not a name may be a
	// value pasted by mistake. The line number finds it.
	var buf [5]string
	words := fields(head, buf[:0])
	if len(words) == 0 {
		return Key{}, fmt.Errorf("empty key")
	}
	name, rest := words[0], words[1:]
	switch {
	case strings.HasSuffix(name, "?"):
		k.Optional, name = true, name[:len(name)-1]
	case len(rest) > 0 && rest[0] == "?":
		k.Optional, rest = true, rest[1:]
	}
	if name == "" {
		return Key{}, fmt.Errorf("empty key")
	}
	k.Name = name
	switch {
	case len(rest) == 0:
	case rest[0] != "as":
		return Key{}, fmt.Errorf("%s; to pass a key under another name write FROM as NAME", errNotPortable)
	case len(rest) == 1:
		return Key{}, fmt.Errorf("no name after 'as'")
	case len(rest) > 2:
		return Key{}, fmt.Errorf("more than one word after 'as'")
	default:
		k.As = rest[1]
	}
	if err := k.check(); err != nil {
		return Key{}, err
	}
	return k, nil
}

// fields splits s at runs of white space, as strings.Fields does, into
// words, whose capacity bounds the count: a line has no more words than
// "FROM ? as NAME", so any more are not kept, and none is allocated.
func fields(s string, words []string) []string {
	for len(words) < cap(words) {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if s == "" {
			break
		}
		end := strings.IndexFunc(s, unicode.IsSpace)
		if end < 0 {
			end = len(s)
		}
		words, s = append(words, s[:end]), s[end:]
	}
	return words
}

const errNotPortable = "not a portable key name (letters, digits and _, not starting with a digit)"

// check reports a name of k that is not a portable name, and drops an As
// that repeats the Name.
func (k *Key) check() error {
	if k.Name == "" {
		return fmt.Errorf("empty key")
	}
	if !Portable(k.Name) {
		return fmt.Errorf("%s", errNotPortable)
	}
	if strings.HasSuffix(k.As, "?") {
		return fmt.Errorf("'?' goes on the key before 'as' (FROM? as NAME)")
	}
	if k.As != "" && !Portable(k.As) {
		return fmt.Errorf("the name after 'as' is %s", errNotPortable)
	}
	if k.As == k.Name {
		k.As = ""
	}
	return nil
}

// Portable reports whether name is a portable environment variable name,
// [A-Za-z_][A-Za-z0-9_]*.
func Portable(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// New returns the manifest of keys declared outside a file, such as a
// fusebase.json sidecar's secrets. Each is checked as a manifest line is,
// and no two may give the command the same name.
func New(keys ...Key) (*Manifest, error) {
	m := &Manifest{Keys: make([]Key, 0, len(keys))}
	var targets map[string]int
	for _, k := range keys {
		if err := k.check(); err != nil {
			return nil, &SyntaxError{File: k.File, Line: k.Line, Msg: err.Error()}
		}
		if err := m.insert(&targets, k, false); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Add merges keys declared elsewhere into m: the keys of another file, or
// --require values. A key that gives the command the same name from the
// same store key as one m holds joins it: required if either is, and the
// first description given. One that gives it the same name from another
// store key is a *SyntaxError naming both.
func (m *Manifest) Add(keys ...Key) error {
	var targets map[string]int
	for _, k := range keys {
		if err := k.check(); err != nil {
			return &SyntaxError{File: k.File, Line: k.Line, Msg: err.Error()}
		}
		if err := m.insert(&targets, k, true); err != nil {
			return err
		}
	}
	return nil
}

// insert appends k to m, unless a key of m has its target already: then
// with merge set and the same store key the two join, and otherwise it is
// an error. *targets indexes m.Keys by target; it is built on first use.
func (m *Manifest) insert(targets *map[string]int, k Key, merge bool) error {
	if *targets == nil {
		*targets = make(map[string]int, len(m.Keys)+8)
		for i, have := range m.Keys {
			(*targets)[have.Target()] = i
		}
	}
	t := k.Target()
	i, dup := (*targets)[t]
	if !dup {
		(*targets)[t] = len(m.Keys)
		m.Keys = append(m.Keys, k)
		return nil
	}
	have := &m.Keys[i]
	if merge && have.Name == k.Name {
		if have.Description == "" {
			have.Description = k.Description
		}
		have.Optional = have.Optional && k.Optional
		return nil
	}
	at := "at " + have.Where()
	if have.File == k.File && have.Line > 0 {
		at = "on line " + strconv.Itoa(have.Line)
	}
	msg := fmt.Sprintf("%s is the name of two keys: %s here and %s %s", DisplayKey(t), k, have, at)
	if have.Name == k.Name {
		msg = fmt.Sprintf("key %s appears twice (first %s)", k, at)
	}
	return &SyntaxError{File: k.File, Line: k.Line, Msg: msg}
}
