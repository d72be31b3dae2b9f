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
		sidecarProject,
		`{"apps":[{"id":"x","backend":{"sidecars":[{"name":"worker","secrets":["A",{"from":"B","as":"A"}]}]}}]}`,
		`{"apps":[{"id":"x","backend":{"jobs":[{"name":"j","sidecars":[{"name":"worker","env":{"A":"1"},"secrets":[{"from":"A"}]}]}]}}]}`,
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
		// A sidecar read is one Fusebase would deploy: every key
		// required, no name twice.
		for _, a := range p.Apps {
			s, err := p.Sidecar(a, "worker")
			if err != nil {
				continue
			}
			m, err := s.Manifest()
			if err != nil || !m.Only || len(m.Keys) != len(s.Secrets) {
				t.Fatalf("sidecar %+v: manifest %+v, %v", s, m, err)
			}
			seen := map[string]bool{}
			for _, k := range m.Keys {
				if k.Optional || seen[k.Target()] {
					t.Fatalf("sidecar %+v: key %+v optional or twice", s, k)
				}
				seen[k.Target()] = true
			}
		}
	})
}
