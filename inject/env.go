// Package inject assembles the command's environment and runs it.
package inject

import (
	"fmt"
	"sort"
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
	bySecret := make(map[string]bool, len(secrets))
	for i, s := range secrets {
		switch {
		case s.Key == "":
			problems = append(problems, fmt.Sprintf("secret #%d has an empty key", i+1))
			continue
		case strings.ContainsRune(s.Key, 0):
			problems = append(problems, fmt.Sprintf("the key of secret #%d holds a NUL byte", i+1))
			continue
		case strings.ContainsRune(s.Key, '='):
			problems = append(problems, fmt.Sprintf("key %s holds '='", manifest.DisplayKey(s.Key)))
			continue
		case strings.ContainsRune(s.Value, 0):
			problems = append(problems, fmt.Sprintf("the value of %s holds a NUL byte", manifest.DisplayKey(s.Key)))
			continue
		case len(s.Key)+1+len(s.Value) >= maxVariable:
			problems = append(problems, fmt.Sprintf("%s is longer than the 128 KiB one variable may hold; mount it as a file instead", manifest.DisplayKey(s.Key)))
			continue
		}
		bySecret[s.Key] = true
	}
	if len(problems) > 0 {
		return nil, &InvalidError{Problems: problems}
	}

	r := &Result{Env: make([]string, 0, len(inherited)+len(secrets))}
	kept := make(map[string]bool) // inherited names that win over a secret
	for _, kv := range inherited {
		name, _, _ := strings.Cut(kv, "=")
		if opts.Strip != nil && opts.Strip(name) {
			continue
		}
		if bySecret[name] {
			r.Overridden = append(r.Overridden, name)
			if !opts.NoOverride {
				continue
			}
			kept[name] = true
		}
		r.Env = append(r.Env, kv)
	}

	sorted := make([]Secret, 0, len(secrets))
	for _, s := range secrets {
		if !kept[s.Key] {
			sorted = append(sorted, s)
		}
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
	for _, s := range sorted {
		r.Env = append(r.Env, s.Key+"="+s.Value)
		if !manifest.Portable(s.Key) {
			r.NonPortable = append(r.NonPortable, s.Key)
		}
	}
	sort.Strings(r.Overridden)
	r.Overridden = dedup(r.Overridden)
	return r, nil
}

func dedup(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
