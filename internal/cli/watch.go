package cli

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/inject"
	"github.com/secretexec/secretexec/internal/startup"
	"github.com/secretexec/secretexec/manifest"
)

// minWatch is the least --watch interval (DESIGN.md, "Watch").
const minWatch = 5 * time.Second

// testOnlyMinWatch, when the test build sets it (-ldflags -X), replaces
// minWatch, so that the tests poll in milliseconds. Users always get
// minWatch.
var testOnlyMinWatch = ""

// checkWatch checks the --watch settings. An interval under the least is
// usage (64) from the flag, as DESIGN.md says, and configuration (78) from
// the variable, as every variable that parses but is wrong.
func (s *settings) checkWatch() error {
	least := minWatch
	if d, err := time.ParseDuration(testOnlyMinWatch); err == nil {
		least = d
	}
	switch {
	case s.Watch.v != 0 && s.Watch.v < least && s.Watch.from == byFlag:
		return usagef("--watch %s: polls must be at least %s apart", s.Watch.v, least)
	case s.Watch.v != 0 && s.Watch.v < least:
		return configf("SECRETEXEC_WATCH: %s is less than the least interval, %s", s.Watch.v, least)
	case s.Splay.v < 0:
		return configf("the splay must not be negative, not %s", s.Splay.v)
	case s.StopTimeout.v < 0:
		return configf("the stop timeout must not be negative, not %s", s.StopTimeout.v)
	}
	if s.Watch.v == 0 && (s.OnChange.from != byDefault || s.Splay.from != byDefault ||
		s.StopSignal.from != byDefault || s.StopTimeout.from != byDefault) {
		s.warnings = append(s.warnings, "--on-change, --splay, --stop-signal and --stop-timeout act only with --watch")
	}
	return nil
}

// supervised reports whether the command runs as a child: under --init,
// and under --watch and --mask, which imply it.
func (s *settings) supervised() bool {
	return s.Init.v || s.Watch.v > 0 || s.Mask.v
}

// watcher polls the sources for --watch and hands each changed set, once
// it passed the checks, to the supervisor. It keeps no secret value: only
// a digest of each variable of the command's environment.
type watcher struct {
	c       *cli
	s       *settings
	digests map[string][sha256.Size]byte // the running command's environment
	changes chan inject.Change
	// poll is the cli the polls run the pipeline with: its log is held
	// back (see recorder), its requests go through one transport, which
	// keeps the connection to the store from one poll to the next and
	// saves a TLS handshake a poll.
	poll *cli
	rec  *recorder
	// manifest and fixed are the start's, so that every poll maps the
	// secrets as the start did, whatever happens to the files they came
	// from; sources are read once, with the start.
	manifest *manifest.Manifest
	fixed    map[string]string
	sources  []fetch.Source

	failed int       // polls failed in a row: the outage so far
	since  time.Time // when the outage began
	// warned are the warnings failed polls gave in this outage (a
	// fallback copy deleted after a 401), each given once.
	warned   map[string]bool
	rejected string // the last refused set's error, reported once
	// copyFailing is set while the --fallback copy cannot be written:
	// that is warned of once, not at every poll.
	copyFailing bool
}

// watch returns what the supervisor needs for --watch, and the poller to
// start once the supervisor listens to its signals. p is what the command
// starts with.
func (c *cli) watch(s *settings, p *prepared) (inject.Watch, func(context.Context)) {
	w := c.newWatcher(s, p)
	// The supervisor and its polls do one thing at a time. With one P,
	// the runtime wakes fewer threads for each poll, and a poll costs
	// two thirds of the CPU time (BENCHMARKS.md, "Watch"). The command's
	// own GOMAXPROCS is not touched: it comes from its environment.
	runtime.GOMAXPROCS(1)
	c.log.Debug("watching for changes", "every", s.Watch.v.String(), "on_change", s.OnChange.v)
	return inject.Watch{
		Changes:     w.changes,
		Exit:        s.OnChange.v == "exit",
		StopSignal:  s.StopSignal.v,
		StopTimeout: s.StopTimeout.v,
	}, w.run
}

// newWatcher returns the watcher of a command started with p.
func (c *cli) newWatcher(s *settings, p *prepared) *watcher {
	// The supervisor wipes the credential from the process's environment
	// block, where the settings read it from; the polls still need it.
	s.APIKey.v = strings.Clone(s.APIKey.v)
	w := &watcher{c: c, s: s, digests: digest(p.env.Env), changes: make(chan inject.Change), rec: &recorder{}, copyFailing: p.copyErr != nil,
		manifest: p.manifest, fixed: p.fixed}
	pc := *c
	pc.log = slog.New(recordHandler{rec: w.rec, h: c.log.Handler()})
	pc.polling, pc.transport = true, fetch.NewTransport(c.client(s).HeaderWait)
	w.poll = &pc
	// The sources are read now, as the start read them a moment ago, so
	// that a fusebase.json or ~/.fusebase/config.json changed later does
	// not send the polls elsewhere. Should that fail, the first poll
	// tries again, and reports why.
	if sources, err := pc.sources(s); err == nil {
		w.sources = sources
	}
	return w
}

