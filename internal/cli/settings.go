package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/secretexec/secretexec/internal/redact"
)

// settings is the table of secretexec's settings: each field is one row,
// its tags the flag (several names separated by commas; none for a
// variable that is never a flag), the flag's argument, the variable, the
// default, the subcommands it is for (all when empty) and the help. Both
// the parsing and --help come from it. Each comes from its flag, else its
// variable (read by envconfig through the `envconfig` tags), else the
// default.
type settings struct {
	From         sources                `flag:"from" arg:"SRC" envconfig:"SECRETEXEC_FROM" note:"(comma list)" def:"fusebase" help:"a source of secrets, repeatable, merged in order (a later one wins per key): fusebase, an https:// endpoint URL, file:PATH (JSON), dir:PATH (one file per key, as Docker and Kubernetes mount secrets)"`
	URL          text                   `flag:"url" arg:"URL" envconfig:"SECRETEXEC_URL" help:"the full Fusebase secrets endpoint (default: built from fusebase.json)"`
	App          text                   `flag:"app,feature" arg:"ID" envconfig:"SECRETEXEC_APP" help:"which app of fusebase.json, by id or path (--feature is a deprecated alias)"`
	APIURL       text                   `flag:"api-url" arg:"URL" envconfig:"FUSEBASE_API_URL" help:"the Fusebase API base URL (default: by the environment name in FUSEBASE_ENV, fusebase.json or ~/.fusebase/config.json, else prod)"`
	APIKey       text                   `envconfig:"FUSEBASE_API_KEY" help:"the Fusebase API key, never a flag (default: ~/.fusebase/config.json); the command never sees it"`
	Env          text                   `envconfig:"FUSEBASE_ENV" help:"the Fusebase environment name: prod, dev or local"`
	Manifest     text                   `flag:"manifest" arg:"PATH" envconfig:"SECRETEXEC_MANIFEST" help:"the only required-key manifest (default: every secrets.manifest of the project root, the app, its backend/ folder and the working directory)"`
	Require      keys                   `flag:"require" arg:"KEY[:DESC]" envconfig:"SECRETEXEC_REQUIRE" note:"(comma list of keys)" help:"a required key, repeatable; KEY? makes it optional"`
	OnlyManifest setting[bool]          `flag:"only-manifest" envconfig:"SECRETEXEC_ONLY_MANIFEST" help:"the command gets only the keys the manifest names (least privilege)"`
	Sidecar      text                   `flag:"sidecar" arg:"NAME" envconfig:"SECRETEXEC_SIDECAR" for:"run,check" help:"take the keys, renames and fixed env of the app's fusebase.json sidecar NAME (backend.sidecars[] or a job's sidecars[]); the command gets those keys alone"`
	Timeout      setting[time.Duration] `flag:"timeout" arg:"DUR" envconfig:"SECRETEXEC_TIMEOUT" def:"30s" help:"total time for all fetching, retries included"`
	Retries      setting[int]           `flag:"retries" arg:"N" envconfig:"SECRETEXEC_RETRIES" def:"8" help:"retries per source within that time"`
	Override     setting[bool]          `flag:"no-override" negate:"true" envconfig:"SECRETEXEC_OVERRIDE" note:"=false" def:"true" help:"an inherited variable keeps its value over a secret of the same name"`
	Init         setting[bool]          `flag:"init" envconfig:"SECRETEXEC_INIT" for:"run" help:"stay as parent: forward signals, reap zombies, return the child's status"`
	LogLevel     setting[slog.Level]    `flag:"log-level" arg:"LEVEL" envconfig:"SECRETEXEC_LOG_LEVEL" def:"info" help:"debug, info, warn or error"`
	LogJSON      choice                 `flag:"log-format" arg:"FORMAT" envconfig:"SECRETEXEC_LOG_FORMAT" def:"text" choices:"text,json" help:"text or json"`
	Quiet        setting[bool]          `flag:"q,quiet" envconfig:"SECRETEXEC_QUIET" help:"only errors"`
	Format       choice                 `flag:"format" arg:"FORMAT" for:"check,lint" help:"check: table or json (default table); lint: text or json (default text)"`
	Strict       setting[bool]          `flag:"strict" for:"lint" help:"lint only: warnings fail too"`

	// The fallback copy (DESIGN.md, "Fallback"); lint reads no secrets.
	Fallback       text                   `flag:"fallback" arg:"PATH" envconfig:"SECRETEXEC_FALLBACK" for:"run,check" help:"keep an encrypted copy of the last good fetch at PATH, and start from it while the store is unavailable"`
	FallbackMaxAge setting[time.Duration] `flag:"fallback-max-age" arg:"DUR" envconfig:"SECRETEXEC_FALLBACK_MAX_AGE" for:"run,check" def:"24h" help:"an older fallback copy is never used"`
	Offline        setting[bool]          `flag:"offline" envconfig:"SECRETEXEC_OFFLINE" for:"run,check" help:"use only the fallback copy, no network at all"`

	// --mask: the command's output through a masker (DESIGN, Mask).
	Mask          setting[bool] `flag:"mask" envconfig:"SECRETEXEC_MASK" for:"run" help:"mask secret values in the command's output as [masked:KEY]; implies --init"`
	MaskMinLength setting[int]  `flag:"mask-min-length" arg:"N" envconfig:"SECRETEXEC_MASK_MIN_LENGTH" def:"6" for:"run" help:"shorter values are not masked (warned)"`

	// Watch (DESIGN.md, "Watch").
	Watch       setting[time.Duration]  `flag:"watch" arg:"DUR" envconfig:"SECRETEXEC_WATCH" for:"run" help:"fetch again every DUR (at least 5s), give or take 20%, and on a change restart the command with the new secrets; implies --init"`
	OnChange    choice                  `flag:"on-change" arg:"ACTION" envconfig:"SECRETEXEC_ON_CHANGE" def:"restart" choices:"restart,exit" for:"run" help:"what --watch does on a change: restart the command, or stop it and exit 75 so the orchestrator starts afresh"`
	Splay       setting[time.Duration]  `flag:"splay" arg:"DUR" envconfig:"SECRETEXEC_SPLAY" def:"0s" for:"run" help:"a random wait in [0, DUR) before acting on a change, so replicas do not restart at once"`
	StopSignal  setting[syscall.Signal] `flag:"stop-signal" arg:"SIG" envconfig:"SECRETEXEC_STOP_SIGNAL" def:"SIGTERM" for:"run" help:"the signal that stops the command on a change"`
	StopTimeout setting[time.Duration]  `flag:"stop-timeout" arg:"DUR" envconfig:"SECRETEXEC_STOP_TIMEOUT" def:"10s" for:"run" help:"how long the command has to stop on a change before SIGKILL"`

	// Command is what follows the flags: the command and its arguments,
	// or lint's DIR.
	Command []string `ignored:"true"`
	// warnings are for the logger, once it is set up.
	warnings []string
}

