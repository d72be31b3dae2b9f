package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/secretexec/secretexec/fusebase"
	"github.com/secretexec/secretexec/internal/redact"
)

// Defaults of a Client.
const (
	DefaultRetries      = 8
	DefaultRetryWait    = 250 * time.Millisecond
	DefaultRetryWaitMax = 5 * time.Second
	// DefaultHeaderWait is the least time a request waits for the
	// answer's headers before it is given up and retried.
	DefaultHeaderWait = 10 * time.Second
)

// A Client holds the settings every HTTP source of a run shares.
type Client struct {
	// Retries is how many times a failed request is retried: up to
	// Retries+1 requests in all.
	Retries int
	// RetryWait bounds the first backoff; each later one may be twice as
	// long, up to RetryWaitMax. Zero means the defaults.
	RetryWait, RetryWaitMax time.Duration
	// HeaderWait is the least time one request waits for the answer's
	// headers; it waits a third of the time left if that is longer. A
	// connection that hangs is then retried, instead of eating the whole
	// --timeout. Zero means DefaultHeaderWait.
	HeaderWait time.Duration
	// Log receives a debug line per request and response and a warning
	// per retry, never with a query string, a header or a body. Nil
	// discards them.
	Log *slog.Logger
}

// HTTP is a secrets endpoint: GET answers with either shape Decode reads,
// given the Fusebase API key as a Bearer token.
//
// Connection errors, 429 and 5xx other than 501 are retried with
// exponential backoff and full jitter, within the deadline of the context
// passed to Fetch; Retry-After is honoured when it fits in that time.
type HTTP struct {
	URL    string
	APIKey string
	Client Client

	// For a Fusebase app, the app and the project it came from, for
	// messages and hints; empty when the URL was given.
	app     string
	project *fusebase.Project
}

// NewHTTP returns the source for an endpoint URL given by the user. A URL
// that is not http or https, or plain http to a host other than loopback,
// is a Config error: nothing is sent.
func NewHTTP(rawURL, apiKey string, c Client) (*HTTP, error) {
	h := &HTTP{URL: rawURL, APIKey: apiKey, Client: c}
	if err := checkURL(rawURL); err != nil {
		return nil, &Error{Kind: Config, Source: h.Name(), Err: err}
	}
	if apiKey == "" {
		return nil, noKeyError(h.Name())
	}
	var err error
	if h.APIKey, err = cleanKey(apiKey); err != nil {
		return nil, &Error{Kind: Config, Source: h.Name(), Err: err}
	}
	return h, nil
}

// NewFusebase returns the source for a Fusebase app: o.URL, or the
// endpoint built from fusebase.json, with the key from o.APIKey or
// ~/.fusebase/config.json (see fusebase.Resolve). Every problem is a
// Config error with hints.
func NewFusebase(o fusebase.Options, c Client) (*HTTP, error) {
	t, err := fusebase.Resolve(o)
	if err != nil {
		return nil, resolveError(err)
	}
	h := &HTTP{URL: t.URL, APIKey: t.APIKey, Client: c, app: t.App.ID, project: t.Project}
	if h.APIKey, err = cleanKey(t.APIKey); err != nil {
		return nil, &Error{Kind: Config, Source: h.Name(), Err: err}
	}
	if err := checkURL(t.URL); err != nil {
		if h.app != "" {
			err = fmt.Errorf("%s: %w", h.endpoint(), err)
		}
		e := &Error{Kind: Config, Source: h.Name(), Err: err}
		if o.URL == "" && o.APIURL != "" {
			e.Hints = []string{"the API base comes from --api-url or FUSEBASE_API_URL"}
		}
		return nil, e
	}
	return h, nil
}

// resolveError adds hints to a problem with the Fusebase settings.
func resolveError(err error) error {
	e := &Error{Kind: Config, Source: "fusebase", Err: err}
	var appErr *fusebase.AppError
	switch {
	case errors.Is(err, fusebase.ErrNoKey):
		return noKeyError("fusebase")
	case errors.Is(err, fusebase.ErrNoProject):
		e.Hints = []string{"run in the app's folder, or give the endpoint with --url or SECRETEXEC_URL"}
	case errors.As(err, &appErr) && len(appErr.Apps) > 0:
		e.Hints = []string{"pick the app with --app ID or SECRETEXEC_APP, or run in its folder"}
	}
	return e
}

