package lint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// forged is a file name that, printed raw, adds a GitHub Actions command of
// its own to the output.
const forged = ".env.\n::warning file=README.md,line=1::forged"

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"src/main.js", "src/main.js"},
		{`dir\name é €.js`, `dir\name é €.js`},
		{forged, `.env.\n::warning file=README.md,line=1::forged`},
		{"a\r\tb", `a\r\tb`},
		{"\x1b[31mred\x1b]0;title\x07", `\x1b[31mred\x1b]0;title\a`},
		{"del\x7f c1\u0085\u009b", `del\x7f c1\u0085\u009b`},
		{"line\u2028para\u2029", `line\u2028para\u2029`},
		{"bidi\u202eexe.js", `bidi\u202eexe.js`},
		{"bad\xff\xc3", `bad\xff\xc3`},
		{"\U000e0001tag", `\U000e0001tag`},
	}
	for _, tt := range tests {
		if got := escape(tt.in); got != tt.want {
			t.Errorf("escape(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

// hostileFindings holds outside text in every field that can carry it.
var hostileFindings = []Finding{
	{Path: "backend/" + forged, Line: 1, Col: 1, Severity: Error, Message: "m"},
	{Path: "src/\x1b]0;x\x07\x7f\u0085\u009b\u2028\u202e.js", Line: 2, Col: 3, Severity: Warning, Message: "secret K (file:\r\n::error::x) named"},
	{Path: "src/\U000e0001.js", Line: 1, Col: 1, Severity: Error, Message: "ok"},
}

// checkLine fails unless s is one line free of control, format and
// separator characters.
func checkLine(t *testing.T, s string) {
	t.Helper()
	for _, r := range s {
		if !printable(r, utf8.RuneLen(r)) {
			t.Errorf("output holds %U: %q", r, s)
		}
	}
}

func TestFindingString(t *testing.T) {
	for _, f := range hostileFindings {
		s := f.String()
		checkLine(t, s)
		if !strings.HasPrefix(s, escape(f.Path)+":") {
			t.Errorf("String() = %q; want it to begin with the escaped path", s)
		}
	}
	if got, want := hostileFindings[0].String(), `backend/.env.\n::warning file=README.md,line=1::forged:1:1: error: m`; got != want {
		t.Errorf("String() = %s; want %s", got, want)
	}
}

// TestFindingJSON checks that the JSON report holds no character that
// escape escapes and decodes to the exact findings.
func TestFindingJSON(t *testing.T) {
	b, err := json.MarshalIndent(hostileFindings, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		checkLine(t, l)
		if strings.HasPrefix(l, "::") {
			t.Errorf("a line of the report begins with \"::\": %s", l)
		}
	}
	var back []Finding
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for i := range back {
		if back[i] != hostileFindings[i] {
			t.Errorf("decoded %+v; want %+v", back[i], hostileFindings[i])
		}
	}
	plain, err := json.Marshal(Finding{Path: "src/a.js", Line: 1, Col: 2, Severity: Error, Message: `a "b" <c>`})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"path":"src/a.js","line":1,"col":2,"severity":"error","message":"a \"b\" \u003cc\u003e"}`; string(plain) != want {
		t.Errorf("json = %s; want %s", plain, want)
	}
}

// TestHostileNames lints a tree whose file names and key origins carry
// control characters: each finding prints as one line.
func TestHostileNames(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"backend/" + forged:          "OPENAI_API_KEY=canary-x\n",
		"src/\x1b[2J\x07.js":         `x = "SECRET_KEY"` + "\n",
		"src/a\u2028b\u202e.env.vue": "",
	}
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Skipf("the file system refuses the name %q: %v", name, err)
		}
	}
	found, err := Run(root, Options{Keys: []Key{{Name: "SECRET_KEY", Origin: "file:x\n::error::forged"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 {
		t.Fatalf("findings %q; want 2", lines(found))
	}
	for _, f := range found {
		checkLine(t, f.String())
	}
	sameLines(t, lines(found), []string{
		`backend/.env.\n::warning file=README.md,line=1::forged:1:1: error: .env file in backend code; keep secrets in the store and delete the file`,
		`src/\x1b[2J\a.js:1:6: error: secret SECRET_KEY (file:x\n::error::forged) named in browser code`,
	})
}

// TestHostileErrors checks that app ids and paths from a project's files
// and key names from a store are escaped in errors too.
func TestHostileErrors(t *testing.T) {
	root := t.TempDir()
	for _, opts := range []Options{
		{Apps: []App{{ID: "web\n::error::forged", Path: "missing"}}},
		{Apps: []App{{Path: "missing\r\n::error::forged"}}},
		{Apps: []App{{ID: "web", Path: "../\x1b[2J"}}},
		{Keys: []Key{{Name: "K\n::error::forged", App: "nowhere\x07"}}},
	} {
		_, err := Run(root, opts)
		if err == nil {
			t.Fatalf("Run(%+v) succeeded", opts)
		}
		checkLine(t, err.Error())
	}
}
