package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/fusebase"
	"github.com/secretexec/secretexec/inject"
	"github.com/secretexec/secretexec/internal/logging"
	"github.com/secretexec/secretexec/internal/oserr"
	"github.com/secretexec/secretexec/manifest"
)

// version is stamped in release builds with -ldflags "-X main.version=v1.2.3";
// otherwise the module version from the build info is used.
var version = ""

// run dispatches on the subcommand.
func (c *cli) run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version", "-version":
			if len(args) > 1 {
				return usagef("version takes no arguments")
			}
			fmt.Fprintln(c.stdout, versionString())
			return nil
		case "help":
			io.WriteString(c.stdout, usageText)
			return nil
		case "check":
			return c.check(ctx, args[1:])
		case "lint":
			return c.lint(ctx, args[1:])
		}
	}
	cfg, err := c.configure("", args)
	if err != nil || cfg == nil {
		return err
	}
	if len(cfg.Command) == 0 {
		return usagef("no command to run: secretexec [flags] -- COMMAND [ARG...]")
	}
	// Resolve the command first, so a typo fails at once rather than after
	// a fetch; it is resolved again below if a secret changes PATH.
	path, err := inject.LookPath(cfg.Command[0], c.environ)
	if err != nil {
		return err
	}
	start := time.Now()
	p, err := c.prepare(ctx, cfg)
	if err != nil {
		return err
	}
	if inject.PathOf(p.env.Env) != inject.PathOf(c.environ) {
		if path, err = inject.LookPath(cfg.Command[0], p.env.Env); err != nil {
			return err
		}
	}
	logging.Print(ctx, c.log, slog.LevelInfo, fmt.Sprintf("%s from %s in %s; running %s",
		plural(len(p.secrets), "secret"), strings.Join(p.sources, ", "),
		roundDuration(time.Since(start)), quoteCommand(cfg.Command)))
	if cfg.Init {
		return c.supervise(ctx, path, cfg.Command, p.env.Env)
	}
	c.stopSignals()
	if err := context.Cause(ctx); err != nil {
		return err // interrupted between the fetch and the exec
	}
	return inject.Exec(path, cfg.Command, p.env.Env)
}

// supervise runs the command as a child under --init and returns its
// status as an *exitStatus. The interrupt handler listens until the
// supervisor does: the supervisor starts listening, then the handler
// stops, and an interrupt caught by then starts no child.
func (c *cli) supervise(ctx context.Context, path string, argv, env []string) error {
	if err := context.Cause(ctx); err != nil {
		return err // interrupted between the fetch and the start
	}
	gcOn() // the supervisor lives as long as the command
	code, err := inject.SuperviseAfter(path, argv, env, c.log, func() error {
		if c.handOffSignals != nil {
			c.handOffSignals()
		}
		return context.Cause(ctx)
	})
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitStatus{code: code}
	}
	return nil
}

// configure parses the flags and variables and sets up logging. It returns
// a nil config and nil error when it printed the help.
func (c *cli) configure(sub string, args []string) (*config, error) {
	var warnings []string
	cfg, err := parseConfig(sub, args, func(w string) { warnings = append(warnings, w) })
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(c.stdout, usageText)
		return nil, nil
	}
	if cfg != nil {
		level := cfg.LogLevel
		if cfg.Quiet {
			level = slog.LevelError
		}
		c.log = logging.New(c.stderr, cfg.LogFormat, level)
	} else if wantsJSON(args) {
		// The settings did not parse, but the error should still come in
		// the format a log collector expects.
		c.log = logging.New(c.stderr, "json", slog.LevelInfo)
	}
	for _, w := range warnings {
		c.log.Warn(w)
	}
	return cfg, err
}

// wantsJSON guesses from the raw arguments and variable whether json logs
// were asked for, for errors found before the settings parsed.
func wantsJSON(args []string) bool {
	for i, a := range args {
		if a == "--" {
			break
		}
		switch a {
		case "--log-format=json", "-log-format=json":
			return true
		case "--log-format", "-log-format":
			if i+1 < len(args) && args[i+1] == "json" {
				return true
			}
		}
	}
	return os.Getenv("SECRETEXEC_LOG_FORMAT") == "json"
}

// prepared is the outcome of fetching and validating.
type prepared struct {
	secrets []fetch.Secret // the ones the command gets
	sources []string
	report  *manifest.Report
	env     *inject.Result
}