// usageHead opens --help; the table's rows follow it.
const usageHead = `Usage:
  secretexec [flags] -- COMMAND [ARG...]   run COMMAND with the secrets
  secretexec check [flags]                 fetch and validate, print a report, run nothing
  secretexec lint [flags] [DIR]            check an app tree against the Fusebase secrets checklist
  secretexec version                       print the version (also --version)

secretexec fetches the app's secrets, checks them against the required keys,
and replaces itself with COMMAND, the secrets in its environment. It starts
nothing unless every required secret is set.

Flags (and the variable each one overrides):
`

// usageTail closes --help.
const usageTail = `  -h, --help              print this help

Exit codes: the command's own; 64 usage; 65 required secrets unset or
invalid; 69 store unavailable; 75 secrets changed (--on-change exit);
76 malformed answer; 77 permission denied; 78 configuration; 126 not
executable; 127 not found; 128+n interrupted.
No secret value is ever printed.
`

// usage renders --help from the table.
func usage() string {
	var b strings.Builder
	b.WriteString(usageHead)
	t := reflect.TypeFor[settings]()
	for i := range t.NumField() {
		f := t.Field(i)
		help := f.Tag.Get("help")
		if help == "" {
			continue
		}
		var left string
		if names := f.Tag.Get("flag"); names != "" {
			name, _, _ := strings.Cut(names, ",")
			left = "--" + name
			if name == "q" {
				left = "-q, --quiet"
			}
			if arg := f.Tag.Get("arg"); arg != "" {
				left += " " + arg
			}
		}
		right := f.Tag.Get("envconfig")
		if note := f.Tag.Get("note"); note != "" {
			if strings.HasPrefix(note, "=") {
				right += note
			} else {
				right += " " + note
			}
		}
		b.WriteString(strings.TrimRight(fmt.Sprintf("  %-22s  %s", left, right), " ") + "\n")
		if def := f.Tag.Get("def"); def != "" && f.Type.Name() != "setting[bool]" {
			help += " (default " + def + ")"
		}
		for _, line := range wrap(help, 66) {
			b.WriteString("        " + line + "\n")
		}
	}
	b.WriteString(usageTail)
	return b.String()
}

