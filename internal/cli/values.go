package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/secretexec/secretexec/inject"
	"github.com/secretexec/secretexec/internal/redact"
)

// A value is one setting of the table: a flag.Value that envconfig can
// also decode from a variable.
type value interface {
	Set(string) error // from a flag
	String() string
	Decode(string) error // from a variable (envconfig.Decoder)
	init(reflect.StructTag) error
}

// from says where a setting's value came from.
type from int

const (
	byDefault from = iota
	byVariable
	byFlag
)

// setting is a value parsed by one function: a duration, a number, a
// boolean or a log level.
type setting[T any] struct {
	v      T
	from   from
	negate bool // a flag such as --no-override sets the opposite
}

func (s *setting[T]) init(tag reflect.StructTag) error {
	s.negate = tag.Get("negate") == "true"
	if def := tag.Get("def"); def != "" {
		v, err := parse[T](def)
		if err != nil {
			return err
		}
		s.v = v
	}
	return nil
}

func (s *setting[T]) Set(text string) error {
	v, err := parse[T](text)
	if err != nil {
		return err
	}
	if b, ok := any(v).(bool); ok && s.negate {
		v = any(!b).(T)
	}
	s.v, s.from = v, byFlag
	return nil
}

func (s *setting[T]) Decode(text string) error {
	if s.from == byFlag || text == "" {
		return nil
	}
	v, err := parse[T](text)
	if err != nil {
		return fmt.Errorf("%q is %w", redact.URL(text), err)
	}
	s.v, s.from = v, byVariable
	return nil
}

func (s *setting[T]) String() string {
	if s == nil {
		return ""
	}
	return fmt.Sprint(s.v)
}

// IsBoolFlag lets a boolean flag go without a value, as in --init.
func (s *setting[T]) IsBoolFlag() bool {
	_, ok := any(s.v).(bool)
	return ok
}

// parse parses text as a T.
func parse[T any](text string) (T, error) {
	var zero T
	var v any
	var err error
	switch any(zero).(type) {
	case time.Duration:
		if v, err = time.ParseDuration(text); err != nil {
			return zero, errors.New("not a valid duration (such as 30s or 2m)")
		}
	case int:
		n, perr := strconv.ParseInt(text, 0, 0)
		if perr != nil {
			return zero, errors.New("not a valid number")
		}
		v = int(n)
	case bool:
		if v, err = strconv.ParseBool(text); err != nil {
			return zero, errors.New("not a valid boolean (true or false)")
		}
	case syscall.Signal:
		if v, err = inject.ParseSignal(text); err != nil {
			return zero, err
		}
	case slog.Level:
		switch strings.ToLower(text) {
		case "debug":
			v = slog.LevelDebug
		case "info":
			v = slog.LevelInfo
		case "warn", "warning":
			v = slog.LevelWarn
		case "error":
			v = slog.LevelError
		default:
			return zero, errors.New("not a log level: want debug, info, warn or error")
		}
	default:
		panic(fmt.Sprintf("no parser for %T", zero))
	}
	return v.(T), nil
}

// text is a string setting.
type text struct {
	v    string
	from from
}

func (t *text) init(tag reflect.StructTag) error { t.v = tag.Get("def"); return nil }
func (t *text) Set(s string) error               { t.v, t.from = s, byFlag; return nil }
func (t *text) String() string {
	if t == nil {
		return ""
	}
	return t.v
}

func (t *text) Decode(s string) error {
	if t.from != byFlag && s != "" {
		t.v, t.from = s, byVariable
	}
	return nil
}

// choice is one word of a fixed set.
type choice struct {
	v       string
	choices []string
	from    from
}

func (c *choice) init(tag reflect.StructTag) error {
	c.v = tag.Get("def")
	if list := tag.Get("choices"); list != "" {
		c.choices = strings.Split(list, ",")
	}
	return nil
}

func (c *choice) check(s string) error {
	for _, v := range c.choices {
		if s == v {
			return nil
		}
	}
	return fmt.Errorf("want %s", strings.Join(c.choices, " or "))
}

func (c *choice) Set(s string) error {
	if err := c.check(s); err != nil {
		return err
	}
	c.v, c.from = s, byFlag
	return nil
}

func (c *choice) Decode(s string) error {
	if c.from == byFlag || s == "" {
		return nil
	}
	if err := c.check(s); err != nil {
		return fmt.Errorf("%q: %w", redact.Printable(s), err)
	}
	c.v, c.from = s, byVariable
	return nil
}

func (c *choice) String() string {
	if c == nil {
		return ""
	}
	return c.v
}

// list is a repeatable flag whose variable is a comma list.
type list struct {
	v    []string
	from from
	// check, if set, vets one entry.
	check func(string) error
}

func (l *list) init(tag reflect.StructTag) error {
	if def := tag.Get("def"); def != "" {
		l.v = strings.Split(def, ",")
	}
	return nil
}

func (l *list) Set(s string) error {
	if l.check != nil {
		if err := l.check(s); err != nil {
			return err
		}
	}
	if l.from != byFlag {
		l.v = nil // the first flag replaces the default
	}
	l.v, l.from = append(l.v, s), byFlag
	return nil
}

// Decode splits a comma list, trims each entry, and drops empty ones. An
// entry that fails the check is named by its place, and quoted only when
// it cannot be part of a credential: the split comes before any URL is
// whole again, so `https://h/x?a=1,token=…` has an entry `token=…`.
func (l *list) Decode(s string) error {
	if l.from == byFlag || s == "" {
		return nil
	}
	var v []string
	for i, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if l.check != nil {
			if err := l.check(e); err != nil {
				switch {
				case strings.Contains(e, "://"):
					return fmt.Errorf("%q: %w", redact.URL(e), err)
				case strings.ContainsAny(e, "=@?#&%"):
					return fmt.Errorf("entry %d: %w", i+1, err)
				}
				return fmt.Errorf("%q: %w", redact.Printable(e), err)
			}
		}
		v = append(v, e)
	}
	l.v, l.from = v, byVariable
	return nil
}

func (l *list) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.v, ",")
}

// sources is --from: each entry one of the four kinds.
type sources struct{ list }

func (s *sources) init(tag reflect.StructTag) error {
	s.check = checkSource
	return s.list.init(tag)
}

// keys is --require; its entries are parsed when they are used.
type keys struct{ list }

// checkSource checks a --from value's form: one of the four kinds.
func checkSource(s string) error {
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
