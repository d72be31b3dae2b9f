package fusebase

import (
	"strings"
	"testing"
)

// FuzzParseProject checks that any fusebase.json either parses into apps
// that all have ids, or fails with an error that quotes none of the file.
func FuzzParseProject(f *testing.F) {
	for _, seed := range []string{
		threeApps,
		`{"orgId":"o","appId":"a","features":[{"id":"f","path":"./x/"}]}`,
		`{"apps":[{"id":"a","path":"."},{"id":"b","path":"../up"}]}`,
		`{"apps":[{"path":"x"}]}`,
		`{"apps":null,"features":[]}`,
		`{"apps": [ {"id": "QUOTEME`,
		`{"apps": {"id": "QUOTEME"}}`,
		`["QUOTEME"]`,
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		p, err := parseProject([]byte(content), "/p/fusebase.json")
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "/p/fusebase.json: ")
			if strings.Contains(content, "QUOTEME") && strings.Contains(msg, "QUOTEME") {
				t.Fatalf("error quotes the file: %v", err)
			}
			return
		}
		for _, a := range p.Apps {
			if a.ID == "" {
				t.Fatalf("app without id: %+v", p.Apps)
			}
			if a.Path == "." {
				t.Fatalf("path %q should be empty", a.Path)
			}
		}
		// Picking never panics, whatever the paths.
		p.Pick("", "/p/x")
		p.Pick("x", "/p")
	})
}
