package cli

import (
	"slices"
	"testing"

	"github.com/secretexec/secretexec/manifest"
)

func TestWithEnv(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		env     map[string]string
		want    []string
	}{
		{"none", []string{"A=1"}, nil, []string{"A=1"}},
		{"in place, then the new ones sorted", []string{"A=1", "MODE=laptop", "B=2"}, map[string]string{"Z": "z", "MODE": "queue", "C": ""},
			[]string{"A=1", "MODE=queue", "B=2", "C=", "Z=z"}},
		{"a name inherited twice is set once", []string{"MODE=a", "B=2", "MODE=b"}, map[string]string{"MODE": "queue"},
			[]string{"MODE=queue", "B=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.environ)
			got := withEnv(tt.environ, tt.env)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q; want %q", got, tt.want)
			}
			if !slices.Equal(tt.environ, before) {
				t.Errorf("environ changed to %q", tt.environ)
			}
		})
	}
}

// TestInheritedWins: under --no-override a key is checked as the value of
// the variable the command sees it under, its target, not its store name.
func TestInheritedWins(t *testing.T) {
	m, err := manifest.New(
		manifest.Key{Name: "PG_URL", As: "DATABASE_URL", File: "m"},
		manifest.Key{Name: "PG_URL", As: "READ_URL", File: "m"},
		manifest.Key{Name: "API_KEY", File: "m"},
		manifest.Key{Name: "GONE", File: "m"},
	)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := manifest.Check(m, []manifest.Value{
		{Key: "PG_URL", Value: "canary-pg"},
		{Key: "API_KEY", Value: ""},
	})
	inheritedWins(r, []string{"PG_URL=", "DATABASE_URL=", "READ_URL=x", "API_KEY=inherited", "GONE=inherited"})
	want := map[string]manifest.Status{
		"PG_URL (as DATABASE_URL)": manifest.Empty,
		"PG_URL (as READ_URL)":     manifest.Set,
		"API_KEY":                  manifest.Set,
		// No source holds it: an inherited value does not register it.
		"GONE": manifest.Missing,
	}
	for _, e := range r.Entries {
		if e.Status != want[e.String()] {
			t.Errorf("%s: %s; want %s", e, e.Status, want[e.String()])
		}
	}
}
