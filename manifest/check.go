package manifest

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Status is the state of one key after the sources were merged.
type Status int

const (
	// Set: the key has a non-empty value.
	Set Status = iota
	// Empty: a source registered the key but its value is empty.
	Empty
	// Missing: no source has the key.
	Missing
)

func (s Status) String() string {
	switch s {
	case Set:
		return "set"
	case Empty:
		return "registered, no value"
	case Missing:
		return "not registered"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// A Value is one fetched secret: its key in the store, its value, and
// where it came from. It prints, formats and marshals to JSON without its
// value, so that a log line or an error that holds one by mistake leaks
// nothing.
type Value struct {
	Key         string
	Value       string
	Description string
	Source      string
}

// Format writes the key and the source, never the value, whatever the verb.
func (v Value) Format(f fmt.State, verb rune) {
	io.WriteString(f, DisplayKey(v.Key))
	if v.Source != "" {
		io.WriteString(f, " from "+v.Source)
	}
}

// MarshalJSON encodes the key and the source, never the value.
func (v Value) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Key    string `json:"key"`
		Source string `json:"source,omitempty"`
	}{v.Key, v.Source})
}

// An Entry is one line of a check report.
type Entry struct {
	// Key is the key in the store.
	Key string
	// As is the name the command sees it under; "" means Key.
	As          string
	Status      Status
	Description string
	Source      string // where the value came from; empty when Missing
	Declared    bool   // in the manifest or --require
	Optional    bool
}

// Target returns the name the command sees the key under.
func (e Entry) Target() string {
	if e.As != "" {
		return e.As
	}
	return e.Key
}

// String returns the key as messages name it: "PG_URL", or
// "PG_URL (as DATABASE_URL)".
func (e Entry) String() string { return display(e.Key, e.As) }

// Fatal reports whether the entry stops the run: a key that is not set and
// not optional. A key no manifest declares is required once a source
// registers it, because registering it declares that the app needs it.
func (e Entry) Fatal() bool { return e.Status != Set && !e.Optional }

// A Report lists every declared key, then every other key the command
// gets, sorted.
type Report struct {
	Entries []Entry
	// Dropped lists the store's keys that the command does not get: all
	// the undeclared ones when the manifest is Only, and any whose name a
	// renamed key takes. Callers log them at debug level.
	Dropped []string
}

// Check compares fetched secrets, merged from every source, with the
// manifest m, which may be nil, and returns the report and what the
// command gets: each declared key that is set, under the name the command
// sees (one store key may feed several names), and, unless m is Only, each
// undeclared key that is set, under its own name. A key whose name a
// renamed key takes does not pass under it. Keys with empty values never
// pass. The returned values keep the order of fetched.
func Check(m *Manifest, fetched []Value) (*Report, []Value) {
	var keys []Key
	only := false
	if m != nil {
		keys, only = m.Keys, m.Only
	}
	r := &Report{Entries: make([]Entry, len(keys), len(keys)+len(fetched))}
	// The maps hold the declared keys, a handful, not the fetched ones,
	// which may be thousands. byName holds each store key's first entry,
	// next the entry after it that the same store key feeds.
	byName := make(map[string]int, len(keys))
	var next []int
	var renamed map[string]bool // the names renamed keys take
	for i, k := range keys {
		r.Entries[i] = Entry{Key: k.Name, As: k.As, Description: k.Description, Declared: true, Optional: k.Optional, Status: Missing}
		if k.As != "" {
			if renamed == nil {
				renamed = make(map[string]bool)
			}
			renamed[k.As] = true
		}
		first, ok := byName[k.Name]
		if !ok {
			byName[k.Name] = i
			continue
		}
		if next == nil {
			next = make([]int, len(keys))
			for j := range next {
				next[j] = -1
			}
		}
		for next[first] >= 0 {
			first = next[first]
		}
		next[first] = i
	}
	pass := make([]Value, 0, len(fetched))
	for _, v := range fetched {
		status := Set
		if v.Value == "" {
			status = Empty
		}
		if i, ok := byName[v.Key]; ok {
			for ; i >= 0; i = nextOf(next, i) {
				e := &r.Entries[i]
				e.Source = v.Source
				e.Status = status
				if e.Description == "" {
					e.Description = v.Description
				}
				if status == Set {
					pass = append(pass, Value{Key: e.Target(), Value: v.Value, Description: e.Description, Source: v.Source})
				}
			}
			continue
		}
		if only || renamed[v.Key] {
			r.Dropped = append(r.Dropped, v.Key)
			continue
		}
		r.Entries = append(r.Entries, Entry{Key: v.Key, Description: v.Description, Source: v.Source, Status: status})
		if status == Set {
			pass = append(pass, v)
		}
	}
	rest := r.Entries[len(keys):]
	slices.SortFunc(rest, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
	return r, pass
}

func nextOf(next []int, i int) int {
	if next == nil {
		return -1
	}
	return next[i]
}

// Err returns an *UnsetError naming every fatal entry, or nil.
func (r *Report) Err() error {
	var unset []Entry
	for _, e := range r.Entries {
		if e.Fatal() {
			unset = append(unset, e)
		}
	}
	if len(unset) == 0 {
		return nil
	}
	return &UnsetError{Keys: unset}
}

// UnsetError lists every required key that is missing or empty.
type UnsetError struct {
	Keys []Entry
}

func (e *UnsetError) Error() string {
	var b strings.Builder
	if len(e.Keys) == 1 {
		b.WriteString("1 required secret is not set:")
	} else {
		fmt.Fprintf(&b, "%d required secrets are not set:", len(e.Keys))
	}
	for _, k := range e.Keys {
		b.WriteString("\n  ")
		b.WriteString(k.String())
		if k.Description != "" {
			b.WriteString(" (")
			b.WriteString(k.Description)
			b.WriteString(")")
		}
		b.WriteString(": ")
		b.WriteString(k.Status.String())
		if k.Source != "" {
			b.WriteString(" in ")
			b.WriteString(k.Source)
		}
	}
	return b.String()
}

// maxDisplay is the longest key name messages show whole.
const maxDisplay = 128

// DisplayKey returns a key as messages show it: as it is when it is a
// portable name of up to 128 bytes, else quoted, so that a key from a
// store holding a newline or a terminal escape cannot forge or garble
// output. A key holding '=' (a pasted KEY=value) shows only the part
// before it, and a longer one is cut.
func DisplayKey(key string) string {
	if Portable(key) && len(key) <= maxDisplay {
		return key
	}
	cut := false
	if i := strings.IndexByte(key, '='); i >= 0 {
		key, cut = key[:i+1], true
	}
	if len(key) > maxDisplay {
		n := maxDisplay
		for n > 0 && !utf8.RuneStart(key[n]) {
			n--
		}
		key, cut = key[:n], true
	}
	if cut {
		key += "…"
	}
	return strconv.Quote(key)
}

// Missing returns the unset keys that no source registered.
func (e *UnsetError) Missing() []Entry { return e.with(Missing) }

// Empty returns the unset keys that are registered without a value.
func (e *UnsetError) Empty() []Entry { return e.with(Empty) }

func (e *UnsetError) with(s Status) []Entry {
	var out []Entry
	for _, k := range e.Keys {
		if k.Status == s {
			out = append(out, k)
		}
	}
	return out
}
