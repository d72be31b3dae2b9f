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
	"math"
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
	// UserAgent is sent with every request; "" sends "secretexec".
	UserAgent string
	// Log receives a debug line per request and response and a warning
	// per retry, never with a query string, a header or a body. Nil
	// discards them.
	Log *slog.Logger
	// QuietRetries makes the retries debug lines, not warnings, for a
	// caller that reports the failure once itself (a --watch poll).
	QuietRetries bool
	// Transport, when set (see NewTransport), carries the requests
	// instead of a transport of each Fetch's own, and keeps its idle
	// connection from one Fetch to the next: for --watch, whose polls
	// would otherwise each connect and shake hands again. HeaderWait is
	// then the transport's.
	Transport *http.Transport
}

// NewTransport returns a transport for Client.Transport: TLS verified as
// for every fetch, and headerWait the time a request waits for the
// answer's headers (zero: DefaultHeaderWait).
func NewTransport(headerWait time.Duration) *http.Transport {
	if headerWait <= 0 {
		headerWait = DefaultHeaderWait
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	t.ResponseHeaderTimeout = headerWait
	return t
}

// HTTP is a secrets endpoint: GET answers with either shape Decode reads,
// given the API key as a Bearer token.
//
// Connection errors, 429 and 5xx other than 501 are retried with
// exponential backoff and full jitter, within the deadline of the context
// passed to Fetch; Retry-After is honoured when it fits in that time.
type HTTP struct {
	URL    string
	APIKey string
	Client Client
	// Label, when set, names the source in messages instead of its URL,
	// which the messages about requests then show.
	Label string
}

// NewHTTP returns the source for an endpoint URL. A URL that is not http
// or https, or plain http to a host other than loopback, and a missing key
// or one that cannot be sent in a header are Config errors: nothing is
// sent.
func NewHTTP(rawURL, apiKey string, c Client) (*HTTP, error) {
	h := &HTTP{URL: rawURL, APIKey: apiKey, Client: c}
	if err := CheckURL(rawURL); err != nil {
		return nil, &Error{Kind: Config, Source: h.Name(), Err: err}
	}
	var err error
	if h.APIKey, err = CleanKey(apiKey); err != nil {
		return nil, &Error{Kind: Config, Source: h.Name(), Err: err}
	}
	return h, nil
}

// ErrNoKey is the error of an empty API key.
var ErrNoKey = errors.New("no API key")

// CleanKey trims the white space a key picks up from `echo` into a
// Kubernetes Secret or a hand-edited file, and refuses a key that cannot
// be sent in a header: without this, the request fails the same way every
// time and would be retried until the deadline.
func CleanKey(key string) (string, error) {
	key = strings.TrimSpace(key)
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c == 0x7f {
			return "", errors.New("the API key holds a control character")
		}
	}
	if key == "" {
		return "", ErrNoKey
	}
	return key, nil
}

// ErrPlainHTTP refuses plain http to a remote host: the key would travel
// in clear text.
var ErrPlainHTTP = errors.New("plain http is allowed only to localhost, 127.0.0.0/8 and ::1; use https")

