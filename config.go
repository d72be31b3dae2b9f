package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/secretexec/secretexec/internal/redact"
	"github.com/secretexec/secretexec/manifest"
)

// config is one invocation's settings. Each comes from a flag, else its
// variable, else a Fusebase file, else the default.
type config struct {
	From        []string // source specs, in merge order
	FromGiven   bool     // From was named, not the default; lint fetches only then
	URL         string
	App         string
	APIURL      string
	APIKey      string // FUSEBASE_API_KEY, never a flag
	FusebaseEnv string // FUSEBASE_ENV
	Manifest    string
	// ManifestGiven is true when the manifest was named, so it must exist;
	// the default ./secrets.manifest is used only if it is there.
	ManifestGiven bool
	Require       []string // KEY[:desc] entries, checked when they are used
	RequireOrigin string   // "--require" or "SECRETEXEC_REQUIRE"
	Timeout       time.Duration
	Retries       int
	NoOverride    bool
	Init          bool
	LogLevel      slog.Level
	LogFormat     string
	Quiet         bool
	Format        string // check's report: table or json; lint's: text or json
	Strict        bool   // lint: warnings fail too

	// Command is the command and its arguments.
	Command []string
}

// envSettings are secretexec's own variables, read with envconfig. A nil
// field is a variable that is not set.
type envSettings struct {
	From      []string       `envconfig:"SECRETEXEC_FROM"`
	URL       *string        `envconfig:"SECRETEXEC_URL"`
	App       *string        `envconfig:"SECRETEXEC_APP"`
	Manifest  *string        `envconfig:"SECRETEXEC_MANIFEST"`
	Require   []string       `envconfig:"SECRETEXEC_REQUIRE"`
	Timeout   *time.Duration `envconfig:"SECRETEXEC_TIMEOUT"`
	Retries   *int           `envconfig:"SECRETEXEC_RETRIES"`
	Override  *bool          `envconfig:"SECRETEXEC_OVERRIDE"`
	Init      *bool          `envconfig:"SECRETEXEC_INIT"`
	LogLevel  *string        `envconfig:"SECRETEXEC_LOG_LEVEL"`
	LogFormat *string        `envconfig:"SECRETEXEC_LOG_FORMAT"`
	Quiet     *bool          `envconfig:"SECRETEXEC_QUIET"`
}

// fusebaseSettings are the variables secretexec shares with the Fusebase CLI.
type fusebaseSettings struct {
	APIKey *string `envconfig:"FUSEBASE_API_KEY"`
	APIURL *string `envconfig:"FUSEBASE_API_URL"`
	Env    *string `envconfig:"FUSEBASE_ENV"`
}

// flagVariables maps each flag to the variable it overrides.
var flagVariables = map[string]string{
	"from": "SECRETEXEC_FROM", "url": "SECRETEXEC_URL", "app": "SECRETEXEC_APP",
	"feature": "SECRETEXEC_APP", "manifest": "SECRETEXEC_MANIFEST",
	"require": "SECRETEXEC_REQUIRE", "timeout": "SECRETEXEC_TIMEOUT",
	"retries": "SECRETEXEC_RETRIES", "no-override": "SECRETEXEC_OVERRIDE",
	"init": "SECRETEXEC_INIT", "log-level": "SECRETEXEC_LOG_LEVEL",
	"log-format": "SECRETEXEC_LOG_FORMAT", "q": "SECRETEXEC_QUIET",
	"quiet": "SECRETEXEC_QUIET", "api-url": "FUSEBASE_API_URL",
}

// ownVariables lists every SECRETEXEC_ variable, to warn of a misspelt one.
var ownVariables = []string{
	"SECRETEXEC_FROM", "SECRETEXEC_URL", "SECRETEXEC_APP", "SECRETEXEC_MANIFEST",
	"SECRETEXEC_REQUIRE", "SECRETEXEC_TIMEOUT", "SECRETEXEC_RETRIES",
	"SECRETEXEC_OVERRIDE", "SECRETEXEC_INIT", "SECRETEXEC_LOG_LEVEL",
	"SECRETEXEC_LOG_FORMAT", "SECRETEXEC_QUIET",
}