// cleanKey trims the white space a key picks up from `echo` into a
// Kubernetes Secret or a hand-edited config.json, and refuses a key that
// cannot be sent in a header: without this, the request fails the same
// way every time and would be retried until the deadline.
func cleanKey(key string) (string, error) {
	key = strings.TrimSpace(key)
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c == 0x7f {
			return "", errors.New("the Fusebase API key (FUSEBASE_API_KEY or apiKey in ~/.fusebase/config.json) holds a control character")
		}
	}
	if key == "" {
		return "", fusebase.ErrNoKey
	}
	return key, nil
}

func noKeyError(source string) *Error {
	return &Error{Kind: Config, Source: source, Err: fusebase.ErrNoKey,
		Hints: []string{"run `fusebase auth`, or set FUSEBASE_API_KEY (in a container)"}}
}

// errPlainHTTP refuses plain http to a remote host: the key would travel
// in clear text.
var errPlainHTTP = errors.New("plain http is allowed only to localhost, 127.0.0.0/8 and ::1; use https")

// checkURL accepts https URLs, and http URLs to loopback hosts.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("not an http or https URL: %s", redact.URL(raw))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errPlainHTTP
	}
	return fmt.Errorf("not an http or https URL: %s", redact.URL(raw))
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name returns "fusebase app ID" for an app, else the URL without user
// info or query string.
func (h *HTTP) Name() string {
	if h.app != "" {
		return "fusebase app " + h.app
	}
	return h.endpoint()
}

// AppID returns the Fusebase app the source reads: the app picked from
// fusebase.json, or the feature id in a URL of the Fusebase API's form
// (…/features/ID/secrets). It is "" for any other URL.
func (h *HTTP) AppID() string {
	if h.app != "" {
		return h.app
	}
	u, err := url.Parse(h.URL)
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

// Project returns the fusebase.json the source's app was picked from, or
// nil when the URL was given.
func (h *HTTP) Project() *fusebase.Project { return h.project }

// where prefixes messages about requests: the Name of an app does not
// show the URL, so the message does.
func (h *HTTP) where() string {
	if h.app == "" {
		return ""
	}
	return "GET " + h.endpoint() + ": "
}

// endpoint is the URL without user info or query string.
func (h *HTTP) endpoint() string {
	return redact.URL(h.URL)
}

// Fetch requests the secrets, retrying as the type's comment says.
func (h *HTTP) Fetch(ctx context.Context) ([]Secret, error) {
	if err := checkURL(h.URL); err != nil {
		return nil, &Error{Kind: Config, Source: h.Name(), Err: err}
	}
	f := &attempt{h: h, ctx: ctx, log: h.Client.Log, start: time.Now()}
	if f.log == nil {
		f.log = slog.New(discard{})
	}
	wait, waitMax := h.Client.RetryWait, h.Client.RetryWaitMax
	if wait <= 0 {
		wait = DefaultRetryWait
	}
	if waitMax <= 0 {
		waitMax = DefaultRetryWaitMax
	}
	waitMax = max(waitMax, wait)
	retries := max(h.Client.Retries, 0)
	c := &retryablehttp.Client{
		HTTPClient:     h.httpClient(h.headerWait(ctx)),
		Logger:         retryLog{f.log},
		RetryWaitMin:   wait,
		RetryWaitMax:   waitMax,
		RetryMax:       retries,
		CheckRetry:     f.checkRetry,
		Backoff:        f.backoff,
		ErrorHandler:   f.giveUp,
		RequestLogHook: f.request,
		ResponseLogHook: func(_ retryablehttp.Logger, resp *http.Response) {
			f.log.Debug("response", "method", "GET", "host", resp.Request.URL.Host, "path", resp.Request.URL.Path,
				"status", resp.StatusCode, "attempt", f.attempts)
		},
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return nil, &Error{Kind: Config, Source: h.Name(), Err: fmt.Errorf("bad URL: %s", h.endpoint())}
	}
	req.Header.Set("Authorization", "Bearer "+h.APIKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "secretexec")
	req.SetResponseHandler(f.read)
	// The transport is this fetch's own: close its idle connection when
	// done, rather than hold a socket to the store while a supervised
	// command runs (--init).
	defer c.HTTPClient.CloseIdleConnections()
	resp, err := c.Do(req)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err == nil {
		return f.secrets, nil
	}
	return nil, f.failure(resp, err)
}

// httpClient verifies TLS against the system roots (which honour
// SSL_CERT_FILE and SSL_CERT_DIR) and refuses redirects to plain http on
// a remote host.
func (h *HTTP) httpClient(headerWait time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	t.ResponseHeaderTimeout = headerWait
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return checkURL(req.URL.String())
		},
	}
}