// CheckURL accepts https URLs, and http URLs to loopback hosts.
func CheckURL(raw string) error {
	if redact.AmbiguousUserinfo(raw) {
		return errors.New("its user info holds '#' or '?', which end the host; percent-encode them (%23, %3F)")
	}
	if redact.SlashUserinfo(raw) {
		return errors.New("its user info holds '/' after a number, which a parser takes for the port, ending the host there; percent-encode the '/' (%2F), or an '@' in the path (%40)")
	}
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
		return ErrPlainHTTP
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

// Name returns the Label, else the URL without user info or query string.
func (h *HTTP) Name() string {
	if h.Label != "" {
		return h.Label
	}
	return h.Endpoint()
}

// where prefixes messages about requests: a Label does not show the URL,
// so the message does.
func (h *HTTP) where() string {
	if h.Label == "" {
		return ""
	}
	return "GET " + h.Endpoint() + ": "
}

// Endpoint is the URL without user info or query string.
func (h *HTTP) Endpoint() string {
	return redact.URL(h.URL)
}

// Fetch requests the secrets, retrying as the type's comment says.
func (h *HTTP) Fetch(ctx context.Context) ([]Secret, error) {
	if err := CheckURL(h.URL); err != nil {
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
		return nil, &Error{Kind: Config, Source: h.Name(), Err: fmt.Errorf("bad URL: %s", h.Endpoint())}
	}
	req.Header.Set("Authorization", "Bearer "+h.APIKey)
	req.Header.Set("Accept", "application/json")
	ua := h.Client.UserAgent
	if ua == "" {
		ua = "secretexec"
	}
	req.Header.Set("User-Agent", ua)
	req.SetResponseHandler(f.read)
	// A transport of this fetch's own: close its idle connection when
	// done, rather than hold a socket to the store while a supervised
	// command runs (--init).
	if h.Client.Transport == nil {
		defer c.HTTPClient.CloseIdleConnections()
	}
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
	t := h.Client.Transport
	if t == nil {
		t = NewTransport(headerWait)
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return &Error{Kind: Protocol, Source: h.Name(),
					Err: fmt.Errorf("%sredirected to a %s: URL", h.where(), redact.Printable(req.URL.Scheme))}
			}
			return CheckURL(req.URL.String())
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
	// The body is decoded as it arrives, and draws on the byte budget all
	// sources of the fetch share.
	b := budgetFrom(f.ctx)
	if err := b.fits(resp.ContentLength); err != nil {
		return &Error{Kind: Protocol, Source: h.Name(), Err: err}
	}
	secrets, err := decodeFrom(b, resp.Body, resp.ContentLength, h.Name())
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Kind == Unavailable {
			f.last = "the answer broke off"
		}
		return err
	}
	f.secrets = secrets
	return nil
}

// statusError describes a final non-2xx answer: its status and the
// server's message, never the raw body. 401 and 403 are Permission, 404
// Config, any other Protocol; the caller adds what to do about them.
func (f *attempt) statusError(resp *http.Response) *Error {
	what := f.answer(resp)
	if f.attempts > 1 {
		what += fmt.Sprintf(" (attempt %d)", f.attempts)
	}
	e := &Error{Kind: Protocol, Source: f.h.Name(), Status: resp.StatusCode, Err: errors.New(f.h.where() + what)}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		e.Kind = Permission
	case http.StatusNotFound:
		e.Kind = Config
	}
	return e
}

// answer describes an answer by its status and the server's message, with
// the API key cut out should the server repeat it.
func (f *attempt) answer(resp *http.Response) string {
	what := status(resp)
	if msg := serverMessage(resp.Body); msg != "" {
		msg = redact.Scrub(msg, f.h.APIKey)
		what += ": " + strconv.Quote(msg)
	}
	return what
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
		if errors.Is(err, ErrPlainHTTP) || isCertError(err) {
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
			if deadline, ok := ctx.Deadline(); d == neverRetry || ok && time.Until(deadline) < d {
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
	if e.wait == neverRetry {
		return e.status + " with a Retry-After that is negative or over a day"
	}
	return fmt.Sprintf("%s with Retry-After %s, past the --timeout", e.status, e.wait)
}

// maxRetryAfter is the longest Retry-After, in seconds, worth waiting for.
const maxRetryAfter = 24 * 3600

// neverRetry stands for a Retry-After that no deadline leaves time for.
const neverRetry = time.Duration(math.MaxInt64)

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
		if s < 0 || s > maxRetryAfter {
			// Negative is nonsense, and over a day is no outage to wait
			// out: either way the wait is past any deadline.
			return neverRetry, true
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
	level := slog.LevelWarn
	if f.h.Client.QuietRetries {
		level = slog.LevelDebug
	}
	f.log.Log(f.ctx, level, fmt.Sprintf("%s: %s; retry %d of %d in %s",
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
	case errors.Is(err, ErrPlainHTTP):
		return &Error{Kind: Config, Source: h.Name(), Err: fmt.Errorf("%sredirected: %w", h.where(), ErrPlainHTTP)}
	case isCertError(err):
		var verify *tls.CertificateVerificationError
		if errors.As(err, &verify) {
			err = verify.Err
		}
		return &Error{Kind: Unavailable, Source: h.Name(), Err: fmt.Errorf("%sTLS: %s", h.where(), netProblem(err)),
			Hints: []string{"the server's certificate is not trusted; SSL_CERT_FILE can name a CA bundle that signs it"}}
	case resp != nil:
		return &Error{Kind: Unavailable, Source: h.Name(), Status: resp.StatusCode,
			Err: fmt.Errorf("%s%s after %s", h.where(), f.answer(resp), tries)}
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