const usageText = `Usage:
  secretexec [flags] -- COMMAND [ARG...]   run COMMAND with the secrets
  secretexec check [flags]                 fetch and validate, print a report, run nothing
  secretexec lint [flags] [DIR]            check an app tree against the Fusebase secrets checklist
  secretexec version                       print the version (also --version)

secretexec fetches the app's secrets, checks them against the required keys,
and replaces itself with COMMAND, the secrets in its environment. It starts
nothing unless every required secret is set.

Flags (and the variable each one overrides):
  --from SRC            SECRETEXEC_FROM (comma list)
        a source of secrets, repeatable, merged in order (a later one wins
        per key): fusebase, an https:// endpoint URL, file:PATH (JSON),
        dir:PATH (one file per key, as Docker and Kubernetes mount secrets)
        (default fusebase)
  --url URL             SECRETEXEC_URL
        the full Fusebase secrets endpoint (default: built from fusebase.json)
  --app ID              SECRETEXEC_APP
        which app of fusebase.json, by id or path (--feature is a deprecated alias)
  --api-url URL         FUSEBASE_API_URL
        the Fusebase API base URL (default: by the environment name in
        FUSEBASE_ENV, fusebase.json or ~/.fusebase/config.json, else prod)
                        FUSEBASE_API_KEY
        the Fusebase API key, never a flag (default: ~/.fusebase/config.json);
        the command never sees it
  --manifest PATH       SECRETEXEC_MANIFEST
        the required-key manifest (default ./secrets.manifest if it exists)
  --require KEY[:DESC]  SECRETEXEC_REQUIRE (comma list of keys)
        a required key, repeatable; KEY? makes it optional
  --timeout DUR         SECRETEXEC_TIMEOUT
        total time for all fetching, retries included (default 30s)
  --retries N           SECRETEXEC_RETRIES
        retries per source within that time (default 8)
  --no-override         SECRETEXEC_OVERRIDE=false
        an inherited variable keeps its value over a secret of the same name
  --init                SECRETEXEC_INIT
        stay as parent: forward signals, reap zombies, return the child's status
  --log-level LEVEL     SECRETEXEC_LOG_LEVEL
        debug, info, warn or error (default info)
  --log-format FORMAT   SECRETEXEC_LOG_FORMAT
        text or json (default text)
  -q, --quiet           SECRETEXEC_QUIET
        only errors
  --format FORMAT       check: table or json (default table); lint: text or json (default text)
  --strict              lint only: warnings fail too
  -h, --help            print this help

Exit codes: the command's own; 64 usage; 65 required secrets unset or
invalid; 69 store unavailable; 76 malformed answer; 77 permission denied;
78 configuration; 126 not executable; 127 not found; 128+n interrupted.
No secret value is ever printed.
`

// choice is a flag.Value holding one word of a fixed set.
type choice struct {
	value   string
	choices []string
}

func (c *choice) String() string { return c.value }

