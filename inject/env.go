// Package inject assembles the command's environment and runs it.
package inject

import (
	"fmt"
	"slices"
	"strings"

	"github.com/secretexec/secretexec/manifest"
)

// A Secret is a key and value to add to the environment.
type Secret struct {
	Key   string
	Value string
}

// Options controls Environ.
type Options struct {
	// NoOverride keeps an inherited variable's value over a secret of the
	// same name.
	NoOverride bool
	// Strip reports whether an inherited variable must not reach the
	// command, such as secretexec's own settings and the store credential.
	Strip func(name string) bool
}

// Result is an assembled environment and what the caller should say of it.
type Result struct {
	Env []string
	// Overridden names the inherited variables a secret replaced, or with
	// NoOverride, the secrets an inherited variable kept out.
	Overridden []string
	// NonPortable names the secrets whose keys are legal but not portable
	// shell names, such as "my-key".
	NonPortable []string
}

// InvalidError lists secrets that cannot be put in an environment: an empty
// key, a key holding '=' or NUL, or a value holding NUL. It names keys only,
// and for keys that are themselves unprintable, their position.
type InvalidError struct {
	Problems []string
}

func (e *InvalidError) Error() string {
	if len(e.Problems) == 1 {
		return "a secret cannot be put in the environment: " + e.Problems[0]
	}
	return fmt.Sprintf("%d secrets cannot be put in the environment:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// maxVariable is Linux's limit on one string of an exec'd process's
// arguments or environment (MAX_ARG_STRLEN), NUL included.
const maxVariable = 128 << 10

// Environ returns inherited less the stripped variables, in their order
// (less those a secret replaced), then the secrets sorted by key.
func Environ(inherited []string, secrets []Secret, opts Options) (*Result, error) {
	var problems []string
	for i, s := range secrets {
		switch {
		case s.Key == "":
			problems = append(problems, fmt.Sprintf("secret #%d has an empty key", i+1))
		case strings.IndexByte(s.Key, 0) >= 0:
			problems = append(problems, fmt.Sprintf("the key of secret #%d holds a NUL byte", i+1))
		case strings.IndexByte(s.Key, '=') >= 0:
			problems = append(problems, fmt.Sprintf("key %s holds '='", manifest.DisplayKey(s.Key)))
		case strings.IndexByte(s.Value, 0) >= 0:
			problems = append(problems, fmt.Sprintf("the value of %s holds a NUL byte", manifest.DisplayKey(s.Key)))
		case len(s.Key)+1+len(s.Value) >= maxVariable:
			problems = append(problems, fmt.Sprintf("%s is longer than the 128 KiB one variable may hold; mount it as a file instead", manifest.DisplayKey(s.Key)))
		}
	}
	if len(problems) > 0 {
		return nil, &InvalidError{Problems: problems}
	}

	// The maps hold inherited names, a few dozen, not the secrets, which
	// may be thousands.
	keep := func(name string) bool { return opts.Strip == nil || !opts.Strip(name) }
	names := make(map[string]bool, len(inherited))
	for _, kv := range inherited {
		if name, _, _ := strings.Cut(kv, "="); keep(name) {
			names[name] = true
		}
	}
	var shared map[string]bool // inherited names a secret also has
	for _, s := range secrets {
		if names[s.Key] {
			if shared == nil {
				shared = make(map[string]bool)
			}
			shared[s.Key] = true
		}
	}

	r := &Result{Env: make([]string, 0, len(inherited)+len(secrets))}
	for name := range shared {
		r.Overridden = append(r.Overridden, name)
	}
	slices.Sort(r.Overridden)
	for _, kv := range inherited {
		if name, _, _ := strings.Cut(kv, "="); keep(name) && (opts.NoOverride || !shared[name]) {
			r.Env = append(r.Env, kv)
		}
	}

	sorted := make([]Secret, 0, len(secrets))
	size := 0
	for _, s := range secrets {
		if !opts.NoOverride || !shared[s.Key] {
			sorted = append(sorted, s)
			size += len(s.Key) + 1 + len(s.Value)
		}
	}
	slices.SortFunc(sorted, func(a, b Secret) int { return strings.Compare(a.Key, b.Key) })
	// Every KEY=value is cut from one string.
	var b strings.Builder
	b.Grow(size)
	for _, s := range sorted {
		b.WriteString(s.Key)
		b.WriteByte('=')
		b.WriteString(s.Value)
	}
	all := b.String()
	for _, s := range sorted {
		n := len(s.Key) + 1 + len(s.Value)
		r.Env = append(r.Env, all[:n])
		all = all[n:]
		if !manifest.Portable(s.Key) {
			r.NonPortable = append(r.NonPortable, s.Key)
		}
	}
	return r, nil
}