// prepare fetches the secrets, checks them against the manifest and
// assembles the command's environment. Every validation problem is
// reported at once, in one error.
func (c *cli) prepare(ctx context.Context, cfg *config) (*prepared, error) {
	if remote(cfg) {
		c.startSignals() // in the background, while the manifest is read
	}
	m, err := c.loadManifest(cfg)
	if err != nil {
		return nil, err
	}
	sources, err := c.sources(cfg)
	if err != nil {
		return nil, err
	}
	p := &prepared{}
	for _, s := range sources {
		p.sources = append(p.sources, s.Name())
	}
	defer func(start time.Time) {
		c.log.Debug("fetch done", "sources", len(sources), "duration", time.Since(start))
	}(time.Now())
	counted := make([]fetch.Source, len(sources))
	for i, src := range sources {
		counted[i] = &countingSource{Source: src}
	}
	secrets, err := c.fetch(ctx, cfg, counted)
	if err != nil {
		return nil, err
	}
	for _, src := range counted {
		if src.(*countingSource).n == 0 {
			c.log.Warn(fmt.Sprintf("%s holds no secrets", src.Name()))
		}
	}

	verbose := c.log.Enabled(ctx, slog.LevelDebug)
	values := make([]manifest.Value, len(secrets))
	for i, s := range secrets {
		values[i] = manifest.Value{Key: s.Key, Value: s.Value, Description: s.Description, Source: s.Source}
		if verbose {
			c.log.Debug("fetched", "key", s.Key, "source", s.Source, "empty", s.Value == "")
		}
	}
	report, given := manifest.Check(m, values)
	p.report = report
	unsetErr := p.report.Err()

	pass := make([]inject.Secret, 0, len(given))
	p.secrets = make([]fetch.Secret, 0, len(given))
	for _, s := range given {
		pass = append(pass, inject.Secret{Key: s.Key, Value: s.Value})
		p.secrets = append(p.secrets, fetch.Secret{Key: s.Key, Value: s.Value, Description: s.Description, Source: s.Source})
	}
	p.env, err = inject.Environ(c.environ, pass, inject.Options{NoOverride: cfg.NoOverride, Strip: stripped})
	if err := errors.Join(unsetErr, err); err != nil {
		return p, withHints(err, c.unsetHints(cfg, sources, unsetErr)...)
	}
	for _, name := range p.env.Overridden {
		if cfg.NoOverride {
			c.log.Debug("the inherited variable wins over the secret of the same name (--no-override)", "key", name)
		} else {
			c.log.Warn(fmt.Sprintf("secret %s replaces the inherited variable of the same name", name),
				logging.Hints("--no-override keeps inherited values"))
		}
	}
	for _, name := range p.env.NonPortable {
		c.log.Warn(fmt.Sprintf("secret %q is not a portable variable name; shells cannot read it", name))
	}
	return p, nil
}

// remote reports whether any source of cfg sends a request, rather than
// read local files.
func remote(cfg *config) bool {
	for _, spec := range cfg.From {
		if !strings.HasPrefix(spec, "file:") && !strings.HasPrefix(spec, "dir:") {
			return true
		}
	}
	return false
}

// fetch fetches the sources with fetchAll. An interrupt must cancel a
// request, so the signals are armed before one is sent; local sources arm
// them only if they turn out slow (see interrupts).
func (c *cli) fetch(ctx context.Context, cfg *config, sources []fetch.Source) ([]fetch.Secret, error) {
	if remote(cfg) {
		c.armSignals()
		return fetchAll(ctx, cfg.Timeout, sources, nil, c.exit)
	}
	return fetchAll(ctx, cfg.Timeout, sources, c.armSignals, c.exit)
}

// countingSource counts what a source returned, to warn of an empty one:
// an empty mount or file is more often a mistake than an intent.
type countingSource struct {
	fetch.Source
	n int
}

func (s *countingSource) Fetch(ctx context.Context) ([]fetch.Secret, error) {
	secrets, err := s.Source.Fetch(ctx)
	s.n = len(secrets)
	return secrets, err
}

// fetchGrace is how long a stuck fetch gets, once the deadline has passed,
// to return its own, more precise error.
const fetchGrace = 200 * time.Millisecond

// fetchAll fetches every source within timeout, on the calling goroutine:
// a fetch on a goroutine of its own cost a handoff between threads, some
// 60 µs. A source can be stuck in a call that no context cancels, such as
// opening a FIFO that nobody writes, so a fetch that takes armDelay gets a
// watchdog: it calls arm, if not nil, and should the time run out or an
// interrupt arrive while the fetch is still stuck, it ends the run itself
// through exit.
func fetchAll(ctx context.Context, timeout time.Duration, sources []fetch.Source, arm func(), exit func(error)) ([]fetch.Secret, error) {
	fetchCtx, cancel := context.WithTimeoutCause(ctx, timeout, timeoutError(timeout))
	defer cancel()
	w := &watchdog{returned: make(chan struct{})}
	timer := time.AfterFunc(armDelay, func() { w.watch(ctx, fetchCtx, arm, exit) })
	secrets, err := fetch.All(fetchCtx, sources)
	timer.Stop()
	w.finish()
	if cause := context.Cause(ctx); cause != nil {
		return nil, cause // an interrupt wins over the error it caused
	}
	return secrets, err
}

