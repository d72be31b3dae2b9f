// Package cli is secretexec's command line: the settings, the subcommands
// (a run, check, lint and version, one file each), the pipeline they share
// from the settings to the assembled environment, and the mapping of errors
// to exit codes. Nothing below Main exits, but for a fetch stuck in a call
// nothing can cancel (see startup.Fetch).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/secretexec/secretexec/internal/logging"
	"github.com/secretexec/secretexec/internal/startup"
)

// Main runs secretexec with args (less the program name) and returns its
// exit code. version is the release's, or "" for the module's.
func Main(args []string, version string) int {
	startup.HoldGC()
	intr := startup.New()
	c := &cli{
		stdout:  os.Stdout,
		stderr:  os.Stderr,
		environ: os.Environ(),
		log:     logging.New(os.Stderr, "text", slog.LevelInfo),
		intr:    intr,
		version: version,
	}
	c.exit = func(err error) { os.Exit(c.fail(err)) }
	intr.OnArmed = func() { c.log.Debug("listening for interrupts") }
	err := c.dispatch(intr.Context(), args)
	if err == nil {
		return 0
	}
	return c.fail(err)
}

// cli is one invocation's streams, environment and logger.
type cli struct {
	stdout, stderr io.Writer
	environ        []string
	log            *slog.Logger
	intr           *startup.Interrupts
	version        string
	// exit ends the run from elsewhere than Main, reporting err: only for a
	// fetch stuck in a call that nothing can cancel.
	exit func(err error)
	// polling is set for a --watch poll, which must not end the run;
	// transport carries the polls' requests, one connection kept alive.
	polling   bool
	transport *http.Transport
}

// dispatch runs the subcommand args name.
func (c *cli) dispatch(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version", "-version":
			if len(args) > 1 {
				return usagef("version takes no arguments")
			}
			fmt.Fprintln(c.stdout, c.versionString())
			return nil
		case "help":
			io.WriteString(c.stdout, usage())
			return nil
		case "check":
			return c.check(ctx, args[1:])
		case "lint":
			return c.lint(ctx, args[1:])
		}
	}
	return c.run(ctx, args)
}

// fail reports err on stderr and returns its exit code.
func (c *cli) fail(err error) int {
	var status *exitStatus
	if errors.As(err, &status) {
		return status.code
	}
	c.log.Error(err.Error(), errorAttrs(err)...)
	return exitCode(err)
}

// errorAttrs are the attributes of err's log line: its hints, and the
// keys it names.
func errorAttrs(err error) []any {
	attrs := []any{}
	if h := hints(err); len(h) > 0 {
		attrs = append(attrs, logging.Hints(h...))
	}
	if keys := unsetKeys(err); len(keys) > 0 {
		attrs = append(attrs, slog.Any("keys", keys))
	}
	return attrs
}

// configure parses the settings of subcommand sub and sets up logging. It
// returns nil settings and a nil error when it printed the help.
func (c *cli) configure(sub string, args []string) (*settings, error) {
	s, err := parseSettings(sub, args)
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(c.stdout, usage())
		return nil, nil
	}
	if s != nil {
		level := s.LogLevel.v
		if s.Quiet.v {
			level = slog.LevelError
		}
		c.log = logging.New(c.stderr, s.LogJSON.v, level)
		if c.intr.Armed() {
			c.log.Debug("listening for interrupts") // armed from the start, as PID 1
		}
		for _, w := range s.warnings {
			c.log.Warn(w)
		}
	} else if wantsJSON(args) {
		// The settings did not parse, but the error should still come in
		// the format a log collector expects.
		c.log = logging.New(c.stderr, "json", slog.LevelInfo)
	}
	return s, err
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

// versionString is the version line: the stamped or module version, the Go
// version and the platform.
func (c *cli) versionString() string {
	v := c.version
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

// userAgent is the User-Agent of every request: secretexec/VERSION.
func (c *cli) userAgent() string {
	v := c.version
	if v == "" {
		v = "devel"
		if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
	}
	return "secretexec/" + v
}
