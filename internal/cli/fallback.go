package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/secretexec/secretexec/fallback"
	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/fusebase"
)

// fallbackCopy is a run's --fallback copy (DESIGN.md, "Fallback"): where
// it is, how old it may be, and what it is bound to.
//
// It stands in for the network sources only. Files and folders are read
// afresh in every run, outage or not, so the copy holds none of their
// secrets. It holds the network sources' answers merged, each secret's
// Source the index of its source among them; since the endpoints are bound
// in order, that index names one source of this run, and merging the copy
// back in at that place gives what the network sources gave: a key that
// several of them hold comes from the last, which is where it stands.
type fallbackCopy struct {
	path   string
	maxAge time.Duration
	// apiKey is a clone: under --init, inject.ScrubEnv wipes the process's
	// environment block, which the setting's string may point into.
	apiKey string
	// endpoints are the network sources' full URLs in --from order; index
	// holds each one's place among all the run's sources.
	endpoints []string
	index     []int
	// fetched is when a fetch that reached the store began, zero when the
	// store was not reached; the copy is written from it only once the
	// run's checks pass (see keep).
	fetched time.Time
}

// fallbackFor returns the run's fallback copy, or nil when it has none: no
// --fallback, or no source that is fetched over the network.
func (c *cli) fallbackFor(s *settings, sources []fetch.Source) (*fallbackCopy, error) {
	if s.FallbackMaxAge.v <= 0 {
		return nil, configf("the fallback copy's maximum age must be positive, not %s", s.FallbackMaxAge.v)
	}
	if s.Fallback.v == "" {
		if s.Offline.v {
			return nil, configf("--offline reads only the fallback copy, but none is named: give --fallback PATH or SECRETEXEC_FALLBACK")
		}
		return nil, nil
	}
	f := &fallbackCopy{path: s.Fallback.v, maxAge: s.FallbackMaxAge.v}
	for i, src := range sources {
		if fs, ok := src.(*fusebase.Source); ok {
			// Every network source sends the same key: the one setting.
			f.apiKey = strings.Clone(fs.APIKey())
			f.endpoints = append(f.endpoints, strings.Clone(fs.URL()))
			f.index = append(f.index, i)
		}
	}
	if len(f.index) == 0 {
		c.log.Warn("--fallback is unused: no source is fetched over the network")
		return nil, nil
	}
	return f, nil
}

// fetchFallback fetches the sources with the fallback copy in the picture:
// a good fetch is kept, to replace the copy once it passes the run's checks
// (see keep); a key the store refuses deletes it; a store that is
// unavailable, or --offline, has the copy stand in for the network
// sources, if it is authentic and young enough. It returns whether the
// copy was used.
func (c *cli) fetchFallback(ctx context.Context, s *settings, f *fallbackCopy, counted []fetch.Source) ([]fetch.Secret, bool, error) {
	if s.Offline.v {
		return c.fromCopy(ctx, s, f, counted, nil)
	}
	started := time.Now() // the copy's date: never younger than its secrets
	secrets, err := c.fetch(ctx, s, counted)
	var fe *fetch.Error
	switch {
	case err == nil:
		f.fetched = started
		return secrets, false, nil
	case !errors.As(err, &fe) || !f.network(fe.Source, counted):
		// An interrupt, or a file or folder that failed: the copy
		// stands in for none of those.
	case fe.Kind == fetch.Permission:
		f.remove(c.log)
	case fe.Kind == fetch.Unavailable && !c.polling:
		// A --watch poll keeps the copy up to date but never stands in
		// with it: the command runs already, and an outage is the poll's
		// to report.
		return c.fromCopy(ctx, s, f, counted, err)
	}
	return nil, false, err
}

// network reports whether name is one of the network sources'.
func (f *fallbackCopy) network(name string, counted []fetch.Source) bool {
	for _, i := range f.index {
		if counted[i].Name() == name {
			return true
		}
	}
	return false
}

