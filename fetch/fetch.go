// Package fetch reads secrets from their sources: the Fusebase API, other
// HTTP endpoints, JSON files and directories of one file per key.
//
// Every source sits behind the Source interface. Fetch errors are *Error
// values whose Kind tells the caller which exit code the failure maps to.
// No error built here ever holds a secret value.
package fetch

import (
	"context"
	"errors"
	"fmt"
)

// MaxSize is the largest response body or file a source accepts, 16 MiB.
const MaxSize = 16 << 20

// A Secret is one key and value as a source returned it.
type Secret struct {
	Key         string
	Value       string
	Description string
	// Source names where the secret came from, as Source.Name returns it.
	Source string
}

// A Source yields secrets.
type Source interface {
	// Name identifies the source in messages, for example "file:secrets.json".
	// It never holds a credential.
	Name() string
	// Fetch returns the source's secrets in the order the source holds them,
	// in a slice the caller then owns.
	Fetch(ctx context.Context) ([]Secret, error)
}

// Kind classifies a fetch failure.
type Kind int

const (
	// Unavailable: the store could not be reached in time (exit 69).
	Unavailable Kind = iota + 1
	// Protocol: the answer was malformed, of the wrong shape or too big (exit 76).
	Protocol
	// Permission: the store refused the credential (exit 77).
	Permission
	// Config: the source is misconfigured or does not exist (exit 78).
	Config
)

// Error is a failed fetch from one source.
type Error struct {
	Kind   Kind
	Source string // Source.Name of the failing source
	Err    error
	// Status is the HTTP status of the answer that failed, or 0.
	Status int
	// Hints say what the user could do next; each is one line.
	Hints []string
}

func (e *Error) Error() string { return e.Source + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// errorf returns an *Error of the given kind for the named source.
func errorf(kind Kind, source, format string, args ...any) *Error {
	return &Error{Kind: kind, Source: source, Err: fmt.Errorf(format, args...)}
}

// All fetches every source in order and merges the results: a later source
// wins per key, an empty value included. The merged secrets keep the order
// in which their keys first appeared. It stops at the first failing source,
// since a partial set must never reach the command.
func All(ctx context.Context, sources []Source) ([]Secret, error) {
	var (
		merged []Secret
		index  map[string]int
	)
	for _, src := range sources {
		if err := context.Cause(ctx); err != nil {
			return nil, err
		}
		secrets, err := src.Fetch(ctx)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				err = &Error{Kind: Unavailable, Source: src.Name(), Err: err}
			}
			return nil, err
		}
		if index == nil {
			// The first source's secrets are merged in place: a run
			// usually has one source, and then no copy is made.
			index = make(map[string]int, len(secrets))
			merged = secrets[:0]
		}
		for _, s := range secrets {
			if i, ok := index[s.Key]; ok {
				merged[i] = s
				continue
			}
			index[s.Key] = len(merged)
			merged = append(merged, s)
		}
	}
	if len(merged) == 0 {
		return nil, nil
	}
	return merged, nil
}
