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
	"io"
	"strconv"
	"sync/atomic"
)

// MaxSize is how much input all the sources of one fetch may read
// together, 16 MiB: response bodies, files and the files of a directory,
// retries included. Decoded secrets take a small multiple of their input,
// so this bounds the memory a fetch needs, whatever the sources send.
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
// since a partial set must never reach the command. The sources share one
// budget of MaxSize bytes of input, which they find in the context.
func All(ctx context.Context, sources []Source) ([]Secret, error) {
	if _, ok := ctx.Value(budgetKey{}).(*budget); !ok {
		ctx = context.WithValue(ctx, budgetKey{}, newBudget(MaxSize))
	}
	var (
		fetched [][]Secret
		n       int
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
		fetched = append(fetched, secrets)
		n += len(secrets)
	}
	if n == 0 {
		return nil, nil
	}
	// A run usually has one source, whose secrets are then merged in
	// place, without a copy; several are merged into one slice sized once.
	merged := fetched[0][:0]
	if len(fetched) > 1 {
		merged = make([]Secret, 0, n)
	}
	index := make(map[string]int, n)
	for _, secrets := range fetched {
		for _, s := range secrets {
			if i, ok := index[s.Key]; ok {
				merged[i] = s
				continue
			}
			index[s.Key] = len(merged)
			merged = append(merged, s)
		}
	}
	return merged, nil
}

// A budget is how many bytes of input the sources of one fetch may still
// read. It is safe for concurrent use.
type budget struct {
	limit int64
	used  atomic.Int64
}

func newBudget(limit int64) *budget { return &budget{limit: limit} }

type budgetKey struct{}

// budgetFrom returns the budget All put in ctx, or, for a source fetched
// on its own, a budget of MaxSize for it alone.
func budgetFrom(ctx context.Context) *budget {
	if b, ok := ctx.Value(budgetKey{}).(*budget); ok {
		return b
	}
	return newBudget(MaxSize)
}

// fits returns a *TooBigError if size bytes, as a file's size or a
// Content-Length announces them, are more than is left.
func (b *budget) fits(size int64) error {
	if size > b.limit-b.used.Load() {
		return &TooBigError{Limit: b.limit, AllSources: size <= b.limit}
	}
	return nil
}

// reader returns r drawing on b: a read that would take more than is
// left fails with *TooBigError, rather than return a truncated document.
func (b *budget) reader(r io.Reader) io.Reader { return &budgetReader{r: r, b: b} }

type budgetReader struct {
	r    io.Reader
	b    *budget
	read int64 // by this reader
}

func (br *budgetReader) Read(p []byte) (int, error) {
	left := br.b.limit - br.b.used.Load()
	if left < 0 {
		return 0, br.tooBig()
	}
	if int64(len(p)) > left+1 { // one more: the byte that finds the limit
		p = p[:left+1]
	}
	n, err := br.r.Read(p)
	br.read += int64(n)
	if over := br.b.used.Add(int64(n)) - br.b.limit; over > 0 {
		return n - int(min(over, int64(n))), br.tooBig()
	}
	return n, err
}

func (br *budgetReader) tooBig() error {
	return &TooBigError{Limit: br.b.limit, AllSources: br.read <= br.b.limit}
}

// limitReader returns r cut off after n bytes: reading byte n+1 fails with
// *TooBigError instead of returning a truncated document.
func limitReader(r io.Reader, n int64) io.Reader { return newBudget(n).reader(r) }

// TooBigError reports input over a limit: one source's own, or that of all
// the sources of a fetch together.
type TooBigError struct {
	Limit int64
	// AllSources is set when other sources of the fetch had used part
	// of the limit before this one reached it.
	AllSources bool
}

func (e *TooBigError) Error() string {
	limit := strconv.FormatInt(e.Limit, 10) + " byte"
	if e.Limit%(1<<20) == 0 {
		limit = strconv.FormatInt(e.Limit>>20, 10) + " MiB"
	}
	if e.AllSources {
		return "larger than the " + limit + " limit on all sources together"
	}
	return "larger than the " + limit + " limit"
}
