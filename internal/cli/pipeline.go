package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/fusebase"
	"github.com/secretexec/secretexec/inject"
	"github.com/secretexec/secretexec/internal/logging"
	"github.com/secretexec/secretexec/internal/redact"
	"github.com/secretexec/secretexec/internal/startup"
	"github.com/secretexec/secretexec/manifest"
)

// testOnlyRetryWait, when the test build sets it (-ldflags -X), replaces
// the backoff's first wait and cap, so that the scripts do not sleep for
// real seconds. Retry-After is honoured as the server sends it.
var testOnlyRetryWait = ""

// testOnlyHeaderWait, set like testOnlyRetryWait, replaces the least wait
// for an answer's headers (see fetch.Client.HeaderWait).
var testOnlyHeaderWait = ""

// prepared is the outcome of fetching and validating.
type prepared struct {
	secrets []inject.Secret // the ones the command gets, as it gets them
	sources []string
	report  *manifest.Report
	env     *inject.Result
	copyErr error // the --fallback copy could not be written
	// manifest and fixed are what the set was checked and mapped with,
	// for the --watch polls to use the same.
	manifest *manifest.Manifest
	fixed    map[string]string
}

// prepare fetches the secrets, checks them against the manifest and
// assembles the command's environment. Every validation problem is
// reported at once, in one error.
func (c *cli) prepare(ctx context.Context, s *settings) (*prepared, error) {
	if remote(s) {
		c.intr.Start() // in the background, while the manifest is read
	}
	m, fixed, err := c.loadManifest(s)
	if err != nil {
		return nil, err
	}
	sources, err := c.sources(s)
	if err != nil {
		return nil, err
	}
	return c.prepareFrom(ctx, s, m, fixed, sources)
}

// prepareFrom is prepare with the manifest, the sidecar's fixed variables
// and the sources read already: a --watch poll reads them once, for all
// its polls.
func (c *cli) prepareFrom(ctx context.Context, s *settings, m *manifest.Manifest, fixed map[string]string, sources []fetch.Source) (*prepared, error) {
	fb, err := c.fallbackFor(s, sources)
	if err != nil {
		return nil, err
	}
	p := &prepared{manifest: m, fixed: fixed}
	for _, src := range sources {
		p.sources = append(p.sources, src.Name())
	}
	counted := make([]fetch.Source, len(sources))
	for i, src := range sources {
		_, network := src.(*fusebase.Source)
		counted[i] = &countingSource{Source: src, network: network, keep: network && fb != nil}
	}
	var secrets []fetch.Secret
	if fb == nil {
		secrets, err = c.fetch(ctx, s, counted)
	} else {
		var fromCopy bool
		secrets, fromCopy, err = c.fetchFallback(ctx, s, fb, counted)
		if fromCopy {
			for _, i := range fb.index {
				p.sources[i] += " (fallback copy)"
			}
		}
	}
	if err != nil {
		return nil, err
	}

	verbose := c.log.Enabled(ctx, slog.LevelDebug)
	values := make([]manifest.Value, len(secrets))
	for i, sec := range secrets {
		values[i] = manifest.Value{Key: sec.Key, Value: sec.Value, Description: redact.Printable(sec.Description), Source: sec.Source}
		if verbose {
			c.log.Debug("fetched", "key", sec.Key, "source", sec.Source, "empty", sec.Value == "")
		}
	}
	report, given := manifest.Check(m, values)
	if !s.Override.v {
		inheritedWins(report, c.environ)
	}
	p.report = report
	unsetErr := p.report.Err()
	emptyErr := c.emptySources(counted, m, unsetErr)
	for _, name := range report.Dropped {
		c.log.Debug("not passed to the command", "key", name)
	}

	pass := make([]inject.Secret, 0, len(given))
	for _, v := range given {
		if _, ok := fixed[v.Key]; ok {
			c.log.Debug("the sidecar's env wins over the secret of the same name", "key", v.Key)
			continue
		}
		pass = append(pass, inject.Secret{Key: v.Key, Value: v.Value})
	}
	p.secrets = pass
	p.env, err = inject.Environ(withEnv(c.environ, fixed), pass, inject.Options{NoOverride: !s.Override.v, Strip: stripped})
	if err := errors.Join(emptyErr, unsetErr, err); err != nil {
		return p, withHints(err, c.unsetHints(sources, unsetErr)...)
	}
	for _, name := range p.env.Overridden {
		if !s.Override.v {
			c.log.Debug("the inherited variable wins over the secret of the same name (--no-override)", "key", name)
		} else {
			c.log.Warn(fmt.Sprintf("secret %s replaces the inherited variable of the same name", name),
				logging.Hints("--no-override keeps inherited values"))
		}
	}
	for _, name := range p.env.NonPortable {
		c.log.Warn(fmt.Sprintf("secret %s is not a portable variable name; shells cannot read it", manifest.DisplayKey(name)))
	}
	// The set passed its checks: the last known good. A --watch poll
	// leaves the warning to the watcher, which gives one per streak of
	// failed writes rather than one a poll.
	if p.copyErr = fb.keep(c.log, counted); p.copyErr != nil && !c.polling {
		c.log.Warn("the fallback copy is not updated: " + p.copyErr.Error())
	}
	return p, nil
}