// run polls for ever: one timer, set again after each poll, and nothing
// else between polls.
func (w *watcher) run(ctx context.Context) {
	t := time.NewTimer(jitter(w.s.Watch.v))
	for range t.C {
		t.Reset(jitter(w.once(ctx)))
	}
}

// jitter returns d give or take a random 20%, so that replicas started
// together do not poll together.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(2*d/5+1)
}

// once fetches and checks the secrets as the start did, and on a change
// hands the new environment to the supervisor. It returns the time to
// the next poll. Nothing that goes wrong here stops the command.
//
// What the pipeline logs is held back (see recorder) and written only
// when the set changed or was refused: a poll that finds the same set
// says nothing above debug level.
func (w *watcher) once(ctx context.Context) time.Duration {
	start := time.Now()
	rec := w.rec
	rec.reset()
	stuck := w.watchStuck()
	p, err := w.prepare(ctx)
	if !stuck.Stop() && w.failed == 0 {
		// The poll was stuck, and said so: that began an outage.
		w.failed, w.since = 1, start
	}
	if err != nil && exitCode(err) != exitValidation {
		return w.failedPoll(ctx, err)
	}
	w.recovered()
	if err != nil {
		w.refuse(ctx, err)
		return w.s.Watch.v
	}
	w.copyWritten(p.copyErr)
	digests := digest(p.env.Env)
	changed, added, removed := diff(w.digests, digests)
	if len(changed)+len(added)+len(removed) == 0 {
		w.rejected = ""
		w.c.log.Debug("polled: no change", "duration_ms", float64(time.Since(start).Microseconds())/1000)
		return w.s.Watch.v
	}
	// A secret may have changed PATH.
	path, err := inject.LookPath(w.s.Command[0], p.env.Env)
	if err == nil {
		// A set too large to start with must not stop the command.
		err = inject.CheckExecSize(path, w.s.Command, p.env.Env)
	}
	if err != nil {
		w.refuse(ctx, err)
		return w.s.Watch.v
	}
	w.rejected = ""
	rec.replay(ctx, slog.LevelDebug, nil)
	w.digests = digests

	var what []string
	for _, part := range []struct {
		names []string
		verb  string
	}{{changed, "changed"}, {added, "added"}, {removed, "removed"}} {
		if len(part.names) > 0 {
			what = append(what, strings.Join(part.names, ", ")+" "+part.verb)
		}
	}
	action := "restarting the command"
	if w.s.OnChange.v == "exit" {
		action = fmt.Sprintf("stopping the command, then exiting %d (--on-change exit)", exitTempFail)
	}
	var wait time.Duration
	if w.s.Splay.v > 0 {
		wait = rand.N(w.s.Splay.v)
		action += fmt.Sprintf(" in %s (--splay)", roundDuration(wait))
	}
	w.c.log.Info(fmt.Sprintf("the secrets changed: %s; %s", strings.Join(what, "; "), action),
		slog.Any("keys", slices.Concat(changed, added, removed)))
	if wait > 0 {
		time.Sleep(wait)
	}
	change := inject.Change{Path: path, Env: p.env.Env}
	if w.s.Mask.v {
		change.Mask = w.c.masker(w.s, p) // the new values, under their names
	}
	w.changes <- change
	return w.s.Watch.v
}

// prepare runs the pipeline for a poll, with the start's manifest and the
// sources read with the start: the same mapping and sources as the
// start's.
func (w *watcher) prepare(ctx context.Context) (*prepared, error) {
	if w.sources == nil {
		sources, err := w.poll.sources(w.s)
		if err != nil {
			return nil, err
		}
		w.sources = sources
	}
	return w.poll.prepareFrom(ctx, w.s, w.manifest, w.fixed, w.sources)
}

// stuckGrace is how long a poll may run past its timeout before it is
// taken for stuck.
const stuckGrace = time.Second

// watchStuck warns when the poll about to start is stuck: a read that no
// timeout ends, such as a FIFO that nobody writes or a hung mount, holds
// it, and no poll follows until it returns. The warning is the outage's,
// given once; the timer it returns is stopped when the poll returns.
func (w *watcher) watchStuck() *time.Timer {
	limit := pollTimeout(w.s) + stuckGrace
	inOutage := w.failed > 0
	return time.AfterFunc(limit, func() {
		if !inOutage {
			w.c.log.Warn(fmt.Sprintf("cannot check the secrets for a change: reading them has not ended after %s; the command keeps running with the ones it has, and no poll follows until that read ends", roundDuration(limit)))
		}
	})
}

