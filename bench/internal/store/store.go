// Package store is the secrets server the benchmarks run against: it
// answers GET /N/secrets with N generated secrets in the Fusebase envelope,
// and can admit only so many requests a second, answering the others 429
// with Retry-After, as a rate-limited store does.
package store

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxSecrets bounds N in /N/secrets.
const MaxSecrets = 100000

// Server is an http.Handler. Its zero value serves without a rate limit.
type Server struct {
	// Rate is how many requests a second are admitted; zero admits all.
	// Up to one second's worth may arrive at once.
	Rate float64

	requests, served, limited atomic.Int64

	mu     sync.Mutex
	bodies map[int][]byte
	tokens float64
	last   time.Time
}

// Stats counts the secrets requests a Server saw.
type Stats struct {
	Requests int64 `json:"requests"`
	Served   int64 `json:"served"`  // answered 200
	Limited  int64 `json:"limited"` // answered 429
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Served: s.served.Load(), Limited: s.limited.Load()}
}

// ServeHTTP answers GET /N/secrets, and GET /stats with the counts, which
// it does not count.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/stats" {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Stats())
		return
	}
	n, ok := parsePath(r.URL.Path)
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	s.requests.Add(1)
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if wait, ok := s.admit(time.Now()); !ok {
		s.limited.Add(1)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"message":"rate limit exceeded","name":"TooManyRequests"}`))
		return
	}
	s.served.Add(1)
	body := s.body(n)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// parsePath reads N from /N/secrets.
func parsePath(p string) (int, bool) {
	rest, ok := strings.CutSuffix(strings.TrimPrefix(p, "/"), "/secrets")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || n > MaxSecrets {
		return 0, false
	}
	return n, true
}

// admit takes a token from a bucket that holds up to Rate tokens and gains
// Rate a second. Without one, it says how long until the next.
func (s *Server) admit(now time.Time) (time.Duration, bool) {
	if s.Rate <= 0 {
		return 0, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last.IsZero() {
		s.tokens = s.Rate
	} else {
		s.tokens = math.Min(s.Rate, s.tokens+now.Sub(s.last).Seconds()*s.Rate)
	}
	s.last = now
	if s.tokens >= 1 {
		s.tokens--
		return 0, true
	}
	return time.Duration((1 - s.tokens) / s.Rate * float64(time.Second)), false
}

// body returns the envelope for n secrets, built once.
func (s *Server) body(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.bodies[n]; ok {
		return b
	}
	if s.bodies == nil {
		s.bodies = make(map[int][]byte)
	}
	b := Envelope(n)
	s.bodies[n] = b
	return b
}

// Envelope returns n secrets SECRET_00000… in the Fusebase envelope, each
// with a 40-character value and a description, as the API returns them.
func Envelope(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"secrets":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"key":"SECRET_%05d","value":"%s","description":"benchmark secret %d"}`, i, Value(i), i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// Value is the value of secret i: 40 characters, different for each i.
func Value(i int) string {
	return fmt.Sprintf("v%08x-%030x", i, uint64(i)*0x9e3779b97f4a7c15)
}