// inheritedWins checks, under --no-override, each key a source holds as
// the command will get it: where a variable of the name the command sees
// the key under is inherited, that value wins over the secret and decides
// whether the key is set. That name is NAME of FROM as NAME: an inherited
// FROM keeps nothing out.
func inheritedWins(r *manifest.Report, environ []string) {
	for i := range r.Entries {
		e := &r.Entries[i]
		if e.Status == manifest.Missing {
			continue
		}
		if v, ok := lookup(environ, e.Target()); ok {
			e.Status = manifest.Set
			if v == "" {
				e.Status = manifest.Empty
			}
		}
	}
}

// withEnv returns environ with the variables of env set: one already
// there takes the new value in its place, the others follow, sorted, so
// that the order stays deterministic. It returns environ itself when env
// is empty.
func withEnv(environ []string, env map[string]string) []string {
	if len(env) == 0 {
		return environ
	}
	out := make([]string, 0, len(environ)+len(env))
	done := make(map[string]bool, len(env))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if v, ok := env[name]; ok {
			if !done[name] {
				out = append(out, name+"="+v)
				done[name] = true
			}
			continue
		}
		out = append(out, kv)
	}
	var rest []string
	for name := range env {
		if !done[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range rest {
		out = append(out, name+"="+env[name])
	}
	return out
}

// emptySources deals with sources that returned no secrets. An empty
// mount or file is more often a mistake than an intent: a warning. An
// empty answer from the store fails the run, unless a manifest was found
// and every key it requires is set: a store that answers with nothing is
// more often broken, or asked about the wrong app, than empty.
func (c *cli) emptySources(sources []fetch.Source, m *manifest.Manifest, unset error) error {
	var failed []string
	for _, src := range sources {
		cs := src.(*countingSource)
		if cs.n > 0 {
			continue
		}
		if cs.network && (m == nil || len(m.Keys) == 0 || unset != nil) {
			failed = append(failed, src.Name())
			continue
		}
		c.log.Warn(fmt.Sprintf("%s holds no secrets", src.Name()))
	}
	if len(failed) == 0 {
		return nil
	}
	return &validationError{err: fmt.Errorf("%s answered with no secrets at all", strings.Join(failed, ", "))}
}

// lookup returns the value of the variable name in environ.
func lookup(environ []string, name string) (string, bool) {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// remote reports whether any source sends a request, rather than read
// local files.
func remote(s *settings) bool {
	for _, spec := range s.From.v {
		if !strings.HasPrefix(spec, "file:") && !strings.HasPrefix(spec, "dir:") {
			return true
		}
	}
	return false
}

// fetch fetches the sources with startup.Fetch. An interrupt must cancel
// a request, so the interrupts are armed before one is sent; local sources
// arm them only if they turn out slow.
func (c *cli) fetch(ctx context.Context, s *settings, sources []fetch.Source) ([]fetch.Secret, error) {
	if c.polling {
		return c.pollFetch(ctx, s, sources)
	}
	arm := c.intr.Arm
	if remote(s) {
		c.intr.Arm()
		arm = nil
	}
	var secrets []fetch.Secret
	err := startup.Fetch(ctx, s.Timeout.v, func(ctx context.Context) error {
		var err error
		secrets, err = fetch.All(ctx, sources)
		return err
	}, arm, func(err error) {
		var te startup.TimeoutError
		if errors.As(err, &te) {
			err = &fetch.Error{Kind: fetch.Unavailable, Source: "fetch", Err: err}
		}
		c.exit(err)
	})
	return secrets, err
}

// countingSource counts what a source returned, to tell an empty one, and
// keeps a network source's answer for the fallback copy.
type countingSource struct {
	fetch.Source
	n int
	// network is set for a source fetched over the network (or the
	// fallback copy standing in for one).
	network bool
	// keep asks to keep the answer in kept: fetch.All may merge into the
	// slice a source returns.
	keep bool
	kept []fetch.Secret
}

func (s *countingSource) Fetch(ctx context.Context) ([]fetch.Secret, error) {
	secrets, err := s.Source.Fetch(ctx)
	s.n = len(secrets)
	if s.keep {
		s.kept = slices.Clone(secrets)
	}
	return secrets, err
}

// stripped reports whether an inherited variable must not reach the command:
// secretexec's own settings, and the credential that reads every secret.
func stripped(name string) bool {
	return strings.HasPrefix(name, "SECRETEXEC_") || name == "FUSEBASE_API_KEY"
}

// requiredKeys parses the --require or SECRETEXEC_REQUIRE entries.
func (s *settings) requiredKeys() ([]manifest.Key, error) {
	origin := "--require"
	if s.Require.from == byVariable {
		origin = "SECRETEXEC_REQUIRE"
	}
	var keys []manifest.Key
	for i, entry := range s.Require.v {
		k, err := manifest.ParseKey(entry)
		if err != nil {
			return nil, configf("%s, entry %d: %v", origin, i+1, err)
		}
		k.File = origin
		keys = append(keys, k)
	}
	return keys, nil
}

// loadManifest reads the manifests (DESIGN.md, "Which manifests"): the
// one named by --manifest, else each secrets.manifest of the project root,
// the selected app's folder, its backend/ folder and the working directory,
// and adds the --require keys. It returns nil when none names a key. With
// --sidecar the sidecar's entry is the manifest instead, and its fixed env
// is returned too.
func (c *cli) loadManifest(s *settings) (*manifest.Manifest, map[string]string, error) {
	if s.Sidecar.from != byDefault {
		return c.sidecar(s)
	}
	m, err := c.readManifests(s)
	return m, nil, err
}

// sidecar reads --sidecar NAME (DESIGN.md, "Sidecars"): the entry NAME of
// the selected app's backend.sidecars[] or of one of its backend.jobs[]'s
// sidecars[] in fusebase.json. Its secrets become a manifest, every key
// required and the command getting those alone, and its env is returned
// for the command. The sidecar's list is the whole manifest, so
// --manifest and --require cannot go with it.
func (c *cli) sidecar(s *settings) (*manifest.Manifest, map[string]string, error) {
	name := originName(s.Sidecar.from, "--sidecar", "SECRETEXEC_SIDECAR")
	switch {
	case s.Manifest.from != byDefault:
		return nil, nil, usagef("%s cannot go with %s: the sidecar's secrets are its manifest",
			name, originName(s.Manifest.from, "--manifest", "SECRETEXEC_MANIFEST"))
	case len(s.Require.v) > 0:
		return nil, nil, usagef("%s cannot go with %s: the sidecar's secrets are its manifest",
			name, originName(s.Require.from, "--require", "SECRETEXEC_REQUIRE"))
	}
	wd, _ := os.Getwd()
	p, err := fusebase.FindProject(wd)
	if err != nil {
		return nil, nil, withHints(configf("%s: %w", name, err),
			"--sidecar reads the app's sidecars from fusebase.json: run in the project's folder or one below it")
	}
	app, err := p.Pick(s.App.v, wd)
	if err != nil {
		var appErr *fusebase.AppError
		if errors.As(err, &appErr) && len(appErr.Apps) > 0 {
			err = withHints(err, "pick the app with --app ID or SECRETEXEC_APP, or run in its folder")
		}
		return nil, nil, &configError{err: err}
	}
	sc, err := p.Sidecar(app, s.Sidecar.v)
	if err != nil {
		return nil, nil, &configError{err: err}
	}
	m, err := sc.Manifest()
	if err != nil {
		return nil, nil, &configError{err: err}
	}
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		env := slices.Sorted(maps.Keys(sc.Env))
		c.log.Debug("sidecar", "name", sc.Name, "job", sc.Job, "file", p.File, "keys", len(m.Keys), "env", env)
	}
	return m, sc.Env, nil
}

// originName returns the name of a setting as the user gave it: its flag,
// or its variable.
func originName(f from, flag, variable string) string {
	if f == byVariable {
		return variable
	}
	return flag
}

// readManifests reads the manifests and the --require keys, as
// loadManifest says.
func (c *cli) readManifests(s *settings) (*manifest.Manifest, error) {
	keys, err := s.requiredKeys()
	if err != nil {
		return nil, err
	}
	var paths []string
	if s.Manifest.v != "" {
		paths = []string{s.Manifest.v}
	} else {
		wd, _ := os.Getwd()
		root, app := "", ""
		if p, err := fusebase.FindProject(wd); err == nil {
			root = p.Root()
			if a, err := p.Pick(s.App.v, wd); err == nil {
				app = a.Path
			}
		}
		if paths, err = manifest.Find(root, app, wd); err != nil {
			return nil, &configError{err: err}
		}
	}
	var m *manifest.Manifest
	if len(paths) > 0 {
		if m, err = manifest.Load(paths...); err != nil {
			var syntax *manifest.SyntaxError
			if errors.As(err, &syntax) {
				return nil, err
			}
			return nil, &configError{err: err}
		}
		c.log.Debug("manifest", "paths", paths, "keys", len(m.Keys))
	}
	if len(keys) > 0 {
		if m == nil {
			m = &manifest.Manifest{}
		}
		if err := m.Add(keys...); err != nil {
			return nil, &configError{err: err}
		}
	}
	if s.OnlyManifest.v {
		if m == nil {
			return nil, configf("--only-manifest needs a manifest or --require keys")
		}
		m.Only = true
	}
	return m, nil
}

// sources builds the sources named by --from, in merge order.
func (c *cli) sources(s *settings) ([]fetch.Source, error) {
	var out []fetch.Source
	for _, spec := range s.From.v {
		switch {
		case strings.HasPrefix(spec, "file:"):
			out = append(out, &fetch.File{Path: strings.TrimPrefix(spec, "file:")})
		case strings.HasPrefix(spec, "dir:"):
			out = append(out, &fetch.Dir{Path: strings.TrimPrefix(spec, "dir:")})
		default:
			// fusebase, or an endpoint URL, which behaves like --url.
			o := c.fusebaseOptions(s)
			if spec != "fusebase" {
				o.URL = spec
			}
			src, err := fusebase.NewSource(o, c.client(s))
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
func (c *cli) fusebaseOptions(s *settings) fusebase.Options {
	dir, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	return fusebase.Options{
		Dir:    dir,
		Home:   home,
		URL:    s.URL.v,
		App:    s.App.v,
		APIURL: s.APIURL.v,
		Env:    s.Env.v,
		APIKey: s.APIKey.v,
	}
}

// client returns the HTTP settings every endpoint of a run shares.
func (c *cli) client(s *settings) fetch.Client {
	cl := fetch.Client{Retries: s.Retries.v, Log: c.log, QuietRetries: c.polling, UserAgent: c.userAgent()}
	if d, err := time.ParseDuration(testOnlyRetryWait); err == nil {
		cl.RetryWait, cl.RetryWaitMax = d, 4*d
	}
	if d, err := time.ParseDuration(testOnlyHeaderWait); err == nil {
		cl.HeaderWait = d
	}
	cl.Transport = c.transport
	return cl
}
