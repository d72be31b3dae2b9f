package manifest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// A Value is what Check needs to know of one fetched secret. It holds no
// value, only whether there is one.
type Value struct {
	Key         string
	Empty       bool
	Description string
	Source      string
}

// An Entry is one line of a check report.
type Entry struct {
	Key         string
	Status      Status
	Description string
	Source      string // where the value came from; empty when Missing
	Declared    bool   // in the manifest or --require
	Optional    bool
}

// Fatal reports whether the entry stops the run: a key that is not set and
// not optional. A key no manifest declares is required once a source
// registers it, because registering it declares that the app needs it.
func (e Entry) Fatal() bool { return e.Status != Set && !e.Optional }

// A Report lists every declared key, then every other fetched key, in order.
type Report struct {
	Entries []Entry
}

// Check compares fetched secrets with the manifest m, which may be nil.
func Check(m *Manifest, fetched []Value) *Report {
	var keys []Key
	if m != nil {
		keys = m.Keys
	}
	r := &Report{Entries: make([]Entry, len(keys), len(keys)+len(fetched))}
	// The map holds the declared keys, a handful, not the fetched ones,
	// which may be thousands.
	declared := make(map[string]int, len(keys))
	for i, k := range keys {
		declared[k.Name] = i
		r.Entries[i] = Entry{Key: k.Name, Description: k.Description, Declared: true, Optional: k.Optional, Status: Missing}
	}
	for _, v := range fetched {
		status := Set
		if v.Empty {
			status = Empty
		}
		if i, ok := declared[v.Key]; ok {
			e := &r.Entries[i]
			e.Source = v.Source
			e.Status = status
			if keys[i].Description == "" {
				e.Description = v.Description
			}
			continue
		}
		r.Entries = append(r.Entries, Entry{Key: v.Key, Description: v.Description, Source: v.Source, Status: status})
	}
	rest := r.Entries[len(keys):]
	slices.SortFunc(rest, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
	return r
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
		b.WriteString(DisplayKey(k.Key))
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

// DisplayKey returns a key as messages show it: as it is when it is a
// portable name, else quoted, so that a key from a store holding a
// newline or a terminal escape cannot forge or garble output.
func DisplayKey(key string) string {
	if Portable(key) {
		return key
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