func (c *choice) Set(s string) error {
	for _, v := range c.choices {
		if s == v {
			c.value = s
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(c.choices, ", "))
}

// levelFlag is --log-level; it takes the names SECRETEXEC_LOG_LEVEL takes.
type levelFlag struct{ level slog.Level }

func (l *levelFlag) String() string { return l.level.String() }

func (l *levelFlag) Set(s string) (err error) {
	l.level, err = parseLevel(s)
	return err
}

// sourceList is the repeatable --from flag.
type sourceList []string

func (l *sourceList) String() string { return strings.Join(*l, ",") }

func (l *sourceList) Set(s string) error {
	if err := checkSourceSpec(s); err != nil {
		return err
	}
	*l = append(*l, s)
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// checkSourceSpec checks a --from value's form: one of the four schemes.
func checkSourceSpec(s string) error {
	switch {
	case s == "fusebase":
		return nil
	case strings.HasPrefix(s, "https://"), strings.HasPrefix(s, "http://"):
		return nil
	case strings.HasPrefix(s, "file:"), strings.HasPrefix(s, "dir:"):
		if len(s) == strings.Index(s, ":")+1 {
			return fmt.Errorf("%s needs a path", s)
		}
		return nil
	}
	return errors.New("want fusebase, an https:// URL, file:PATH or dir:PATH")
}

// parseLevel parses a log level name.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, errors.New("want debug, info, warn or error")
}

// parseConfig reads the flags in args, then the variables, for the named
// subcommand ("" for a run, "check", "lint"). It returns flag.ErrHelp for --help.
func parseConfig(sub string, args []string, warn func(string)) (*config, error) {
	fs := flag.NewFlagSet("secretexec", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	var (
		from       sourceList
		require    stringList
		logLevel   = &levelFlag{level: slog.LevelInfo}
		logFormat  = &choice{value: "text", choices: []string{"text", "json"}}
		format     = &choice{value: "table", choices: []string{"table", "json"}}
		strict     bool
		url        = fs.String("url", "", "")
		app        = fs.String("app", "", "")
		feature    = fs.String("feature", "", "")
		apiURL     = fs.String("api-url", "", "")
		manifestF  = fs.String("manifest", "", "")
		timeout    = fs.Duration("timeout", 30*time.Second, "")
		retries    = fs.Int("retries", 8, "")
		noOverride = fs.Bool("no-override", false, "")
		initF      = fs.Bool("init", false, "")
		quiet      bool
	)
	fs.Var(&from, "from", "")
	fs.Var(&require, "require", "")
	fs.Var(logLevel, "log-level", "")
	fs.Var(logFormat, "log-format", "")
	fs.BoolVar(&quiet, "q", false, "")
	fs.BoolVar(&quiet, "quiet", false, "")
	switch sub {
	case "check":
		fs.Var(format, "format", "")
	case "lint":
		format = &choice{value: "text", choices: []string{"text", "json"}}
		fs.Var(format, "format", "")
		fs.BoolVar(&strict, "strict", false, "")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usagef("%s", flagError(err))
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// A flag beats its variable, so a variable whose flag is set is not
	// read at all, not even to complain that it does not parse.
	for name := range set {
		if v := flagVariables[name]; v != "" {
			os.Unsetenv(v)
		}
	}
	env, fb, err := readVariables(warn)
	if err != nil {
		return nil, err
	}

	c := &config{
		Timeout:   *timeout,
		Retries:   *retries,
		LogFormat: logFormat.value,
		Quiet:     quiet,
		Format:    format.value,
		Strict:    strict,
		Init:      *initF,
	}
	c.LogLevel = logLevel.level

	// Each setting: the flag, else the variable, else the default.
	switch {
	case set["from"]:
		c.From = from
	case env.From != nil:
		for _, s := range env.From {
			s = strings.TrimSpace(s)
			if err := checkSourceSpec(s); err != nil {
				return nil, configf("SECRETEXEC_FROM: %q: %v", redact.URL(s), err)
			}
			c.From = append(c.From, s)
		}
	}
	c.FromGiven = len(c.From) > 0
	if len(c.From) == 0 {
		c.From = []string{"fusebase"}
	}
	c.URL = pick(set["url"], *url, env.URL)
	if set["feature"] {
		warn("--feature is deprecated; use --app")
		if !set["app"] {
			*app, set["app"] = *feature, true
		}
	}
	c.App = pick(set["app"], *app, env.App)
	c.APIURL = pick(set["api-url"], *apiURL, fb.APIURL)
	if fb.APIKey != nil {
		c.APIKey = *fb.APIKey
	}
	if fb.Env != nil {
		c.FusebaseEnv = *fb.Env
	}
	c.Manifest = pick(set["manifest"], *manifestF, env.Manifest)
	c.ManifestGiven = c.Manifest != ""
	switch {
	case set["require"]:
		c.Require, c.RequireOrigin = require, "--require"
	case env.Require != nil:
		c.RequireOrigin = "SECRETEXEC_REQUIRE"
		for _, k := range env.Require {
			if k = strings.TrimSpace(k); k != "" {
				c.Require = append(c.Require, k)
			}
		}
	}
	if !set["timeout"] && env.Timeout != nil {
		c.Timeout = *env.Timeout
	}
	if c.Timeout <= 0 {
		return nil, configf("the timeout must be positive, not %s", c.Timeout)
	}
	if !set["retries"] && env.Retries != nil {
		c.Retries = *env.Retries
	}
	if c.Retries < 0 {
		return nil, configf("the number of retries must not be negative, not %d", c.Retries)
	}
	c.NoOverride = *noOverride
	if !set["no-override"] && env.Override != nil {
		c.NoOverride = !*env.Override
	}
	if !set["init"] && env.Init != nil {
		c.Init = *env.Init
	}
	if !set["log-level"] && env.LogLevel != nil {
		if c.LogLevel, err = parseLevel(*env.LogLevel); err != nil {
			return nil, configf("SECRETEXEC_LOG_LEVEL: %q: %v", *env.LogLevel, err)
		}
	}
	if !set["log-format"] && env.LogFormat != nil {
		if err := logFormat.Set(*env.LogFormat); err != nil {
			return nil, configf("SECRETEXEC_LOG_FORMAT: %q: %v", *env.LogFormat, err)
		}
		c.LogFormat = logFormat.value
	}
	if !set["q"] && !set["quiet"] && env.Quiet != nil {
		c.Quiet = *env.Quiet
	}
	c.Command = fs.Args()
	return c, nil
}

// flagError rewrites an error of the flag package with "--" flags, and
// with any credential in a rejected value cut out: the flag package quotes
// the value whole, and a URL may carry a password or token.
func flagError(err error) string {
	msg := err.Error()
	const prefix = "invalid value "
	if rest, ok := strings.CutPrefix(msg, prefix); ok {
		if quoted, err := strconv.QuotedPrefix(rest); err == nil {
			value, _ := strconv.Unquote(quoted)
			msg = prefix + strconv.Quote(redact.URL(value)) + rest[len(quoted):]
		}
	}
	return strings.Replace(msg, " -", " --", 1)
}

// pick returns the flag's value if it was set, else the variable's, else "".
func pick(flagSet bool, flagValue string, variable *string) string {
	if flagSet {
		return flagValue
	}
	if variable != nil {
		return *variable
	}
	return ""
}

// readVariables reads secretexec's variables and the Fusebase ones. A
// variable set to the empty string counts as not set, as in most tools, so
// VAR= in a compose file or shell clears it.
func readVariables(warn func(string)) (*envSettings, *fusebaseSettings, error) {
	// envconfig's reflection is skipped when none of the variables it would
	// read is set, as in most runs.
	own, shared := false, false
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SECRETEXEC_") {
			continue
		}
		if value == "" {
			os.Unsetenv(name)
			continue
		}
		if known(name) {
			own = true
		} else {
			warn(fmt.Sprintf("unknown variable %s is ignored (see secretexec --help)", name))
		}
	}
	for _, name := range []string{"FUSEBASE_API_KEY", "FUSEBASE_API_URL", "FUSEBASE_ENV"} {
		if v, ok := os.LookupEnv(name); ok && v == "" {
			os.Unsetenv(name)
		} else if ok {
			shared = true
		}
	}
	// The tags name the variables in full and the prefix is empty: with a
	// prefix, envconfig falls back to the bare name, and would take an app's
	// own TIMEOUT or URL for SECRETEXEC_TIMEOUT or SECRETEXEC_URL.
	var env envSettings
	if own {
		if err := envconfig.Process("", &env); err != nil {
			return nil, nil, variableError(err)
		}
	}
	var fb fusebaseSettings
	if shared {
		if err := envconfig.Process("", &fb); err != nil {
			return nil, nil, variableError(err)
		}
	}
	return &env, &fb, nil
}

func known(name string) bool {
	for _, v := range ownVariables {
		if v == name {
			return true
		}
	}
	return false
}

// variableError rewrites envconfig's error, which names the Go field, in
// terms of the variable.
func variableError(err error) error {
	var pe *envconfig.ParseError
	if errors.As(err, &pe) {
		return configf("%s: %q is not a valid %s", pe.KeyName, pe.Value, typeName(pe.TypeName))
	}
	return &configError{err: err}
}

func typeName(t string) string {
	switch strings.TrimPrefix(strings.TrimPrefix(t, "*"), "time.") {
	case "Duration":
		return "duration (such as 30s or 2m)"
	case "bool":
		return "boolean (true or false)"
	case "int":
		return "number"
	}
	return t
}

// requiredKeys parses the --require or SECRETEXEC_REQUIRE entries.
func (c *config) requiredKeys() ([]manifest.Key, error) {
	var keys []manifest.Key
	for i, entry := range c.Require {
		k, err := manifest.ParseKey(entry)
		if err != nil {
			return nil, configf("%s, entry %d: %v", c.RequireOrigin, i+1, err)
		}
		k.File = c.RequireOrigin
		keys = append(keys, k)
	}
	return keys, nil
}