// failedPoll reports a poll that could not fetch: a warning at the start
// of an outage, and debug lines while it lasts. The warnings the polls
// gave (a fallback copy deleted after a 401, also one well into the
// outage) follow, each once in the outage. Polls back off, up to five
// times the interval.
func (w *watcher) failedPoll(ctx context.Context, err error) time.Duration {
	w.failed++
	if w.failed == 1 {
		w.since = time.Now()
		w.c.log.Warn(fmt.Sprintf("cannot check the secrets for a change: %v; the command keeps running with the ones it has", err))
	} else {
		w.c.log.Debug("poll failed again", "polls", w.failed, "err", err.Error())
	}
	if w.warned == nil {
		w.warned = make(map[string]bool)
	}
	w.rec.replay(ctx, slog.LevelWarn, w.warned)
	every := w.s.Watch.v
	return min(every<<min(w.failed, 3), 5*every)
}

// recovered ends an outage, with one line.
func (w *watcher) recovered() {
	if w.failed == 0 {
		return
	}
	w.c.log.Info(fmt.Sprintf("the secrets can be fetched again, after %s and %s",
		roundDuration(time.Since(w.since)), plural(w.failed, "failed poll")))
	w.failed, w.warned = 0, nil
}

// copyWritten reports a --fallback copy that a poll could not write (err):
// a warning when writes start failing, as a run gives one, and nothing
// while they go on failing. A poll that writes the copy ends the streak.
func (w *watcher) copyWritten(err error) {
	switch {
	case err == nil:
		w.copyFailing = false
	case !w.copyFailing:
		w.copyFailing = true
		w.c.log.Warn("the fallback copy is not updated: " + err.Error())
	}
}

// refuse reports a new set that failed the checks, after what the poll
// logged; the command keeps the set it has. The same refusal poll after
// poll is reported once, and so are the warnings that came with it.
func (w *watcher) refuse(ctx context.Context, err error) {
	if msg := err.Error(); msg != w.rejected {
		w.rejected = msg
		w.rec.replay(ctx, slog.LevelDebug, nil)
		w.c.log.Error("the secrets changed, but the new set is refused; the command keeps running with the ones it has: "+msg, errorAttrs(err)...)
		return
	}
	w.rec.reset()
	w.c.log.Debug("the new set is still refused")
}

// digest returns a SHA-256 digest of each variable's value in env, by
// name: what a poll compares, rather than the values.
func digest(env []string) map[string][sha256.Size]byte {
	d := make(map[string][sha256.Size]byte, len(env))
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		d[name] = sha256.Sum256([]byte(value))
	}
	return d
}

// diff returns the names, sorted and fit for a message, whose digests
// differ between old and new, that only new has, and that only old has.
func diff(old, new map[string][sha256.Size]byte) (changed, added, removed []string) {
	for name, d := range new {
		o, ok := old[name]
		switch {
		case !ok:
			added = append(added, name)
		case o != d:
			changed = append(changed, name)
		}
	}
	for name := range old {
		if _, ok := new[name]; !ok {
			removed = append(removed, name)
		}
	}
	for _, names := range [][]string{changed, added, removed} {
		slices.Sort(names)
		for i, name := range names {
			names[i] = manifest.DisplayKey(name)
		}
	}
	return changed, added, removed
}

// pollTimeout is a poll's time to fetch: the smaller of --timeout and half
// the interval, so that a slow store cannot make the polls late.
func pollTimeout(s *settings) time.Duration {
	return min(s.Timeout.v, s.Watch.v/2)
}

// pollFetch fetches for a poll, within pollTimeout. It has no watchdog,
// which would end the run: a source stuck in a call that nothing cancels
// (a FIFO nobody writes) holds up the polls, never the command, and
// watchStuck says so.
func (c *cli) pollFetch(ctx context.Context, s *settings, sources []fetch.Source) ([]fetch.Secret, error) {
	timeout := pollTimeout(s)
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, startup.TimeoutError(timeout))
	defer cancel()
	return fetch.All(ctx, sources)
}

// recorder holds the log records of a poll, to be written later or not
// at all.
type recorder struct {
	mu      sync.Mutex
	records []recorded
}

type recorded struct {
	h slog.Handler
	r slog.Record
}

// reset forgets the records held.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = r.records[:0]
}

// replay writes the records held at level least or above, through the
// handlers they came to, and forgets them all. With seen, it writes only
// records whose message is not in seen, and adds theirs to it.
func (r *recorder) replay(ctx context.Context, least slog.Level, seen map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.records {
		if rec.r.Level < least || seen[rec.r.Message] {
			continue
		}
		if seen != nil {
			seen[rec.r.Message] = true
		}
		rec.h.Handle(ctx, rec.r)
	}
	r.records = nil
}

// recordHandler is a slog.Handler that records what h would write.
type recordHandler struct {
	rec *recorder
	h   slog.Handler
}

func (h recordHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	h.rec.records = append(h.rec.records, recorded{h: h.h, r: r.Clone()})
	return nil
}

func (h recordHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return recordHandler{rec: h.rec, h: h.h.WithAttrs(attrs)}
}

func (h recordHandler) WithGroup(name string) slog.Handler {
	return recordHandler{rec: h.rec, h: h.h.WithGroup(name)}
}
