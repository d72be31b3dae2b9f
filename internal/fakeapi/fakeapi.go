// Package fakeapi is a fake Fusebase secrets API for tests: an
// httptest.Server on the loopback interface that serves secrets per app
// and fails on demand (5xx runs, 429 with Retry-After, hangs, resets, bad
// statuses, bad bodies, huge bodies, rate limits). It records every
// request it receives. A Server is safe for concurrent use.
package fakeapi

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Secret is one stored key, value and description.
type Secret struct {
	Key         string `json:"key"`
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
}

// A Request is what the server saw of one request.
type Request struct {
	Method string
	Path   string // as sent, escaped
	Query  string
	Header http.Header
	At     time.Time
}

// A Server is a running fake API. Its URL is the API base URL.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	key      string
	apps     map[string][]Secret // by the path's feature id
	faults   []fault             // applied in order, one request each
	sticky   *fault              // applied when faults is empty
	requests []Request
	conns    int       // connections accepted
	window   time.Time // rate limiting: the current one-second window
	inWindow int

	closing chan struct{}
	once    sync.Once
}

// New starts a plain http server. Close it when done.
func New() *Server { return start(false) }

// NewTLS starts an https server with a certificate of its own, valid for
// 127.0.0.1; CertPEM returns it for clients to trust.
func NewTLS() *Server { return start(true) }

func start(tls bool) *Server {
	s := &Server{apps: make(map[string][]Secret), closing: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.serve)
	s.Server = httptest.NewUnstartedServer(mux)
	// Failed TLS handshakes and resets are what some tests are about.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
		}
	}
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	return s
}

// CertPEM returns the TLS server's certificate in PEM form, nil for a
// plain server.
func (s *Server) CertPEM() []byte {
	c := s.Certificate()
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// Close releases hanging handlers and stops the server.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closing) })
	s.Server.Close()
}

// SetKey makes the server answer 401 unless a request carries
// "Authorization: Bearer key". An empty key accepts any request.
func (s *Server) SetKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = key
}

// SetSecrets stores the secrets of one app, replacing its previous ones.
// app is the feature id of the path
// /v1/orgs/{org}/apps/{parent}/features/{app}/secrets; any org and parent
// are accepted. An app with no secrets set answers 404.
func (s *Server) SetSecrets(app string, secrets ...Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[app] = append([]Secret(nil), secrets...)
}

// AddSecret appends one secret to an app's, creating the app.
func (s *Server) AddSecret(app string, secret Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[app] = append(s.apps[app], secret)
}

// Requests returns a copy of every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	copy(out, s.requests)
	return out
}

// Conns returns how many connections the server has accepted, TLS
// handshakes that failed included.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Reset forgets the recorded requests and faults, keeping key and secrets.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.faults, s.sticky = nil, nil, nil
}

// A fault is one way to answer a request.
type fault struct {
	mode       string // a status number, or one of the named modes
	retryAfter string // the Retry-After header value, if any
	rate       int    // for "rate": requests admitted per second
}