// fromCopy fetches the sources with the copy in place of the network
// sources, because the store is unavailable (why) or, when why is nil,
// because of --offline. A copy that cannot be used is a warning, and the
// run fails with why; under --offline it is the error. The files and
// folders among the sources are read with a --timeout of their own, since
// the network may have spent the first.
func (c *cli) fromCopy(ctx context.Context, s *settings, f *fallbackCopy, counted []fetch.Source, why error) ([]fetch.Secret, bool, error) {
	cp, parts, err := f.read(time.Now())
	if err != nil {
		if why == nil {
			return nil, false, &fetch.Error{Kind: fetch.Unavailable, Source: "--offline", Err: err,
				Hints: []string{"a run with --fallback that reaches the store writes the copy"}}
		}
		c.log.Warn("the fallback copy cannot be used: " + err.Error())
		return nil, false, why
	}
	reason := "--offline"
	if why != nil {
		reason = "the store is unavailable: " + why.Error()
	}
	c.log.Warn(fmt.Sprintf("using the fallback copy %s, fetched %s ago: %s", f.path, fallback.FormatAge(cp.Age), reason))
	for n, i := range f.index {
		name := counted[i].Name()
		for j := range parts[n] {
			parts[n][j].Source = name
		}
		// Still a countingSource of a network source, for emptySources:
		// a copy of an empty answer is as empty as the answer was.
		counted[i] = &countingSource{Source: &copySource{name: name, secrets: parts[n]}, network: true}
	}
	secrets, err := c.fetch(ctx, s, counted)
	return secrets, err == nil, err
}

// read reads the copy and splits it into the secrets of each network
// source, in f.index's order.
func (f *fallbackCopy) read(now time.Time) (*fallback.Copy, [][]fetch.Secret, error) {
	cp, err := fallback.Read(f.path, f.apiKey, f.endpoints, f.maxAge, now)
	if err != nil {
		return nil, nil, err
	}
	parts := make([][]fetch.Secret, len(f.index))
	for _, sec := range cp.Secrets {
		n, err := strconv.Atoi(sec.Source)
		if err != nil || n < 0 || n >= len(parts) {
			// Only a holder of the key wrote this, but not secretexec.
			return nil, nil, &fallback.InvalidError{Path: f.path, Reason: "a secret of no source of this run"}
		}
		parts[n] = append(parts[n], sec)
	}
	return cp, parts, nil
}

// keep replaces the copy with what the network sources just returned, if
// they were reached: the caller calls it once the set has passed the run's
// checks, so that the copy stays the last known good set. An answer that
// fails the run (empty, a key with no value) must not take the place of
// the set the next outage would start from. It returns the error of a
// copy that cannot be written, for the caller to warn of: the run goes on.
func (f *fallbackCopy) keep(log *slog.Logger, counted []fetch.Source) error {
	if f == nil || f.fetched.IsZero() {
		return nil
	}
	return f.save(log, counted, f.fetched)
}

// save replaces the copy with what the network sources returned, merged
// (see fallbackCopy), and returns the error of a copy that cannot be
// written.
func (f *fallbackCopy) save(log *slog.Logger, counted []fetch.Source, fetched time.Time) error {
	var secrets []fetch.Secret
	at := make(map[string]int)
	for n, i := range f.index {
		for _, sec := range counted[i].(*countingSource).kept {
			sec.Source = strconv.Itoa(n)
			if j, ok := at[sec.Key]; ok {
				secrets[j] = sec
				continue
			}
			at[sec.Key] = len(secrets)
			secrets = append(secrets, sec)
		}
	}
	if err := fallback.Write(f.path, f.apiKey, f.endpoints, secrets, fetched); err != nil {
		return err
	}
	log.Debug("fallback copy written", "path", f.path, "secrets", len(secrets))
	return nil
}

// remove deletes the copy once the store refused the key: a copy must
// not outlive the key's revocation, to be read during a later outage.
func (f *fallbackCopy) remove(log *slog.Logger) {
	if _, err := os.Lstat(f.path); errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err := fallback.Remove(f.path); err != nil {
		log.Warn("the fallback copy cannot be deleted: " + err.Error())
		return
	}
	log.Warn(fmt.Sprintf("deleted the fallback copy %s: the store refused the API key", f.path))
}

// copySource stands in for a network source: it returns what the
// fallback copy holds of that source's last good answer.
type copySource struct {
	name    string
	secrets []fetch.Secret
}

func (s *copySource) Name() string { return s.name }

func (s *copySource) Fetch(context.Context) ([]fetch.Secret, error) {
	return slices.Clone(s.secrets), nil
}