// headerWait is how long one request waits for the answer's headers: the
// Client's HeaderWait, or a third of the time left before ctx's deadline
// if that is longer, so that a hung connection leaves time for two more
// tries. A slow body is never cut short by it; only --timeout does that.
func (h *HTTP) headerWait(ctx context.Context) time.Duration {
	wait := h.Client.HeaderWait
	if wait <= 0 {
		wait = DefaultHeaderWait
	}
	if deadline, ok := ctx.Deadline(); ok {
		wait = max(wait, time.Until(deadline)/3)
	}
	return wait
}

// attempt is the state of one Fetch across its requests.
type attempt struct {
	h        *HTTP
	ctx      context.Context
	log      *slog.Logger
	start    time.Time
	attempts int    // requests sent so far
	last     string // why the last request failed, for messages
	secrets  []Secret
}

func (f *attempt) request(_ retryablehttp.Logger, req *http.Request, retry int) {
	f.attempts = retry + 1
	f.log.Debug("request", "method", req.Method, "host", req.URL.Host, "path", req.URL.Path, "attempt", f.attempts)
}

// read handles every answer that is not retried by status: it decodes a
// 2xx body, or turns any other status into an *Error. An *Error of kind
// Unavailable (the body broke off) is retried; others are final.
func (f *attempt) read(resp *http.Response) error {
	h := f.h
	if retryable(resp.StatusCode) {
		return nil // checkRetry stopped the retries and says why
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return f.statusError(resp)
	}
	if resp.ContentLength > MaxSize {
		return &Error{Kind: Protocol, Source: h.Name(), Err: &TooBigError{Limit: MaxSize}}
	}
	// The body is decoded as it arrives; its length, when the server sent
	// one, sizes the decoder's buffers.
	secrets, err := decodeSized(limitReader(resp.Body, MaxSize), h.Name(), resp.ContentLength)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Kind == Unavailable {
			f.last = "the answer broke off"
		}
		if errors.As(err, &e) && e.Kind == Protocol && h.app == "" {
			e.Hints = append(e.Hints, "check that the URL is a Fusebase secrets endpoint")
		}
		return err
	}
	f.secrets = secrets
	return nil
}

// statusError describes a final non-2xx answer: its status and the
// server's message, never the raw body.
func (f *attempt) statusError(resp *http.Response) *Error {
	h := f.h
	e := &Error{Kind: Protocol, Source: h.Name()}
	msg := serverMessage(resp.Body)
	what := status(resp)
	if msg != "" {
		what += ": " + strconv.Quote(msg)
	}
	if f.attempts > 1 {
		what += fmt.Sprintf(" (attempt %d)", f.attempts)
	}
	e.Err = errors.New(h.where() + what)
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		e.Kind = Permission
		e.Hints = []string{"check FUSEBASE_API_KEY, or run `fusebase auth` to renew the key in ~/.fusebase/config.json"}
		if resp.StatusCode == http.StatusForbidden && h.app != "" {
			e.Hints = append(e.Hints, fmt.Sprintf("the key must belong to a member of the org that owns app %s", h.app))
		}
	case http.StatusNotFound:
		e.Kind = Config
		if h.app == "" {
			e.Hints = []string{"check the endpoint URL (--url, SECRETEXEC_URL or --from)"}
			break
		}
		hint := fmt.Sprintf("check the app id %q", h.app)
		if p := h.project; p != nil {
			hint += fmt.Sprintf(": %s lists %s", p.File, strings.Join(p.IDs(), ", "))
		}
		e.Hints = []string{hint, "check orgId and appId in fusebase.json, and FUSEBASE_ENV or FUSEBASE_API_URL"}
	}
	return e
}

