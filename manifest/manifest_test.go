package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Key // File and Line ignored
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
		{"renamed", "PG_URL as DATABASE_URL", []Key{{Name: "PG_URL", As: "DATABASE_URL"}}, ""},
		{"renamed with description", "PG_URL as DATABASE_URL: Postgres: main", []Key{{Name: "PG_URL", As: "DATABASE_URL", Description: "Postgres: main"}}, ""},
		{"renamed optional", "PG_URL? as DATABASE_URL\nB ? as C :c", []Key{{Name: "PG_URL", As: "DATABASE_URL", Optional: true}, {Name: "B", As: "C", Description: "c", Optional: true}}, ""},
		{"spaces and tabs", "  A \t as\t  B  ", []Key{{Name: "A", As: "B"}}, ""},
		{"one key, several names", "A as B\nA as C\nA", []Key{{Name: "A", As: "B"}, {Name: "A", As: "C"}, {Name: "A"}}, ""},
		{"renamed to itself", "A as A", []Key{{Name: "A"}}, ""},
		{"swapped", "A as B\nB as A", []Key{{Name: "A", As: "B"}, {Name: "B", As: "A"}}, ""},
		{"a key named as", "as\nas as x", []Key{{Name: "as"}, {Name: "as", As: "x"}}, ""},
		{"no name after as", "A as", nil, "m: line 1: no name after 'as'"},
		{"two names after as", "A as B C", nil, "m: line 1: more than one word after 'as'"},
		{"question mark on the name", "A as B?", nil, "m: line 1: '?' goes on the key before 'as' (FROM? as NAME)"},
		{"bad name after as", "A as 1B", nil, "m: line 1: the name after 'as' is not a portable key name"},
		{"bad key before as", "1A as B", nil, "m: line 1: not a portable key name"},
		{"AS is not as", "A AS B", nil, "m: line 1: not a portable key name"},
		{"empty before as", "? as B", nil, "m: line 1: empty key"},
		{"target twice", "A as T\n\nB as T", nil, "m: line 3: T is the name of two keys: B (as T) here and A (as T) on line 1"},
		{"target is a plain key", "T\nB as T", nil, "m: line 2: T is the name of two keys: B (as T) here and T on line 1"},
		{"plain key is a target", "B as T\nT?", nil, "m: line 2: T is the name of two keys: T here and B (as T) on line 1"},
		{"renamed twice", "A as T\nA? as T: again", nil, "m: line 2: key A (as T) appears twice (first on line 1)"},
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
				if k.File != "m" || k.Line < 1 {
					t.Errorf("key %d: File %q, Line %d; want m and a line", i, k.File, k.Line)
				}
				k.File, k.Line = "", 0
				if k != tt.want[i] {
					t.Errorf("key %d = %+v; want %+v", i, k, tt.want[i])
				}
			}
		})
	}
}

func TestWhere(t *testing.T) {
	m, err := Parse(strings.NewReader("# c\nA\n\nB as C: d"), "secrets.manifest")
	if err != nil {
		t.Fatal(err)
	}
	k := m.Keys[1]
	if k.File != "secrets.manifest" || k.Line != 4 || k.Where() != "secrets.manifest:4" {
		t.Errorf("File %q, Line %d, Where %q; want secrets.manifest, 4, secrets.manifest:4", k.File, k.Line, k.Where())
	}
	if got := k.String(); got != "B (as C)" {
		t.Errorf("String = %q; want B (as C)", got)
	}
	if got := k.Target(); got != "C" {
		t.Errorf("Target = %q; want C", got)
	}
	if got := m.Keys[0].Target(); got != "A" {
		t.Errorf("Target = %q; want A", got)
	}
	if got := (Key{Name: "A", File: "--require"}).Where(); got != "--require" {
		t.Errorf("Where = %q; want --require", got)
	}
}