// SetFault replaces the server's faults by spec, a comma-separated list of
// MODE, MODExN (the next N requests only) and MODE:ARG. A MODE without xN
// applies to every later request. Once the counted faults are used up the
// server answers normally, unless a sticky one follows them. Modes:
//
//	ok            answer normally (the envelope shape)
//	flat          answer normally in the flat {"KEY":"value"} shape
//	NNN           that status with a JSON {"message","name"} body
//	NNN:S         the same with Retry-After: S (seconds, or an HTTP date)
//	429, 503      as NNN; 429:S and 503:S add Retry-After
//	html502       502 with an HTML body
//	longmessage   500 with a message of 1000 characters
//	hang          never answer (until the client gives up)
//	reset         reset the connection without an answer
//	malformed     200 with broken JSON
//	shape         200 with JSON of the wrong shape (a top-level array)
//	huge          200 with a 17 MiB body and its Content-Length
//	hugechunked   200 with a 17 MiB body and no Content-Length
//	eqkey         200 with the secrets and a key holding "="
//	nul           200 with the secrets and a value holding NUL
//	rate:N        admit N requests a second, answer others 429 with Retry-After: 1
//	redirectloop  302 back to the same URL, for ever
//	cut           200 whose body breaks off before its Content-Length
//	echo:NNN      status NNN whose message repeats the Authorization header
//	redirectfile  302 to a file: URL
//	empty         200 with no secrets: {"secrets":[]}
//	message       200 with an error body: {"message":"rate limited"}
//
// Example: "503x3" fails three times, then serves the secrets.
func (s *Server) SetFault(spec string) error {
	var faults []fault
	var sticky *fault
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if sticky != nil {
			return fmt.Errorf("fakeapi: %q follows %q, which never ends", part, sticky.mode)
		}
		f, n, err := parseFault(part)
		if err != nil {
			return err
		}
		if n == 0 {
			sticky = &f
			continue
		}
		for i := 0; i < n; i++ {
			faults = append(faults, f)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.sticky = faults, sticky
	return nil
}

// parseFault reads MODE[:ARG][xN]; n is 0 for a sticky fault.
func parseFault(part string) (f fault, n int, err error) {
	if i := strings.LastIndex(part, "x"); i > 0 {
		if v, err := strconv.Atoi(part[i+1:]); err == nil {
			if v < 1 {
				return f, 0, fmt.Errorf("fakeapi: %q: count must be positive", part)
			}
			n, part = v, part[:i]
		}
	}
	mode, arg, hasArg := strings.Cut(part, ":")
	f.mode = mode
	switch mode {
	case "ok", "flat", "html502", "longmessage", "hang", "reset", "malformed", "shape", "huge", "hugechunked", "eqkey", "nul", "redirectloop", "cut":
		if hasArg {
			return f, 0, fmt.Errorf("fakeapi: %q takes no argument", mode)
		}
	case "echo":
		if code, err := strconv.Atoi(arg); err != nil || code < 100 || code > 599 {
			return f, 0, fmt.Errorf("fakeapi: %q: want echo:NNN", part)
		}
		f.retryAfter = arg // the status, for serve
	case "redirectfile", "empty", "message":
		if hasArg {
			return f, 0, fmt.Errorf("fakeapi: %q takes no argument", mode)
		}
	case "rate":
		if f.rate, err = strconv.Atoi(arg); err != nil || f.rate < 1 {
			return f, 0, fmt.Errorf("fakeapi: %q: want rate:N with N > 0", part)
		}
	default:
		code, err := strconv.Atoi(mode)
		if err != nil || code < 100 || code > 599 {
			return f, 0, fmt.Errorf("fakeapi: unknown fault %q", part)
		}
		f.retryAfter = arg
	}
	return f, n, nil
}

// next records r and returns the fault that answers it.
func (s *Server) next(r *http.Request) (fault, string, []Secret, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.requests = append(s.requests, Request{
		Method: r.Method,
		Path:   r.URL.EscapedPath(),
		Query:  r.URL.RawQuery,
		Header: r.Header.Clone(),
		At:     now,
	})
	f := fault{mode: "ok"}
	switch {
	case len(s.faults) > 0:
		f, s.faults = s.faults[0], s.faults[1:]
	case s.sticky != nil:
		f = *s.sticky
	}
	if f.mode == "rate" {
		if now.Sub(s.window) >= time.Second {
			s.window, s.inWindow = now, 0
		}
		s.inWindow++
		if s.inWindow > f.rate {
			f = fault{mode: "429", retryAfter: "1"}
		} else {
			f = fault{mode: "ok"}
		}
	}
	app := appOf(r.URL.Path)
	secrets, ok := s.apps[app]
	secrets = append([]Secret(nil), secrets...)
	authorized := s.key == "" || r.Header.Get("Authorization") == "Bearer "+s.key
	if f.mode == "ok" || f.mode == "flat" || f.mode == "eqkey" || f.mode == "nul" {
		if !authorized {
			f = fault{mode: "401"}
		} else if !ok {
			f = fault{mode: "404"}
		}
	}
	return f, app, secrets, ok
}

// appOf returns the feature id of a secrets path, or "".
func appOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) == 8 && parts[0] == "v1" && parts[1] == "orgs" && parts[3] == "apps" && parts[5] == "features" && parts[7] == "secrets" {
		return parts[6]
	}
	return ""
}