// timeoutError is the cause of a fetch that ran out of time. It formats
// its message only when asked: fmt.Errorf, on a run's first use of fmt,
// cost some 12 µs every run to say something that is rarely read.
type timeoutError time.Duration

func (t timeoutError) Error() string {
	return "fetching took longer than the " + time.Duration(t).String() + " timeout"
}

// A watchdog ends a run whose fetch is stuck.
type watchdog struct {
	mu       sync.Mutex // held for good once the watchdog ends the run
	returned chan struct{}
}

// finish tells the watchdog that the fetch returned. Should the watchdog be
// ending the run, it never returns.
func (w *watchdog) finish() {
	w.mu.Lock()
	close(w.returned)
	w.mu.Unlock()
}

func (w *watchdog) watch(ctx, fetchCtx context.Context, arm func(), exit func(error)) {
	if arm != nil {
		arm()
	}
	select {
	case <-w.returned:
		return
	case <-fetchCtx.Done():
	}
	if context.Cause(ctx) == nil {
		// The time is up, and not because of an interrupt: give the
		// sources a moment to say why.
		select {
		case <-w.returned:
			return
		case <-time.After(fetchGrace):
		}
	}
	w.mu.Lock()
	select {
	case <-w.returned:
		w.mu.Unlock()
		return
	default:
	}
	err := context.Cause(ctx) // an interrupt
	if err == nil {
		err = &fetch.Error{Kind: fetch.Unavailable, Source: "fetch", Err: context.Cause(fetchCtx)}
	}
	exit(err)
}

// stripped reports whether an inherited variable must not reach the command:
// secretexec's own settings, and the credential that reads every secret.
func stripped(name string) bool {
	return strings.HasPrefix(name, "SECRETEXEC_") || name == "FUSEBASE_API_KEY"
}

// unsetHints says how to fix required keys that are unset. Keys a
// Fusebase app lacks get the one `fusebase secret create` line that
// registers them all; keys it holds empty are named with the app whose
// values to fill in.
func (c *cli) unsetHints(cfg *config, sources []fetch.Source, err error) []string {
	var unset *manifest.UnsetError
	if !errors.As(err, &unset) {
		return nil
	}
	var names []string
	apps := make(map[string]*fetch.HTTP) // by source name
	var app *fetch.HTTP                  // the last, which wins the merge
	for _, s := range sources {
		names = append(names, s.Name())
		if h, ok := s.(*fetch.HTTP); ok && h.AppID() != "" {
			apps[s.Name()], app = h, h
		}
	}
	var hints []string
	if missing := unset.Missing(); len(missing) > 0 {
		if app != nil {
			keys := make([]fusebase.KeyDescription, len(missing))
			for i, e := range missing {
				keys[i] = fusebase.KeyDescription{Key: e.Key, Description: e.Description}
			}
			hints = append(hints,
				fmt.Sprintf("register %s in app %s, then fill in the values on the Fusebase website:", keyList(missing), app.AppID()),
				"  "+fusebase.CreateCommand(app.AppID(), keys))
		} else {
			hints = append(hints, fmt.Sprintf("add %s to %s", keyList(missing), strings.Join(names, " or ")))
		}
	}
	if empty := unset.Empty(); len(empty) > 0 {
		var inApps, elsewhere []manifest.Entry
		for _, e := range empty {
			if apps[e.Source] != nil {
				inApps = append(inApps, e)
			} else {
				elsewhere = append(elsewhere, e)
			}
		}
		for _, name := range sourceNames(inApps) {
			h := apps[name]
			var keys []manifest.Entry
			for _, e := range inApps {
				if e.Source == name {
					keys = append(keys, e)
				}
			}
			where := "app " + h.AppID()
			if p := h.Project(); p != nil && p.OrgID != "" {
				where += " of org " + p.OrgID
			}
			verb := "is"
			if len(keys) > 1 {
				verb = "are"
			}
			hints = append(hints, fmt.Sprintf("%s %s registered in Fusebase without a value: fill %s in on the Fusebase website (%s, Secrets), or mark %s optional in the manifest (KEY?)",
				keyList(keys), verb, pronoun(len(keys)), where, pronoun(len(keys))))
		}
		if len(elsewhere) > 0 {
			hints = append(hints, fmt.Sprintf("give %s a value in %s, or mark %s optional in the manifest (KEY?)",
				keyList(elsewhere), sourcesOf(elsewhere), pronoun(len(elsewhere))))
		}
	}
	return hints
}

