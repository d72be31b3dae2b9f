package fusebase

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/secretexec/secretexec/fetch"
)

// A Source reads one Fusebase app's secrets: from the endpoint built from
// fusebase.json, or from an endpoint URL the user gave. Its errors are
// fetch's, with hints in Fusebase's terms.
type Source struct {
	http *fetch.HTTP
	// app is the app picked from fusebase.json, "" when the URL was given.
	app     string
	project *Project
}

// NewSource returns the source that Resolve(o) describes. Every problem
// is a *fetch.Error of kind Config, with hints.
func NewSource(o Options, c fetch.Client) (*Source, error) {
	t, err := Resolve(o)
	if err != nil {
		return nil, resolveError(err)
	}
	s := &Source{app: t.App.ID, project: t.Project}
	h := &fetch.HTTP{URL: t.URL, Client: c}
	if s.app != "" {
		h.Label = "fusebase app " + s.app
	}
	s.http = h
	if h.APIKey, err = fetch.CleanKey(t.APIKey); err != nil {
		if errors.Is(err, fetch.ErrNoKey) {
			return nil, noKeyError(h.Name())
		}
		return nil, &fetch.Error{Kind: fetch.Config, Source: h.Name(),
			Err: errors.New("the Fusebase API key (FUSEBASE_API_KEY or apiKey in ~/.fusebase/config.json) holds a control character")}
	}
	if err := fetch.CheckURL(t.URL); err != nil {
		if s.app != "" {
			err = fmt.Errorf("%s: %w", h.Endpoint(), err)
		}
		e := &fetch.Error{Kind: fetch.Config, Source: h.Name(), Err: err}
		if o.URL == "" && o.APIURL != "" {
			e.Hints = []string{"the API base comes from --api-url or FUSEBASE_API_URL"}
		}
		return nil, e
	}
	return s, nil
}

// resolveError adds hints to a problem with the Fusebase settings.
func resolveError(err error) error {
	e := &fetch.Error{Kind: fetch.Config, Source: "fusebase", Err: err}
	var appErr *AppError
	switch {
	case errors.Is(err, ErrNoKey):
		return noKeyError("fusebase")
	case errors.Is(err, ErrNoProject):
		e.Hints = []string{"run in the app's folder, or give the endpoint with --url or SECRETEXEC_URL"}
	case errors.As(err, &appErr) && len(appErr.Apps) > 0:
		e.Hints = []string{"pick the app with --app ID or SECRETEXEC_APP, or run in its folder"}
	}
	return e
}

func noKeyError(source string) *fetch.Error {
	return &fetch.Error{Kind: fetch.Config, Source: source, Err: ErrNoKey,
		Hints: []string{"run `fusebase auth`, or set FUSEBASE_API_KEY (in a container)"}}
}

// Name returns "fusebase app ID" for an app picked from fusebase.json,
// else the URL without user info or query string.
func (s *Source) Name() string { return s.http.Name() }

// Endpoint returns the URL without user info or query string.
func (s *Source) Endpoint() string { return s.http.Endpoint() }

// URL returns the endpoint URL in full, user info and query string
// included, for what must tell one endpoint from another, such as the
// binding of a fallback copy. It is never for messages.
func (s *Source) URL() string { return s.http.URL }

// APIKey returns the key the source sends.
func (s *Source) APIKey() string { return s.http.APIKey }

// AppID returns the Fusebase app the source reads: the app picked from
// fusebase.json, or the feature id in a URL of the Fusebase API's form
// (…/features/ID/secrets). It is "" for any other URL.
func (s *Source) AppID() string {
	if s.app != "" {
		return s.app
	}
	u, err := url.Parse(s.http.URL)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if n := len(parts); n >= 3 && parts[n-1] == "secrets" && parts[n-3] == "features" {
		if id, err := url.PathUnescape(parts[n-2]); err == nil {
			return id
		}
	}
	return ""
}

// Project returns the fusebase.json the app was picked from, or nil when
// the URL was given.
func (s *Source) Project() *Project { return s.project }

// Fetch fetches the secrets, and says what to do about a failure.
func (s *Source) Fetch(ctx context.Context) ([]fetch.Secret, error) {
	secrets, err := s.http.Fetch(ctx)
	var e *fetch.Error
	if err != nil && errors.As(err, &e) {
		e.Hints = append(e.Hints, s.hints(e)...)
	}
	return secrets, err
}

// hints says what to do about a failed fetch, in Fusebase's terms.
func (s *Source) hints(e *fetch.Error) []string {
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		h := []string{"check FUSEBASE_API_KEY, or run `fusebase auth` to renew the key in ~/.fusebase/config.json"}
		if e.Status == http.StatusForbidden && s.app != "" {
			h = append(h, fmt.Sprintf("the key must belong to a member of the org that owns app %s", s.app))
		}
		return h
	case e.Status == http.StatusNotFound && s.app == "":
		return []string{"check the endpoint URL (--url, SECRETEXEC_URL or --from)"}
	case e.Status == http.StatusNotFound:
		hint := fmt.Sprintf("check the app id %q", s.app)
		if p := s.project; p != nil {
			hint += fmt.Sprintf(": %s lists %s", p.File, strings.Join(p.IDs(), ", "))
		}
		return []string{hint, "check orgId and appId in fusebase.json, and FUSEBASE_ENV or FUSEBASE_API_URL"}
	case e.Kind == fetch.Protocol && e.Status == 0 && s.app == "":
		return []string{"check that the URL is a Fusebase secrets endpoint"}
	}
	return nil
}

// RegisterHints says how to register keys an app lacks, named as list:
// the one `fusebase secret create` line that registers them all.
func RegisterHints(appID, list string, keys []KeyDescription) []string {
	return []string{
		fmt.Sprintf("register %s in app %s, then fill in the values on the Fusebase website:", list, appID),
		"  " + CreateCommand(appID, keys),
	}
}

// FillHint says how to fill in n keys, named as list, that the app holds
// without a value.
func (s *Source) FillHint(list string, n int) string {
	where := "app " + s.AppID()
	if p := s.project; p != nil && p.OrgID != "" {
		where += " of org " + p.OrgID
	}
	verb, pronoun := "is", "it"
	if n > 1 {
		verb, pronoun = "are", "them"
	}
	return fmt.Sprintf("%s %s registered in Fusebase without a value: fill %s in on the Fusebase website (%s, Secrets), or mark %s optional in the manifest (KEY?)",
		list, verb, pronoun, where, pronoun)
}
