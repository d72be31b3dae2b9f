package manifest

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Key // Origin ignored
		err  string
	}{
		{"empty", "", nil, ""},
		{"blank and comments", "\n  \n# c\n   # indented\n", nil, ""},
		{"key", "A", []Key{{Name: "A"}}, ""},
		{"description", "A: the a key", []Key{{Name: "A", Description: "the a key"}}, ""},
		{"first colon splits", "A: see: here", []Key{{Name: "A", Description: "see: here"}}, ""},
		{"hash in description", "A: not # a comment", []Key{{Name: "A", Description: "not # a comment"}}, ""},
		{"optional", "A?\nB? : b", []Key{{Name: "A", Optional: true}, {Name: "B", Description: "b", Optional: true}}, ""},
		{"trimmed", "  A  :  x  \r", []Key{{Name: "A", Description: "x"}}, ""},
		{"bom", "\ufeffA", []Key{{Name: "A"}}, ""},
		{"underscore first", "_A1", []Key{{Name: "_A1"}}, ""},
		{"digit first", "1A", nil, `m: line 1: not a portable key name`},
		{"dash", "\nA-B", nil, `m: line 2: not a portable key name`},
		{"empty key", "A\n:x", nil, "m: line 2: empty key"},
		{"only question mark", "?", nil, "m: line 1: empty key"},
		{"duplicate", "A\nB\nA", nil, "m: line 3: key A appears twice (first on line 1)"},
		{"duplicate optional", "A\nA?", nil, "m: line 2: key A appears twice (first on line 1)"},
		{"space in key", "A B", nil, `m: line 1: not a portable key name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tt.in), "m")
			if tt.err != "" {
				var se *SyntaxError
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) || !errors.As(err, &se) {
					t.Fatalf("Parse error = %v; want *SyntaxError starting %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(m.Keys) != len(tt.want) {
				t.Fatalf("got %d keys %+v; want %+v", len(m.Keys), m.Keys, tt.want)
			}
			for i, k := range m.Keys {
				k.Origin = ""
				if k != tt.want[i] {
					t.Errorf("key %d = %+v; want %+v", i, k, tt.want[i])
				}
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	m, err := Parse(strings.NewReader("# c\nA\n\nB"), "secrets.manifest")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Keys[1].Origin; got != "secrets.manifest:4" {
		t.Errorf("origin = %q; want secrets.manifest:4", got)
	}
}

func TestAdd(t *testing.T) {
	m := &Manifest{Keys: []Key{{Name: "A", Optional: true}, {Name: "B", Description: "b"}}}
	m.Add(Key{Name: "A", Description: "a"}, Key{Name: "B", Description: "other", Optional: true}, Key{Name: "C"})
	want := []Key{{Name: "A", Description: "a"}, {Name: "B", Description: "b"}, {Name: "C"}}
	if len(m.Keys) != len(want) {
		t.Fatalf("got %+v; want %+v", m.Keys, want)
	}
	for i := range want {
		if m.Keys[i] != want[i] {
			t.Errorf("key %d = %+v; want %+v", i, m.Keys[i], want[i])
		}
	}
}

func TestCheck(t *testing.T) {
	m := &Manifest{Keys: []Key{
		{Name: "SET", Description: "d"},
		{Name: "EMPTY"},
		{Name: "MISSING", Description: "m"},
		{Name: "OPT", Optional: true},
		{Name: "OPT_EMPTY", Optional: true},
	}}
	fetched := []Value{
		{Key: "ZZ_EXTRA", Source: "s"},
		{Key: "SET", Source: "s", Description: "from store"},
		{Key: "EMPTY", Empty: true, Source: "s", Description: "store desc"},
		{Key: "OPT_EMPTY", Empty: true, Source: "s"},
		{Key: "AA_UNDECLARED_EMPTY", Empty: true, Source: "s"},
	}
	r := Check(m, fetched)
	want := []struct {
		key    string
		status Status
		fatal  bool
		desc   string
	}{
		{"SET", Set, false, "d"},
		{"EMPTY", Empty, true, "store desc"},
		{"MISSING", Missing, true, "m"},
		{"OPT", Missing, false, ""},
		{"OPT_EMPTY", Empty, false, ""},
		{"AA_UNDECLARED_EMPTY", Empty, true, ""},
		{"ZZ_EXTRA", Set, false, ""},
	}
	if len(r.Entries) != len(want) {
		t.Fatalf("got %d entries %+v; want %d", len(r.Entries), r.Entries, len(want))
	}
	for i, w := range want {
		e := r.Entries[i]
		if e.Key != w.key || e.Status != w.status || e.Fatal() != w.fatal || e.Description != w.desc {
			t.Errorf("entry %d = %+v (fatal %v); want %+v", i, e, e.Fatal(), w)
		}
	}
	var unset *UnsetError
	if !errors.As(r.Err(), &unset) {
		t.Fatalf("Err = %v; want *UnsetError", r.Err())
	}
	if got := len(unset.Keys); got != 3 {
		t.Errorf("unset keys = %d; want 3", got)
	}
	if got := len(unset.Missing()); got != 1 {
		t.Errorf("missing = %d; want 1", got)
	}
	if got := len(unset.Empty()); got != 2 {
		t.Errorf("empty = %d; want 2", got)
	}
	if Check(nil, []Value{{Key: "A"}}).Err() != nil {
		t.Errorf("all set without a manifest: want no error")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "A", "A:b", "A?:b", "# c\nA\n\nB: x # y", "A\nA", "1A", ":", "?", "\ufeffA",
		"OPENAI_API_KEY: OpenAI API key\nSENTRY_DSN?: optional\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := Parse(strings.NewReader(in), "m")
		if err != nil {
			var se *SyntaxError
			if errors.As(err, &se) && se.Line < 1 {
				t.Fatalf("syntax error with line %d", se.Line)
			}
			return
		}
		seen := make(map[string]bool)
		for _, k := range m.Keys {
			if !Portable(k.Name) {
				t.Fatalf("accepted non-portable key %q", k.Name)
			}
			if seen[k.Name] {
				t.Fatalf("accepted duplicate key %q", k.Name)
			}
			seen[k.Name] = true
			if strings.TrimSpace(k.Description) != k.Description {
				t.Fatalf("description %q not trimmed", k.Description)
			}
		}
	})
}

func TestParseNeverQuotesValues(t *testing.T) {
	for _, line := range []string{
		"OPENAI_API_KEY=sk-canary-from-dotenv",
		"export STRIPE_KEY=sk_live_canary",
		"A = canary",
		"DB_URL=postgres://u:canary@h/db",
		"sk-live-canary",
		"sk-live-canary=x",
		"canary value with spaces",
	} {
		_, err := Parse(strings.NewReader(line), "m")
		if err == nil {
			t.Errorf("Parse(%q): no error", line)
			continue
		}
		if strings.Contains(err.Error(), "canary") {
			t.Errorf("Parse(%q) error quotes the value: %v", line, err)
		}
		if _, err := ParseKey(line); err == nil || strings.Contains(err.Error(), "canary") {
			t.Errorf("ParseKey(%q) = %v; want an error without the value", line, err)
		}
	}
}