// wrap breaks s into lines of at most width bytes, at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

// parseSettings reads the flags in args, then the variables, for the named
// subcommand ("run", "check" or "lint"). It returns flag.ErrHelp for --help.
func parseSettings(sub string, args []string) (*settings, error) {
	s := &settings{}
	fs := flag.NewFlagSet("secretexec", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		val, ok := v.Field(i).Addr().Interface().(value)
		if !ok {
			continue
		}
		if err := val.init(f.Tag); err != nil {
			panic(fmt.Sprintf("settings.%s: %v", f.Name, err)) // a bad table: a bug
		}
		if only := f.Tag.Get("for"); only != "" && !inList(only, sub) {
			continue
		}
		for _, name := range strings.Split(f.Tag.Get("flag"), ",") {
			if name != "" {
				fs.Var(val, name, f.Tag.Get("help"))
			}
		}
	}
	if sub == "lint" {
		s.Format.choices, s.Format.v = []string{"text", "json"}, "text"
	} else {
		s.Format.choices, s.Format.v = []string{"table", "json"}, "table"
	}
	words, err := parseFlags(fs, args, sub == "lint")
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usagef("%s", flagError(err))
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "feature" {
			s.warnings = append(s.warnings, "--feature is deprecated; use --app")
		}
	})
	s.Command = words
	if err := s.readVariables(); err != nil {
		return nil, err
	}
	switch {
	case s.Timeout.v <= 0:
		return nil, configf("the timeout must be positive, not %s", s.Timeout.v)
	case s.Retries.v < 0:
		return nil, configf("the number of retries must not be negative, not %d", s.Retries.v)
	}
	if err := s.checkWatch(); err != nil {
		return nil, err
	}
	return s, nil
}

// parseFlags parses args and returns the words that are not flags. With
// anywhere, flags may also follow such a word (lint's DIR), until "--".
func parseFlags(fs *flag.FlagSet, args []string, anywhere bool) ([]string, error) {
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		used := len(args) - len(rest)
		if !anywhere || len(rest) == 0 || used > 0 && args[used-1] == "--" {
			return append(words, rest...), nil
		}
		words = append(words, rest[0])
		args = rest[1:]
	}
}

// readVariables reads the variables the table names, with envconfig. A
// variable whose flag was given is not read at all, not even to complain
// that it does not parse; one set to the empty string counts as not set,
// as in most tools, so VAR= in a compose file or shell clears it. An
// unknown SECRETEXEC_ variable is warned about.
func (s *settings) readVariables() error {
	t := reflect.TypeFor[settings]()
	known := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		if name := t.Field(i).Tag.Get("envconfig"); name != "" {
			known[name] = true
		}
	}
	set := false
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case value == "":
		case known[name]:
			set = true
		case strings.HasPrefix(name, "SECRETEXEC_"):
			s.warnings = append(s.warnings, fmt.Sprintf("unknown variable %s is ignored (see secretexec --help)", redact.Printable(name)))
		}
	}
	if !set {
		return nil // envconfig's reflection is for nothing in most runs
	}
	// The tags name the variables in full and the prefix is empty: with a
	// prefix, envconfig falls back to the bare name, and would take an
	// app's own TIMEOUT or URL for SECRETEXEC_TIMEOUT or SECRETEXEC_URL.
	if err := envconfig.Process("", s); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return configf("%s: %v", pe.KeyName, pe.Err)
		}
		return &configError{err: err}
	}
	return nil
}

func inList(list, word string) bool {
	for _, w := range strings.Split(list, ",") {
		if w == word {
			return true
		}
	}
	return false
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