var messages = map[int]struct{ name, message string }{
	400: {"BadRequestError", "Bad request"},
	401: {"UnauthorizedError", "Invalid or expired API key"},
	403: {"ForbiddenError", "The API key has no access to this app"},
	404: {"NotFoundError", "Feature not found"},
	429: {"TooManyRequestsError", "Rate limit exceeded"},
	500: {"InternalServerError", "Internal server error"},
	501: {"NotImplementedError", "Not implemented"},
	502: {"BadGatewayError", "Bad gateway"},
	503: {"ServiceUnavailableError", "Service unavailable"},
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	f, _, secrets, _ := s.next(r)
	switch f.mode {
	case "ok":
		writeJSON(w, http.StatusOK, map[string]any{"secrets": nonNil(secrets)})
	case "flat":
		writeJSON(w, http.StatusOK, flat(secrets))
	case "eqkey":
		writeJSON(w, http.StatusOK, map[string]any{"secrets": append(secrets, Secret{Key: "BAD=KEY", Value: "canary-eqkey-value"})})
	case "nul":
		writeJSON(w, http.StatusOK, map[string]any{"secrets": append(secrets, Secret{Key: "NUL_VALUE", Value: "canary\x00nul"})})
	case "redirectloop":
		http.Redirect(w, r, r.URL.RequestURI(), http.StatusFound)
	case "redirectfile":
		w.Header().Set("Location", "file:///etc/passwd")
		w.WriteHeader(http.StatusFound)
	case "echo":
		code, _ := strconv.Atoi(f.retryAfter)
		writeJSON(w, code, map[string]string{"name": "Error", "message": "denied for auth=" + r.Header.Get("Authorization") +
			" key=" + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
	case "empty":
		writeJSON(w, http.StatusOK, map[string]any{"secrets": []Secret{}})
	case "message":
		writeJSON(w, http.StatusOK, map[string]string{"message": "rate limited"})
	case "cut":
		w.Header().Set("Content-Length", "4096")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"secrets":[{"key":"A",`) // the server then drops the connection
	case "html502":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n")
	case "longmessage":
		writeJSON(w, http.StatusInternalServerError, map[string]string{"name": "InternalServerError", "message": strings.Repeat("m", 1000)})
	case "hang":
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
	case "reset":
		reset(w)
	case "malformed":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"secrets": [{"key": "A" "value": "canary-malformed"}]}`)
	case "shape":
		writeJSON(w, http.StatusOK, []any{map[string]string{"key": "A", "value": "canary-shape"}})
	case "huge", "hugechunked":
		writeHuge(w, f.mode == "huge")
	default:
		code, _ := strconv.Atoi(f.mode)
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		m, ok := messages[code]
		if !ok {
			m.name, m.message = "Error", http.StatusText(code)
		}
		writeJSON(w, code, map[string]string{"name": m.name, "message": m.message})
	}
}

// flat is the {"KEY":"value"} shape, in the order of the secrets.
type flat []Secret

func (f flat) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, s := range f {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(s.Key)
		v, _ := json.Marshal(s.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func nonNil(s []Secret) []Secret {
	if s == nil {
		return []Secret{}
	}
	return s
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

// HugeSize is the size of the huge bodies, 1 MiB over the client's limit.
const HugeSize = 17 << 20

// writeHuge sends a valid envelope of HugeSize bytes, so that only its
// size is wrong. Without Content-Length it is sent chunked.
func writeHuge(w http.ResponseWriter, withLength bool) {
	head := []byte(`{"secrets":[{"key":"BIG","value":"`)
	tail := []byte(`"}]}`)
	w.Header().Set("Content-Type", "application/json")
	if withLength {
		w.Header().Set("Content-Length", strconv.Itoa(HugeSize))
	}
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(head); err != nil {
		return
	}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for left := HugeSize - len(head) - len(tail); left > 0; {
		n := min(left, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			return // the client gave up, as it should
		}
		if f, ok := w.(http.Flusher); ok && !withLength {
			f.Flush()
		}
		left -= n
	}
	w.Write(tail)
}

// reset closes the connection with a TCP reset instead of an answer.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("fakeapi: cannot hijack the connection")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = tc.NetConn() // under TLS, reset the TCP connection itself
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}