func status(resp *http.Response) string {
	if t := http.StatusText(resp.StatusCode); t != "" {
		return strconv.Itoa(resp.StatusCode) + " " + t
	}
	return strconv.Itoa(resp.StatusCode)
}

// maxMessage is how much of the server's message an error repeats.
const maxMessage = 200

// serverMessage returns the "message" of a JSON error body, cut to
// maxMessage characters, or "" when the body is anything else.
func serverMessage(body io.Reader) string {
	var v struct {
		Message any `json:"message"`
	}
	b, err := io.ReadAll(io.LimitReader(body, 64<<10))
	if err != nil || json.Unmarshal(b, &v) != nil {
		return ""
	}
	s, ok := v.Message.(string)
	if !ok {
		return ""
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) > maxMessage {
		s = string([]rune(s)[:maxMessage]) + "…"
	}
	return s
}

// checkRetry is the retry policy: connection errors, 429, and 5xx other
// than 501. A body that broke off is retried too; every other answer is
// final. Retry-After past the deadline ends the retries at once.
func (f *attempt) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		if err != nil && resp == nil && f.last == "" {
			// The deadline cut the only request short; an earlier
			// failure, when there was one, says more.
			f.last = "no answer"
		}
		return false, ctx.Err()
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return e.Kind == Unavailable, err
		}
		if errors.Is(err, errPlainHTTP) || isCertError(err) {
			return false, err
		}
		// The library's policy tells a transport failure, worth another
		// try, from one that would fail the same way again: too many
		// redirects, a redirect to another scheme, an invalid header.
		if retry, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err); !retry {
			return false, &Error{Kind: Protocol, Source: f.h.Name(), Err: errors.New(f.h.where() + netProblem(err))}
		}
		f.last = netProblem(err)
		return true, nil
	}
	if retryable(resp.StatusCode) {
		f.last = status(resp)
		if d, ok := retryAfter(resp); ok {
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
				return false, &retryAfterError{status: f.last, wait: d}
			}
		}
		return true, nil
	}
	return false, nil
}

func retryable(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500 && code != http.StatusNotImplemented
}

// retryAfterError: the server asked for a wait past the deadline.
type retryAfterError struct {
	status string
	wait   time.Duration
}

