package fusebase

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/secretexec/secretexec/manifest"
)

// A Sidecar is one container that Fusebase deploys beside an app's
// backend: an entry of its fusebase.json backend.sidecars[], or of a
// backend.jobs[].sidecars[].
type Sidecar struct {
	Name string
	// Job is the name of the job whose list holds the entry; "" for the
	// backend's own sidecars.
	Job string
	// Secrets is the whitelist of the app's secrets the container gets,
	// each under its As name.
	Secrets []SidecarSecret
	// Env is the container's fixed environment. It wins over a secret of
	// the same name.
	Env map[string]string
	// Where names the entry in messages: the file, the app and the name.
	Where string
}

// A SidecarSecret is one entry of a sidecar's secrets: "KEY", which passes
// the app's secret KEY as KEY, or {"from": "KEY", "as": "NAME"}.
type SidecarSecret struct {
	From string
	As   string
}

// The parts of an app's backend object that sidecars are read from, as
// the Fusebase CLI writes them (its SidecarConfig and BackendJobConfig).
type backendJSON struct {
	Sidecars []sidecarJSON `json:"sidecars"`
	Jobs     []struct {
		Name     string        `json:"name"`
		Sidecars []sidecarJSON `json:"sidecars"`
	} `json:"jobs"`
}

type sidecarJSON struct {
	Name    string            `json:"name"`
	Env     map[string]string `json:"env"`
	Secrets []json.RawMessage `json:"secrets"`
}

// Sidecar returns the sidecar called name of app, one of p.Apps, looked
// for in the app's backend.sidecars and in each of its backend.jobs[]'s
// sidecars. An empty name, a name no entry or more than one entry has,
// and an entry Fusebase would not deploy (an empty secret name, a target
// name twice, a malformed field) are errors; the one for an unknown name
// lists the names there are.
func (p *Project) Sidecar(app App, name string) (*Sidecar, error) {
	if name == "" {
		return nil, fmt.Errorf("%s: the sidecar name is empty", p.File)
	}
	i := p.index(app)
	if i < 0 {
		return nil, fmt.Errorf("%s: no app %s", p.File, app)
	}
	var backend backendJSON
	if raw := bytes.TrimSpace(p.backends[i]); len(raw) > 0 {
		if err := json.Unmarshal(raw, &backend); err != nil {
			return nil, fmt.Errorf("%s: %s[%d].backend: %s", p.File, p.listName(), i, jsonProblem(err))
		}
	}
	type place struct {
		job string
		sc  *sidecarJSON
	}
	var all, found []place
	for j := range backend.Sidecars {
		all = append(all, place{"", &backend.Sidecars[j]})
	}
	for _, job := range backend.Jobs {
		for j := range job.Sidecars {
			all = append(all, place{job.Name, &job.Sidecars[j]})
		}
	}
	var names []string
	for _, pl := range all {
		n := strconv.Quote(pl.sc.Name)
		if pl.job != "" {
			n += " (job " + strconv.Quote(pl.job) + ")"
		}
		names = append(names, n)
		if pl.sc.Name == name {
			found = append(found, pl)
		}
	}
	where := fmt.Sprintf("%s: app %s", p.File, app.ID)
	switch {
	case len(found) == 0 && len(all) == 0:
		return nil, fmt.Errorf("%s has no sidecars, so none named %q", where, name)
	case len(found) == 0:
		return nil, fmt.Errorf("%s has no sidecar %q; it has %s", where, name, strings.Join(names, ", "))
	case len(found) > 1:
		return nil, fmt.Errorf("%s has %d sidecars named %q; it has %s", where, len(found), name, strings.Join(names, ", "))
	}
	pl := found[0]
	s := &Sidecar{Name: name, Job: pl.job, Env: pl.sc.Env, Where: where + " sidecar " + strconv.Quote(name)}
	if pl.job != "" {
		s.Where += " of job " + strconv.Quote(pl.job)
	}
	for j, raw := range pl.sc.Secrets {
		sec, err := parseSidecarSecret(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: secrets[%d]: %w", s.Where, j, err)
		}
		s.Secrets = append(s.Secrets, sec)
	}
	for k, v := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("%s: env: a name that is empty or holds '=' or NUL, or a value that holds NUL", s.Where)
		}
	}
	// The manifest's own rules: portable names, no target twice.
	if _, err := s.Manifest(); err != nil {
		return nil, err
	}
	return s, nil
}

// index returns the position of app in p.Apps, or -1.
func (p *Project) index(app App) int {
	for i, a := range p.Apps {
		if a == app {
			return i
		}
	}
	return -1
}

// parseSidecarSecret reads "KEY" or {"from": "KEY", "as": "NAME"}, both
// names not empty, as the Fusebase CLI requires.
func parseSidecarSecret(raw json.RawMessage) (SidecarSecret, error) {
	var s SidecarSecret
	if bytes.HasPrefix(raw, []byte(`"`)) {
		if err := json.Unmarshal(raw, &s.From); err != nil {
			return s, fmt.Errorf("%s", jsonProblem(err))
		}
		s.As = s.From
	} else {
		var obj struct {
			From *string `json:"from"`
			As   *string `json:"as"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil || obj.From == nil || obj.As == nil {
			return s, fmt.Errorf(`want "KEY" or {"from": "KEY", "as": "NAME"}`)
		}
		s.From, s.As = *obj.From, *obj.As
	}
	if s.From == "" || s.As == "" {
		return s, fmt.Errorf("empty name")
	}
	return s, nil
}

// Manifest returns the sidecar's secrets as a manifest: every key
// required, under its target name, and Only, so that the command gets
// these keys alone. Each key's File names its entry.
func (s *Sidecar) Manifest() (*manifest.Manifest, error) {
	keys := make([]manifest.Key, len(s.Secrets))
	for i, sec := range s.Secrets {
		keys[i] = manifest.Key{Name: sec.From, As: sec.As, File: fmt.Sprintf("%s secrets[%d]", s.Where, i)}
	}
	m, err := manifest.New(keys...)
	if err != nil {
		return nil, err
	}
	m.Only = true
	return m, nil
}
