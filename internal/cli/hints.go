package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/fusebase"
	"github.com/secretexec/secretexec/manifest"
)

// unsetHints says how to fix required keys that are unset. Keys a
// Fusebase app lacks get the one `fusebase secret create` line that
// registers them all; keys it holds empty are named with the app whose
// values to fill in.
func (c *cli) unsetHints(sources []fetch.Source, err error) []string {
	var unset *manifest.UnsetError
	if !errors.As(err, &unset) {
		return nil
	}
	var names []string
	apps := make(map[string]*fusebase.Source) // by source name
	var app *fusebase.Source                  // the last, which wins the merge
	for _, s := range sources {
		names = append(names, s.Name())
		if f, ok := s.(*fusebase.Source); ok && f.AppID() != "" {
			apps[s.Name()], app = f, f
		}
	}
	var hints []string
	if missing := unset.Missing(); len(missing) > 0 {
		if app != nil {
			// One store key may feed several names (FROM as NAME), and
			// the Fusebase CLI refuses a key twice: register it once.
			keys := make([]fusebase.KeyDescription, 0, len(missing))
			seen := make(map[string]bool, len(missing))
			for _, e := range missing {
				if !seen[e.Key] {
					seen[e.Key] = true
					keys = append(keys, fusebase.KeyDescription{Key: e.Key, Description: e.Description})
				}
			}
			hints = append(hints, fusebase.RegisterHints(app.AppID(), keyList(missing), keys)...)
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
			var keys []manifest.Entry
			for _, e := range inApps {
				if e.Source == name {
					keys = append(keys, e)
				}
			}
			hints = append(hints, apps[name].FillHint(keyList(keys), len(keys)))
		}
		if len(elsewhere) > 0 {
			hints = append(hints, fmt.Sprintf("give %s a value in %s, or mark %s optional in the manifest (KEY?)",
				keyList(elsewhere), strings.Join(sourceNames(elsewhere), ", "), pronoun(len(elsewhere))))
		}
	}
	return hints
}

// unsetKeys names the unset keys of err, for json logs.
func unsetKeys(err error) []string {
	var unset *manifest.UnsetError
	if !errors.As(err, &unset) {
		return nil
	}
	names := make([]string, len(unset.Keys))
	for i, e := range unset.Keys {
		names[i] = manifest.DisplayKey(e.Key)
	}
	return names
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
		names[i] = e.String()
	}
	return strings.Join(names, ", ")
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
