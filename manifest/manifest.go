// Package manifest parses the list of secrets an app requires and checks
// fetched secrets against it.
//
// The syntax is that of `fusebase secret create --secret`: one KEY or
// KEY:description per line, split at the first colon, both sides trimmed.
// KEY? marks a key as optional. Blank lines are ignored and '#' starts a
// comment only as the first non-blank character of a line.
package manifest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A Key is one required or optional secret.
type Key struct {
	Name        string
	Description string
	Optional    bool
	// Origin says where the key was declared: "secrets.manifest:3" or
	// "--require".
	Origin string
}

// A Manifest is the ordered list of keys an app declares.
type Manifest struct {
	Keys []Key
}

// SyntaxError is an invalid manifest line.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
}

// Parse reads a manifest. name is used in errors and in each Key's Origin.
func Parse(r io.Reader, name string) (*Manifest, error) {
	// The text of every key line and its origin go into one string, which
	// the keys are cut from: one allocation, not two a line.
	type entry struct {
		line, start, mid, end int32 // text is [start:mid], origin [mid:end]
	}
	// Sized for a manifest of a few dozen keys, so that one allocation of
	// each serves it: every growth step would be an object of a new size
	// class, whose first use costs a fresh span and a page fault.
	var (
		b       strings.Builder
		entries = make([]entry, 0, 32)
		num     [20]byte
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
		e.mid = int32(b.Len())
		b.WriteString(name)
		b.WriteByte(':')
		b.Write(strconv.AppendInt(num[:0], int64(line), 10))
		e.end = int32(b.Len())
		entries = append(entries, e)
	}
	all := b.String()
	m := &Manifest{Keys: make([]Key, 0, len(entries))}
	seen := make(map[string]int32, len(entries))
	for _, e := range entries {
		k, err := ParseKey(all[e.start:e.mid])
		if err != nil {
			return nil, &SyntaxError{File: name, Line: int(e.line), Msg: err.Error()}
		}
		if first, dup := seen[k.Name]; dup {
			return nil, &SyntaxError{File: name, Line: int(e.line), Msg: fmt.Sprintf("key %s appears twice (first on line %d)", k.Name, first)}
		}
		seen[k.Name] = e.line
		k.Origin = all[e.mid:e.end]
		m.Keys = append(m.Keys, k)
	}
	// A line in error comes before a read error that followed it, as it
	// would have stopped the reading.
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, fmt.Errorf("%s: a line is longer than 1 MiB", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// ParseKey parses one "KEY", "KEY?", "KEY:description" or
// "KEY?:description" entry, as a manifest line or a --require value holds it.
func ParseKey(s string) (Key, error) {
	name, desc, _ := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	k := Key{Description: strings.TrimSpace(desc)}
	if strings.HasSuffix(name, "?") {
		k.Optional = true
		name = strings.TrimSpace(strings.TrimSuffix(name, "?"))
	}
	if name == "" {
		return Key{}, fmt.Errorf("empty key")
	}
	if before, _, ok := strings.Cut(name, "="); ok {
		// A line from a .env file: what follows '=' is a value, which must
		// not reach the message.
		if before = strings.TrimSpace(before); Portable(before) {
			return Key{}, fmt.Errorf("%s followed by '=': a manifest lists key names, never KEY=value", before)
		}
		return Key{}, fmt.Errorf("a key followed by '=': a manifest lists key names, never KEY=value")
	}
	if !Portable(name) {
		// The text is not repeated: what is not a name may be a value
		// pasted by mistake. The line number finds it.
		return Key{}, fmt.Errorf("not a portable key name (letters, digits and _, not starting with a digit)")
	}
	k.Name = name
	return k, nil
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

// Add appends keys declared outside a file, such as --require values. A key
// the manifest already holds keeps its place; a description given here fills
// in a missing one, and required beats optional.
func (m *Manifest) Add(keys ...Key) {
	for _, k := range keys {
		i := m.index(k.Name)
		if i < 0 {
			m.Keys = append(m.Keys, k)
			continue
		}
		have := &m.Keys[i]
		if have.Description == "" {
			have.Description = k.Description
		}
		have.Optional = have.Optional && k.Optional
	}
}

func (m *Manifest) index(name string) int {
	for i, k := range m.Keys {
		if k.Name == name {
			return i
		}
	}
	return -1
}
