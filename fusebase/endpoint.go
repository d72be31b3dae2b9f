package fusebase

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/secretexec/secretexec/internal/redact"
)

// Bases maps each Fusebase environment name to its API base URL.
var Bases = map[string]string{
	"prod":  "https://public-api.thefusebase.com",
	"dev":   "https://public-api.dev-thefusebase.com",
	"local": "http://localhost:3000",
}

// DefaultEnv is the environment used when nothing names one.
const DefaultEnv = "prod"

// BaseURL returns the API base URL of the named environment.
func BaseURL(env string) (string, error) {
	if base, ok := Bases[env]; ok {
		return base, nil
	}
	return "", fmt.Errorf("unknown Fusebase environment %q; want prod, dev or local", env)
}

// Endpoint returns the secrets URL of app:
// {base}/v1/orgs/{orgId}/apps/{appId}/features/{app.ID}/secrets, where
// appId is the project's parent app. Each id is escaped as one path
// segment.
func (p *Project) Endpoint(base string, app App) (string, error) {
	if p.OrgID == "" {
		return "", fmt.Errorf("%s: no orgId", p.File)
	}
	if p.AppID == "" {
		return "", fmt.Errorf("%s: no appId", p.File)
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("API base URL %q is not an http or https URL", redact.URL(base))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", fmt.Errorf("API base URL %q has a query or fragment; the secrets path goes after it", redact.URL(base))
	}
	return strings.TrimRight(u.String(), "/") + "/v1/orgs/" + url.PathEscape(p.OrgID) +
		"/apps/" + url.PathEscape(p.AppID) +
		"/features/" + url.PathEscape(app.ID) + "/secrets", nil
}

// Options are what a run knows before looking at any file: the values of
// flags and variables. Resolve reads no process state itself.
type Options struct {
	// Dir is the working directory, where the search for fusebase.json
	// starts and which picks the app.
	Dir string
	// Home is the user's home directory, for ~/.fusebase/config.json; ""
	// skips the file.
	Home string
	// URL is the full secrets endpoint (--url); it skips fusebase.json.
	URL string
	// App picks the app by id or path (--app).
	App string
	// APIURL is the API base URL (--api-url, FUSEBASE_API_URL).
	APIURL string
	// Env is the environment name from FUSEBASE_ENV.
	Env string
	// APIKey is FUSEBASE_API_KEY.
	APIKey string
}

// A Target is where and how to fetch one app's secrets.
type Target struct {
	URL    string
	APIKey string
	// App is the picked app; zero when the URL was given.
	App App
	// Project is the fusebase.json found, or nil.
	Project *Project
}

// ErrNoKey is returned by Key when no API key is configured.
var ErrNoKey = errors.New("no Fusebase API key: FUSEBASE_API_KEY is not set and there is no apiKey in ~/.fusebase/config.json")

// Resolve finds the endpoint and the key. The endpoint is o.URL, else it
// is built from the fusebase.json above o.Dir, the app Pick chooses, and
// the API base: o.APIURL, else the environment named by o.Env, the
// project's env, config.json's env, or prod. The key is o.APIKey, else
// config.json's apiKey. config.json is read only when needed.
func Resolve(o Options) (*Target, error) {
	t := &Target{URL: o.URL}
	var cfg *Config
	config := func() (*Config, error) {
		if cfg != nil {
			return cfg, nil
		}
		c, err := LoadConfig(o.Home)
		if err != nil {
			return nil, err
		}
		cfg = c
		return cfg, nil
	}
	if t.URL == "" {
		p, err := FindProject(o.Dir)
		if err != nil {
			return nil, err
		}
		t.Project = p
		if t.App, err = p.Pick(o.App, o.Dir); err != nil {
			return nil, err
		}
		base := o.APIURL
		if base == "" {
			env, from := o.Env, "FUSEBASE_ENV"
			if env == "" {
				env, from = p.Env, p.File
			}
			if env == "" {
				c, err := config()
				if err != nil {
					return nil, err
				}
				env, from = c.Env, c.File
			}
			if env == "" {
				env = DefaultEnv
			}
			if base, err = BaseURL(env); err != nil {
				return nil, fmt.Errorf("%s: %w", from, err)
			}
		}
		if t.URL, err = p.Endpoint(base, t.App); err != nil {
			return nil, err
		}
	}
	key, err := Key(o.APIKey, func() (*Config, error) { return config() })
	if err != nil {
		return nil, err
	}
	t.APIKey = key
	return t, nil
}

// Key returns apiKey, or else the apiKey of the config that load returns.
// It is ErrNoKey when neither has one.
func Key(apiKey string, load func() (*Config, error)) (string, error) {
	if apiKey != "" {
		return apiKey, nil
	}
	c, err := load()
	if err != nil {
		return "", err
	}
	if c.APIKey == "" {
		return "", ErrNoKey
	}
	return c.APIKey, nil
}

// CreateCommand returns the one `fusebase secret create` line that
// registers every key with its description, quoted for a POSIX shell.
func CreateCommand(appID string, keys []KeyDescription) string {
	var b strings.Builder
	b.WriteString("fusebase secret create --app ")
	b.WriteString(shellQuote(appID, false))
	for _, k := range keys {
		arg := k.Key
		if k.Description != "" {
			arg += ":" + k.Description
		}
		b.WriteString(" --secret ")
		b.WriteString(shellQuote(arg, true))
	}
	return b.String()
}

// A KeyDescription is a key to register and what it is for.
type KeyDescription struct {
	Key         string
	Description string
}

// shellQuote quotes s for a POSIX shell: bare when it is a plain word
// (unless always), in double quotes as the Fusebase docs write
// `--secret "KEY:description"`, or in single quotes when s holds a
// character the shell would expand inside double quotes.
func shellQuote(s string, always bool) string {
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./:", r))
	}) < 0
	switch {
	case plain && !always:
		return s
	case !strings.ContainsAny(s, "$`\\\"!"):
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