func TestAdd(t *testing.T) {
	m := &Manifest{Keys: []Key{
		{Name: "A", Optional: true, File: "f", Line: 1},
		{Name: "B", Description: "b", File: "f", Line: 2},
		{Name: "PG_URL", As: "DATABASE_URL", Optional: true, File: "f", Line: 3},
	}}
	err := m.Add(
		Key{Name: "A", Description: "a", File: "g", Line: 1},
		Key{Name: "B", Description: "other", Optional: true, File: "g", Line: 2},
		Key{Name: "C", File: "--require"},
		Key{Name: "PG_URL", As: "DATABASE_URL", Description: "pg", File: "g", Line: 3},
		Key{Name: "PG_URL", File: "g", Line: 4},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []Key{
		{Name: "A", Description: "a", File: "f", Line: 1},
		{Name: "B", Description: "b", File: "f", Line: 2},
		{Name: "PG_URL", As: "DATABASE_URL", Description: "pg", File: "f", Line: 3},
		{Name: "C", File: "--require"},
		{Name: "PG_URL", File: "g", Line: 4},
	}
	if len(m.Keys) != len(want) {
		t.Fatalf("got %+v; want %+v", m.Keys, want)
	}
	for i := range want {
		if m.Keys[i] != want[i] {
			t.Errorf("key %d = %+v; want %+v", i, m.Keys[i], want[i])
		}
	}
	// One name from two store keys, across files or from --require.
	for _, tt := range []struct {
		key  Key
		want string
	}{
		{Key{Name: "DB_URL", As: "DATABASE_URL", File: "h", Line: 7}, "h: line 7: DATABASE_URL is the name of two keys: DB_URL (as DATABASE_URL) here and PG_URL (as DATABASE_URL) at f:3"},
		{Key{Name: "DATABASE_URL", File: "--require"}, "--require: DATABASE_URL is the name of two keys: DATABASE_URL here and PG_URL (as DATABASE_URL) at f:3"},
		{Key{Name: "X", As: "A", File: "h", Line: 1}, "h: line 1: A is the name of two keys: X (as A) here and A at f:1"},
		{Key{Name: "1X", File: "--require"}, "--require: not a portable key name"},
	} {
		err := m.Add(tt.key)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Add(%+v) = %v; want *SyntaxError %q", tt.key, err, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	m, err := New(Key{Name: "A", File: "w", Line: 1}, Key{Name: "PG_URL", As: "DATABASE_URL", File: "w", Line: 2}, Key{Name: "PG_URL", As: "PG_URL", File: "w", Line: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Keys) != 3 || m.Keys[1].As != "DATABASE_URL" || m.Keys[2].As != "" {
		t.Errorf("keys %+v; want A, PG_URL (as DATABASE_URL), PG_URL", m.Keys)
	}
	for _, tt := range []struct {
		keys []Key
		want string
	}{
		{[]Key{{Name: "", File: "sidecar"}}, "sidecar: empty key"},
		{[]Key{{Name: "A", As: "B-C", File: "sidecar"}}, "sidecar: the name after 'as' is not a portable key name"},
		{[]Key{{Name: "sk-canary", File: "sidecar"}}, "sidecar: not a portable key name"},
		{[]Key{{Name: "A", File: "s[0]"}, {Name: "A", File: "s[1]"}}, "s[1]: key A appears twice (first at s[0])"},
		{[]Key{{Name: "A", As: "T", File: "s[0]"}, {Name: "B", As: "T", File: "s[1]"}}, "s[1]: T is the name of two keys: B (as T) here and A (as T) at s[0]"},
	} {
		_, err := New(tt.keys...)
		var se *SyntaxError
		if !errors.As(err, &se) || err.Error() != tt.want && !strings.HasPrefix(err.Error(), tt.want+" (") {
			t.Errorf("New(%+v) = %v; want *SyntaxError %q", tt.keys, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "canary") {
			t.Errorf("New(%+v) quotes the name: %v", tt.keys, err)
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
		{Key: "ZZ_EXTRA", Value: "canary-extra", Source: "s"},
		{Key: "SET", Value: "canary-set", Source: "s", Description: "from store"},
		{Key: "EMPTY", Source: "s", Description: "store desc"},
		{Key: "OPT_EMPTY", Source: "s"},
		{Key: "AA_UNDECLARED_EMPTY", Source: "s"},
	}
	r, pass := Check(m, fetched)
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
	if got := passed(pass); got != "ZZ_EXTRA=canary-extra SET=canary-set" {
		t.Errorf("passed %s; want the two set keys in fetched order", got)
	}
	if r.Dropped != nil {
		t.Errorf("dropped %v; want none", r.Dropped)
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
	if r, pass := Check(nil, []Value{{Key: "A", Value: "canary-a"}}); r.Err() != nil || passed(pass) != "A=canary-a" {
		t.Errorf("no manifest: Err %v, passed %s; want no error, A", r.Err(), passed(pass))
	}
}

// passed returns the names and values the command gets, in order.
func passed(pass []Value) string {
	var b strings.Builder
	for i, v := range pass {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(v.Key + "=" + v.Value)
	}
	return b.String()
}

// TestCheckMapping checks renaming and --only-manifest together: the
// command gets each store key under the names the manifest gives it, and
// with Only nothing else; a store key whose name a rename takes is
// dropped; report and errors name both names.
func TestCheckMapping(t *testing.T) {
	text := `PG_URL as DATABASE_URL: Postgres
PG_URL as LEGACY_DB
STRIPE_SECRET_KEY
SENTRY? as SENTRY_DSN
MISSING_FROM as MISSING_TO: gone
EMPTY_FROM as EMPTY_TO
`
	fetched := []Value{
		{Key: "OTHER", Value: "canary-other", Source: "s"},
		{Key: "DATABASE_URL", Value: "canary-shadowed", Source: "s"},
		{Key: "PG_URL", Value: "canary-pg", Source: "s", Description: "store"},
		{Key: "STRIPE_SECRET_KEY", Value: "canary-stripe", Source: "s"},
		{Key: "EMPTY_FROM", Source: "s"},
		{Key: "OTHER_EMPTY", Source: "s"},
	}
	for _, only := range []bool{false, true} {
		m, err := Parse(strings.NewReader(text), "m")
		if err != nil {
			t.Fatal(err)
		}
		m.Only = only
		r, pass := Check(m, fetched)
		wantPass := "OTHER=canary-other DATABASE_URL=canary-pg LEGACY_DB=canary-pg STRIPE_SECRET_KEY=canary-stripe"
		wantDropped := "DATABASE_URL"
		wantEntries := []string{
			"PG_URL (as DATABASE_URL) set", "PG_URL (as LEGACY_DB) set", "STRIPE_SECRET_KEY set",
			"SENTRY (as SENTRY_DSN) not registered", "MISSING_FROM (as MISSING_TO) not registered",
			"EMPTY_FROM (as EMPTY_TO) registered, no value", "OTHER set", "OTHER_EMPTY registered, no value",
		}
		if only {
			wantPass = wantPass[len("OTHER=canary-other "):]
			wantDropped = "OTHER DATABASE_URL OTHER_EMPTY"
			wantEntries = wantEntries[:6]
		}
		if got := passed(pass); got != wantPass {
			t.Errorf("only %v: passed %s; want %s", only, got, wantPass)
		}
		if got := strings.Join(r.Dropped, " "); got != wantDropped {
			t.Errorf("only %v: dropped %s; want %s", only, got, wantDropped)
		}
		var entries []string
		for _, e := range r.Entries {
			entries = append(entries, e.String()+" "+e.Status.String())
		}
		if strings.Join(entries, "\n") != strings.Join(wantEntries, "\n") {
			t.Errorf("only %v: entries\n%s\nwant\n%s", only, strings.Join(entries, "\n"), strings.Join(wantEntries, "\n"))
		}
		if r.Entries[0].Target() != "DATABASE_URL" || r.Entries[0].Description != "Postgres" || r.Entries[1].Description != "store" {
			t.Errorf("only %v: entries %+v", only, r.Entries[:2])
		}
		err = r.Err()
		want := "2 required secrets are not set:\n" +
			"  MISSING_FROM (as MISSING_TO) (gone): not registered\n" +
			"  EMPTY_FROM (as EMPTY_TO): registered, no value in s"
		if !only {
			want = "3 required secrets are not set:\n" +
				"  MISSING_FROM (as MISSING_TO) (gone): not registered\n" +
				"  EMPTY_FROM (as EMPTY_TO): registered, no value in s\n" +
				"  OTHER_EMPTY: registered, no value in s"
		}
		if err == nil || err.Error() != want {
			t.Errorf("only %v: Err =\n%v\nwant\n%s", only, err, want)
		}
	}
	// Only with no keys: the command gets nothing, and nothing is fatal.
	r, pass := Check(&Manifest{Only: true}, fetched)
	if len(pass) != 0 || len(r.Entries) != 0 || len(r.Dropped) != len(fetched) || r.Err() != nil {
		t.Errorf("empty Only manifest: pass %v, report %+v", pass, r)
	}
}

func TestDisplayKey(t *testing.T) {
	long := strings.Repeat("K", 200)
	for _, tt := range []struct{ in, want string }{
		{"OPENAI_API_KEY", "OPENAI_API_KEY"},
		{"my-key", `"my-key"`},
		{"A\x1b[2J", `"A\x1b[2J"`},
		{"STRIPE_KEY=sk_live_canary", `"STRIPE_KEY=…"`},
		{"=canary", `"=…"`},
		{long, `"` + long[:128] + `…"`},
		{strings.Repeat("é", 100), `"` + strings.Repeat("é", 64) + `…"`},
	} {
		if got := DisplayKey(tt.in); got != tt.want {
			t.Errorf("DisplayKey(%.20q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestValueHidesValue checks that a Value formats and marshals without
// its value, whatever the verb.
func TestValueHidesValue(t *testing.T) {
	v := Value{Key: "K", Value: "canary-value", Description: "d", Source: "file:s.json"}
	outs := []string{fmt.Sprint(v), fmt.Sprintf("%+v %#v %s %q %x %d", v, v, v, v, v, v), fmt.Sprint([]Value{v}), fmt.Sprintf("%v", &v)}
	b, err := json.Marshal([]Value{v})
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(b))
	for _, out := range outs {
		if strings.Contains(out, "canary") || !strings.Contains(out, "K") {
			t.Errorf("formatted as %s; want the key without the value", out)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "A", "A:b", "A?:b", "# c\nA\n\nB: x # y", "A\nA", "1A", ":", "?", "\ufeffA",
		"OPENAI_API_KEY: OpenAI API key\nSENTRY_DSN?: optional\n",
		"PG_URL as DATABASE_URL: Postgres", "PG_URL? as DATABASE_URL", "A ? as B: x",
		"A as B\nA as C\nA", "A as B\nC as B", "A as", "A as B C", "A as B?", "as as as",
		"A as A", "A as B\nB as A", "A=canary as B", "A as B=canary",
		"A\tas\tB", "  A ?  as  B :  d # e ", "A AS B", "A as: B", "A as B:", "A? as B\nA as C\nA?",
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
		targets := make(map[string]bool)
		var lines strings.Builder
		for _, k := range m.Keys {
			if !Portable(k.Name) {
				t.Fatalf("accepted non-portable key %q", k.Name)
			}
			if k.As != "" && (!Portable(k.As) || k.As == k.Name) {
				t.Fatalf("accepted the name %q for %q", k.As, k.Name)
			}
			if targets[k.Target()] {
				t.Fatalf("accepted the name %q twice", k.Target())
			}
			targets[k.Target()] = true
			if strings.TrimSpace(k.Description) != k.Description {
				t.Fatalf("description %q not trimmed", k.Description)
			}
			if k.File != "m" || k.Line < 1 {
				t.Fatalf("key %+v: want File m and a line", k)
			}
			// The key written back as a line of its own.
			lines.WriteString(k.Name)
			if k.Optional {
				lines.WriteString("?")
			}
			if k.As != "" {
				lines.WriteString(" as " + k.As)
			}
			if k.Description != "" {
				lines.WriteString(": " + k.Description)
			}
			lines.WriteString("\n")
		}
		again, err := Parse(strings.NewReader(lines.String()), "m")
		if err != nil {
			t.Fatalf("keys written back do not parse: %v\n%s", err, lines.String())
		}
		if len(again.Keys) != len(m.Keys) {
			t.Fatalf("written back: %d keys; want %d", len(again.Keys), len(m.Keys))
		}
		for i, k := range again.Keys {
			k.Line = m.Keys[i].Line
			if k != m.Keys[i] {
				t.Fatalf("written back: %+v; want %+v", k, m.Keys[i])
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
		"A as sk-live-canary",
		"sk-live-canary as A",
		"A as B canary",
		"A as B=canary",
		"PG_URL as DB_URL=postgres://u:canary@h/db",
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