func (e *retryAfterError) Error() string {
	return fmt.Sprintf("%s with Retry-After %s, past the --timeout", e.status, e.wait)
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 || s > 24*3600 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// backoff waits a random time up to RetryWait·2^n (full jitter), capped
// at RetryWaitMax, after failed request n (from 0). When the server sent
// Retry-After, the wait is that long plus the jitter, which spreads a herd
// of clients told the same time; it stays within the deadline.
func (f *attempt) backoff(first, most time.Duration, n int, resp *http.Response) time.Duration {
	ceiling := most
	if n < 32 && first<<n > 0 && first<<n < most {
		ceiling = first << n
	}
	wait := rand.N(ceiling + 1)
	if d, ok := retryAfter(resp); ok {
		wait += d
		if deadline, ok := f.ctx.Deadline(); ok {
			if left := time.Until(deadline); wait > left && d <= left {
				wait = d
			}
		}
	}
	f.log.Warn(fmt.Sprintf("%s: %s; retry %d of %d in %s",
		f.h.Name(), f.last, n+1, f.h.Client.Retries, wait.Round(time.Millisecond)))
	return wait
}

// giveUp keeps the last response, so that failure can read it.
func (f *attempt) giveUp(resp *http.Response, err error, n int) (*http.Response, error) {
	f.attempts = n
	if err == nil {
		err = errRetriesExhausted
	}
	return resp, err
}

var errRetriesExhausted = errors.New("retries exhausted")

// failure turns the end of a failed Fetch into an *Error.
func (f *attempt) failure(resp *http.Response, err error) error {
	h := f.h
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	tries := plural(f.attempts, "attempt")
	if f.ctx.Err() != nil {
		if !errors.Is(f.ctx.Err(), context.DeadlineExceeded) {
			// Interrupted, by a signal most likely: the caller knows why.
			return &Error{Kind: Unavailable, Source: h.Name(), Err: context.Cause(f.ctx)}
		}
		why := fmt.Sprintf("%stimed out after %s (%s", h.where(), time.Since(f.start).Round(100*time.Millisecond), tries)
		if f.last != "" {
			why += "; last: " + f.last
		}
		return &Error{Kind: Unavailable, Source: h.Name(), Err: errors.New(why + ")"),
			Hints: []string{"the store may be down or slow; --timeout (SECRETEXEC_TIMEOUT) sets how long to wait"}}
	}
	var ra *retryAfterError
	switch {
	case errors.As(err, &ra):
		return &Error{Kind: Unavailable, Source: h.Name(), Err: fmt.Errorf("%s%w (%s)", h.where(), ra, tries)}
	case errors.Is(err, errPlainHTTP):
		return &Error{Kind: Config, Source: h.Name(), Err: fmt.Errorf("%sredirected: %w", h.where(), errPlainHTTP)}
	case isCertError(err):
		var verify *tls.CertificateVerificationError
		if errors.As(err, &verify) {
			err = verify.Err
		}
		return &Error{Kind: Unavailable, Source: h.Name(), Err: fmt.Errorf("%sTLS: %s", h.where(), netProblem(err)),
			Hints: []string{"the server's certificate is not trusted; SSL_CERT_FILE can name a CA bundle that signs it"}}
	case resp != nil:
		msg := serverMessage(resp.Body)
		what := status(resp)
		if msg != "" {
			what += ": " + strconv.Quote(msg)
		}
		return &Error{Kind: Unavailable, Source: h.Name(), Err: fmt.Errorf("%s%s after %s", h.where(), what, tries)}
	}
	return &Error{Kind: Unavailable, Source: h.Name(), Err: fmt.Errorf("%s%s after %s", h.where(), netProblem(err), tries)}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// netProblem describes a transport error without the URL, which
// *url.Error quotes in full.
func netProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
		var sys *os.SyscallError
		if errors.As(err, &sys) {
			err = sys.Err
		}
		if op.Op == "dial" {
			return "connecting: " + err.Error()
		}
	}
	return err.Error()
}

func isCertError(err error) bool {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &host) || errors.As(err, &verify)
}

// retryLog adapts slog to go-retryablehttp's logger. The library's own
// lines carry the full URL, query string included, and errors that quote
// it; this keeps only method, host, path, the wait and the retries left,
// at debug level, since Fetch logs what matters itself.
type retryLog struct{ log *slog.Logger }

func (l retryLog) Error(msg string, kv ...any) { l.log.Debug("http: "+msg, clean(kv)...) }
func (l retryLog) Warn(msg string, kv ...any)  { l.log.Debug("http: "+msg, clean(kv)...) }
func (l retryLog) Info(msg string, kv ...any)  { l.log.Debug("http: "+msg, clean(kv)...) }

// Debug drops the library's debug lines, which repeat what the request
// hook and backoff log with more detail.
func (l retryLog) Debug(string, ...any) {}

func clean(kv []any) []any {
	var out []any
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		v := kv[i+1]
		switch k {
		case "method":
			out = append(out, "method", v)
		case "url":
			if u, err := url.Parse(fmt.Sprint(v)); err == nil {
				out = append(out, "host", u.Host, "path", u.Path)
			}
		case "timeout":
			out = append(out, "wait", v)
		case "remaining":
			out = append(out, "retries_left", v)
		case "error":
			if err, ok := v.(error); ok {
				out = append(out, "error", netProblem(err))
			}
		}
	}
	return out
}

// discard is a slog.Handler that drops everything.
type discard struct{}

func (discard) Enabled(context.Context, slog.Level) bool  { return false }
func (discard) Handle(context.Context, slog.Record) error { return nil }
func (d discard) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discard) WithGroup(string) slog.Handler           { return d }
