package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/secretexec/secretexec/inject"
	"github.com/secretexec/secretexec/inject/mask"
	"github.com/secretexec/secretexec/internal/logging"
	"github.com/secretexec/secretexec/internal/startup"
	"github.com/secretexec/secretexec/manifest"
)

// run fetches and checks the secrets, then execs the command with them, or
// under --init starts it as a child and returns its status.
func (c *cli) run(ctx context.Context, args []string) error {
	s, err := c.configure("run", args)
	if err != nil || s == nil {
		return err
	}
	if len(s.Command) == 0 {
		return usagef("no command to run: secretexec [flags] -- COMMAND [ARG...]")
	}
	if s.Mask.v && s.MaskMinLength.v < 0 {
		return configf("--mask-min-length must not be negative, not %d", s.MaskMinLength.v)
	}
	if s.supervised() {
		// The supervisor listens to the interrupts itself; until it does,
		// they must be caught, not have their default effect.
		c.intr.Arm()
	}
	// Resolve the command first, so a typo fails at once rather than after
	// a fetch; it is resolved again below if a secret changes PATH.
	path, err := inject.LookPath(s.Command[0], c.environ)
	if err != nil {
		return err
	}
	start := time.Now()
	p, err := c.prepare(ctx, s)
	if err != nil {
		return err
	}
	if inject.PathOf(p.env.Env) != inject.PathOf(c.environ) {
		if path, err = inject.LookPath(s.Command[0], p.env.Env); err != nil {
			return err
		}
	}
	took := time.Since(start)
	command := quoteCommand(s.Command)
	logging.Print(ctx, c.log, slog.LevelInfo, fmt.Sprintf("%s from %s in %s; running %s",
		plural(len(p.secrets), "secret"), strings.Join(p.sources, ", "), roundDuration(took), command),
		slog.Int("secrets", len(p.secrets)), slog.Any("sources", p.sources),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000), slog.String("command", command))
	if s.supervised() {
		return c.supervise(ctx, s, path, p)
	}
	c.intr.Stop()
	if err := context.Cause(ctx); err != nil {
		return err // interrupted between the fetch and the exec
	}
	return inject.Exec(path, s.Command, p.env.Env)
}

// supervise runs the command as a child under --init and returns its
// status as an *exitStatus, its output masked under --mask. The
// interrupts stay armed until the supervisor listens itself: then they
// are handed off, and one caught by then starts no child. Under --watch,
// the polls start then too.
func (c *cli) supervise(ctx context.Context, s *settings, path string, p *prepared) error {
	if err := context.Cause(ctx); err != nil {
		return err // interrupted between the fetch and the start
	}
	startup.ResumeGC() // the supervisor lives as long as the command
	var m *mask.Masker
	if s.Mask.v {
		m = c.masker(s, p)
	}
	var w inject.Watch
	var poll func(context.Context)
	if s.Watch.v > 0 {
		w, poll = c.watch(s, p)
	}
	code, err := inject.SuperviseWatch(path, s.Command, p.env.Env, c.log, func() error {
		c.intr.HandOff()
		if err := context.Cause(ctx); err != nil {
			return err
		}
		if poll != nil {
			go poll(ctx)
		}
		return nil
	}, m, w)
	if errors.Is(err, inject.ErrChanged) {
		return &exitStatus{code: exitTempFail}
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitStatus{code: code}
	}
	return nil
}

// masker returns the masker of the secrets the command gets, under the
// names it gets them by, and warns once, naming their keys, about values
// too short to mask. With --no-override, a secret whose inherited variable
// won is not the command's, and not masked.
func (c *cli) masker(s *settings, p *prepared) *mask.Masker {
	kept := make(map[string]bool, len(p.env.Overridden))
	if !s.Override.v {
		for _, name := range p.env.Overridden {
			kept[name] = true
		}
	}
	var secrets []mask.Secret
	for _, sec := range p.secrets {
		if !kept[sec.Key] {
			secrets = append(secrets, mask.Secret{Name: sec.Key, Value: sec.Value})
		}
	}
	m, short := mask.New(secrets, s.MaskMinLength.v)
	if len(short) > 0 {
		names := make([]string, len(short))
		for i, name := range short {
			names[i] = manifest.DisplayKey(name)
		}
		c.log.Warn(fmt.Sprintf("not masked, shorter than %d bytes: %s", s.MaskMinLength.v, strings.Join(names, ", ")),
			slog.Any("keys", names), logging.Hints("--mask-min-length sets the shortest value masked"))
	}
	return m
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
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`") || strings.ContainsFunc(a, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			a = strconv.Quote(a)
		}
		words[i] = a
	}
	return strings.Join(words, " ")
}