// sourceNames returns the distinct sources of entries, in order.
func sourceNames(entries []manifest.Entry) []string {
	var names []string
	seen := make(map[string]bool)
	for _, e := range entries {
		if !seen[e.Source] {
			seen[e.Source] = true
			names = append(names, e.Source)
		}
	}
	return names
}

func keyList(entries []manifest.Entry) string {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = manifest.DisplayKey(e.Key)
	}
	return strings.Join(names, ", ")
}

func sourcesOf(entries []manifest.Entry) string {
	return strings.Join(sourceNames(entries), ", ")
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// loadManifest reads the manifest, if any, and adds the --require keys.
// It returns nil when neither names a key.
func (c *cli) loadManifest(cfg *config) (*manifest.Manifest, error) {
	keys, err := cfg.requiredKeys()
	if err != nil {
		return nil, err
	}
	path := cfg.Manifest
	if path == "" {
		path = "secrets.manifest"
	}
	var m *manifest.Manifest
	f, err := os.Open(path)
	switch {
	case err == nil:
		defer f.Close()
		m, err = manifest.Parse(f, path)
		var syntax *manifest.SyntaxError
		if err != nil && !errors.As(err, &syntax) {
			return nil, &configError{err: fmt.Errorf("manifest %w", err)}
		}
		if err != nil {
			return nil, err
		}
		c.log.Debug("manifest", "path", path, "keys", len(m.Keys))
	case cfg.ManifestGiven || !errors.Is(err, fs.ErrNotExist):
		return nil, configf("manifest %s: %v", path, oserr.Cause(err))
	}
	if len(keys) > 0 {
		if m == nil {
			m = &manifest.Manifest{}
		}
		if err := m.Add(keys...); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// sources builds the sources named by --from, in merge order.
func (c *cli) sources(cfg *config) ([]fetch.Source, error) {
	var out []fetch.Source
	for _, spec := range cfg.From {
		switch {
		case strings.HasPrefix(spec, "file:"):
			out = append(out, &fetch.File{Path: strings.TrimPrefix(spec, "file:")})
		case strings.HasPrefix(spec, "dir:"):
			out = append(out, &fetch.Dir{Path: strings.TrimPrefix(spec, "dir:")})
		default:
			// fusebase, or an endpoint URL, which behaves like --url.
			o := c.fusebaseOptions(cfg)
			if spec != "fusebase" {
				o.URL = spec
			}
			src, err := fetch.NewFusebase(o, c.client(cfg))
			if err != nil {
				return nil, err
			}
			out = append(out, src)
		}
	}
	return out, nil
}

// fusebaseOptions gathers what the Fusebase source needs to know of the
// process: the working and home directories and the settings.
func (c *cli) fusebaseOptions(cfg *config) fusebase.Options {
	dir, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	return fusebase.Options{
		Dir:    dir,
		Home:   home,
		URL:    cfg.URL,
		App:    cfg.App,
		APIURL: cfg.APIURL,
		Env:    cfg.FusebaseEnv,
		APIKey: cfg.APIKey,
	}
}

// testOnlyRetryWait, when the test build sets it (-ldflags -X), replaces
// the backoff's first wait and cap, so that the scripts do not sleep for
// real seconds. Retry-After is honoured as the server sends it.
var testOnlyRetryWait = ""

// testOnlyHeaderWait, set like testOnlyRetryWait, replaces the least wait
// for an answer's headers (see fetch.Client.HeaderWait).
var testOnlyHeaderWait = ""

// client returns the HTTP settings every endpoint of a run shares.
func (c *cli) client(cfg *config) fetch.Client {
	cl := fetch.Client{Retries: cfg.Retries, Log: c.log}
	if d, err := time.ParseDuration(testOnlyRetryWait); err == nil {
		cl.RetryWait, cl.RetryWaitMax = d, 4*d
	}
	if d, err := time.ParseDuration(testOnlyHeaderWait); err == nil {
		cl.HeaderWait = d
	}
	return cl
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// quoteCommand renders argv for a log line, quoting words a shell would split.
func quoteCommand(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`") {
			a = strconv.Quote(a)
		}
		words[i] = a
	}
	return strings.Join(words, " ")
}

// versionString is the version line: the stamped or module version, the Go
// version and the platform.
func versionString() string {
	v := version
	if v == "" {
		v = "(devel)"
		if info, ok := debug.ReadBuildInfo(); ok {
			if info.Main.Version != "" {
				v = info.Main.Version
			}
			if v == "(devel)" {
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						v += " " + s.Value[:12]
					}
				}
			}
		}
	}
	return fmt.Sprintf("secretexec %s (%s %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
