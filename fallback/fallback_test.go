package fallback

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretexec/secretexec/fetch"
)

// writerEnv, when set in the environment, makes the test binary a writer
// for TestConcurrentWriters: it writes set number writerSetEnv to the path
// it names once its standard input closes, and exits.
const (
	writerEnv    = "SECRETEXEC_FALLBACK_TEST_WRITE"
	writerSetEnv = "SECRETEXEC_FALLBACK_TEST_SET"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(writerEnv); path != "" {
		os.Exit(writer(path, os.Getenv(writerSetEnv)))
	}
	os.Exit(m.Run())
}

func writer(path, set string) int {
	n, err := strconv.Atoi(set)
	if err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		return 2
	}
	secrets := herdSet(n)
	// Start line: every writer waits until the test closes its stdin, so
	// that the writes overlap.
	io.Copy(io.Discard, os.Stdin)
	if err := Write(path, herdKey, herdEndpoints, secrets, herdFetched); err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		return 1
	}
	return 0
}

const (
	herdKey   = "canary-apikey-herd"
	herdCount = 200
)

var (
	herdEndpoints = []string{"https://api.example/secrets"}
	herdFetched   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// herdSet returns writer n's set: a number of secrets and value sizes of
// its own, so that a file mixing two writes could never pass for either.
func herdSet(n int) []fetch.Secret {
	s := make([]fetch.Secret, 1+n%13)
	for j := range s {
		s[j] = fetch.Secret{
			Key:   fmt.Sprintf("KEY_%d", j),
			Value: fmt.Sprintf("canary-%d-%d-", n, j) + strings.Repeat("x", 500*(n%7)+j),
		}
	}
	return s
}

// matchHerd returns an error unless c is exactly one writer's set.
func matchHerd(c *Copy) error {
	var n int
	if len(c.Secrets) == 0 {
		return errors.New("the copy holds no secrets")
	}
	if _, err := fmt.Sscanf(c.Secrets[0].Value, "canary-%d-", &n); err != nil {
		return fmt.Errorf("the first value does not name its writer: %v", err)
	}
	if want := herdSet(n); !reflect.DeepEqual(c.Secrets, want) {
		return fmt.Errorf("the copy is not writer %d's set: %d secrets; want %d", n, len(c.Secrets), len(want))
	}
	if !c.Fetched.Equal(herdFetched) {
		return fmt.Errorf("fetched %v; want %v", c.Fetched, herdFetched)
	}
	return nil
}

// canarySet returns secrets whose values, descriptions and sources all
// start with "canary-".
func canarySet() []fetch.Secret {
	return []fetch.Secret{
		{Key: "DATABASE_URL", Value: "canary-postgres://u:p@db/app", Description: "canary-description", Source: "canary-source"},
		{Key: "API_TOKEN", Value: "canary-token-0123456789", Source: "fusebase"},
		{Key: "MULTILINE", Value: "canary-line1\ncanary-line2\n"},
	}
}

func TestRoundTrip(t *testing.T) {
	fetched := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	now := fetched.Add(90 * time.Minute)
	for _, tt := range []struct {
		name      string
		endpoints []string
		secrets   []fetch.Secret
	}{
		{"none", []string{"https://a.example/s"}, []fetch.Secret{}},
		{"nil", []string{"https://a.example/s"}, nil},
		{"canaries", []string{"https://a.example/s"}, canarySet()},
		{"no endpoints", nil, canarySet()},
		{"two endpoints", []string{"https://a.example/s", "https://b.example/s"}, canarySet()},
		{"bytes", []string{"x"}, []fetch.Secret{
			{Key: "EMPTY"},
			{Key: "NUL", Value: "canary-\x00-nul"},
			{Key: "NOT_UTF8", Value: "canary-\xff\xfe-\xc3", Description: "\xff"},
			{Key: "UNICODE", Value: "canary-ключ-🔑"},
		}},
		{"many", []string{"x"}, herdSet(12)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "copy")
			if err := Write(path, "canary-apikey", tt.endpoints, tt.secrets, fetched); err != nil {
				t.Fatalf("Write: %v", err)
			}
			c, err := Read(path, "canary-apikey", tt.endpoints, 24*time.Hour, now)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			want := tt.secrets
			if want == nil {
				want = []fetch.Secret{}
			}
			if !reflect.DeepEqual(c.Secrets, want) {
				t.Errorf("secrets = %q; want %q", c.Secrets, want)
			}
			if !c.Fetched.Equal(fetched) {
				t.Errorf("fetched = %v; want %v", c.Fetched, fetched)
			}
			if c.Age != 90*time.Minute {
				t.Errorf("age = %v; want 1h30m", c.Age)
			}
		})
	}
}

// TestGolden reads a copy written when version 1 was made, so that a
// change to the format cannot go unnoticed.
func TestGolden(t *testing.T) {
	c, err := Read("testdata/v1.copy", goldenKey, goldenEndpoints, 24*time.Hour, goldenFetched.Add(time.Hour))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !reflect.DeepEqual(c.Secrets, goldenSecrets) {
		t.Errorf("secrets = %q; want %q", c.Secrets, goldenSecrets)
	}
	if !c.Fetched.Equal(goldenFetched) {
		t.Errorf("fetched = %v; want %v", c.Fetched, goldenFetched)
	}
}

// TestNothingInClear greps the file for every secret value, description,
// source, the API key and the endpoints, as they are and in base64.
func TestNothingInClear(t *testing.T) {
	path := filepath.Join(t.TempDir(), "copy")
	key := "canary-apikey-0123456789"
	endpoints := []string{"https://canary-endpoint.example/apps/canary-app/secrets"}
	secrets := canarySet()
	if err := Write(path, key, endpoints, secrets, time.Now()); err != nil {
		t.Fatalf("Write: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	needles := []string{key, endpoints[0], "canary-"}
	for _, s := range secrets {
		needles = append(needles, s.Value, s.Description, s.Source)
	}
	for _, n := range needles {
		if n == "" {
			continue
		}
		for _, form := range []string{n, base64.StdEncoding.EncodeToString([]byte(n))} {
			if bytes.Contains(b, []byte(form)) {
				t.Errorf("the file holds %q in the clear", form)
			}
		}
	}
}

func TestMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "copy")
	// A world-readable file already there is replaced, not reused.
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, "k", nil, canarySet(), time.Now()); err != nil {
		t.Fatalf("Write: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %v; want 0600", got)
	}
}

func TestAge(t *testing.T) {
	fetched := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "copy")
	if err := Write(path, "k", nil, canarySet(), fetched); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for _, tt := range []struct {
		name    string
		since   time.Duration // now - fetched
		maxAge  time.Duration
		age     time.Duration // want, when usable
		stale   string        // want the StaleError message to hold this
		invalid bool
	}{
		{name: "fresh", since: 0, maxAge: time.Hour, age: 0},
		{name: "at the limit", since: 24 * time.Hour, maxAge: 24 * time.Hour, age: 24 * time.Hour},
		{name: "a second over", since: 24*time.Hour + time.Second, maxAge: 24 * time.Hour, stale: "the copy is 24h0m1s old, older than the 24h limit"},
		{name: "a nanosecond over", since: 24*time.Hour + 1, maxAge: 24 * time.Hour, stale: "the copy is 24h0m0.000000001s old, older than the 24h limit"},
		{name: "a day over", since: 49*time.Hour + 31*time.Second, maxAge: 24 * time.Hour, stale: "the copy is 49h1m old, older than the 24h limit"},
		{name: "minutes", since: 10 * time.Minute, maxAge: 5 * time.Minute, stale: "the copy is 10m old, older than the 5m limit"},
		{name: "seconds", since: 42 * time.Second, maxAge: 30 * time.Second, stale: "the copy is 42s old, older than the 30s limit"},
		{name: "a limit between minutes", since: 100 * time.Second, maxAge: 90 * time.Second, stale: "the copy is 2m old, older than the 1m30s limit"},
		{name: "a limit under a second", since: 2 * time.Second, maxAge: 1500 * time.Millisecond, stale: "the copy is 2s old, older than the 1.5s limit"},
		{name: "a limit of a nanosecond", since: 3 * time.Millisecond, maxAge: 1, stale: "the copy is 3ms old, older than the 1ns limit"},
		{name: "under a second over", since: 1200 * time.Millisecond, maxAge: time.Second, stale: "the copy is 1.2s old, older than the 1s limit"},
		{name: "future within skew", since: -FutureSkew, maxAge: time.Hour, age: 0},
		{name: "future beyond skew", since: -FutureSkew - time.Second, maxAge: time.Hour, invalid: true},
		{name: "far future", since: -1000 * time.Hour, maxAge: 24 * time.Hour, invalid: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Read(path, "k", nil, tt.maxAge, fetched.Add(tt.since))
			var se *StaleError
			var ie *InvalidError
			switch {
			case tt.stale != "":
				if !errors.As(err, &se) {
					t.Fatalf("Read: %v; want a *StaleError", err)
				}
				if se.Age != tt.since || se.MaxAge != tt.maxAge {
					t.Errorf("StaleError{Age: %v, MaxAge: %v}; want {%v, %v}", se.Age, se.MaxAge, tt.since, tt.maxAge)
				}
				if want := "fallback: " + path + ": " + tt.stale; err.Error() != want {
					t.Errorf("message %q; want %q", err, want)
				}
			case tt.invalid:
				if !errors.As(err, &ie) || ie.Reason != reasonFuture {
					t.Fatalf("Read: %v; want a *InvalidError for a future date", err)
				}
			default:
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if c.Age != tt.age {
					t.Errorf("age = %v; want %v", c.Age, tt.age)
				}
			}
		})
	}
}

func TestFormatAge(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{1400 * time.Millisecond, "1s"},
		{59 * time.Second, "59s"},
		{time.Minute, "1m"},
		{90*time.Second + time.Millisecond, "2m"},
		{time.Hour, "1h"},
		{3*time.Hour + 7*time.Minute + 10*time.Second, "3h7m"},
		{24 * time.Hour, "24h"},
		{30 * 24 * time.Hour, "720h"},
	} {
		if got := FormatAge(tt.d); got != tt.want {
			t.Errorf("FormatAge(%v) = %q; want %q", tt.d, got, tt.want)
		}
	}
}

// wantInvalid fails unless err is an *InvalidError whose message names the
// path and holds nothing from the file.
func wantInvalid(t *testing.T, err error, path string) {
	t.Helper()
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("Read: %v; want a *InvalidError", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "fallback: "+path+": unusable copy: ") || strings.Contains(msg, "canary-") {
		t.Fatalf("message %q", msg)
	}
}

// writeCanaries writes canarySet bound to key "canary-apikey" and one
// endpoint, and returns the file's bytes.
func writeCanaries(t *testing.T, path string, fetched time.Time) []byte {
	t.Helper()
	if err := Write(path, "canary-apikey", []string{"https://a.example/s"}, canarySet(), fetched); err != nil {
		t.Fatalf("Write: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTampered(t *testing.T) {
	now := time.Now()
	path := filepath.Join(t.TempDir(), "copy")
	b := writeCanaries(t, path, now)
	for i := range b {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(b)
			bad[i] ^= mask
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path, "canary-apikey", []string{"https://a.example/s"}, time.Hour, now)
			if err == nil {
				t.Fatalf("byte %d ^ %#x: read as authentic", i, mask)
			}
			wantInvalid(t, err, path)
		}
	}
}

func TestTruncatedOrExtended(t *testing.T) {
	now := time.Now()
	path := filepath.Join(t.TempDir(), "copy")
	b := writeCanaries(t, path, now)
	cases := make([][]byte, 0, len(b)+2)
	for n := range b {
		cases = append(cases, b[:n])
	}
	cases = append(cases, append(bytes.Clone(b), 0), append(bytes.Clone(b), b...))
	for _, bad := range cases {
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Read(path, "canary-apikey", []string{"https://a.example/s"}, time.Hour, now)
		if err == nil {
			t.Fatalf("%d of %d bytes: read as authentic", len(bad), len(b))
		}
		wantInvalid(t, err, path)
	}
}

func TestOtherBinding(t *testing.T) {
	now := time.Now()
	path := filepath.Join(t.TempDir(), "copy")
	endpoints := []string{"https://a.example/ab", "c"}
	if err := Write(path, "canary-apikey", endpoints, canarySet(), now); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if _, err := Read(path, "canary-apikey", endpoints, time.Hour, now); err != nil {
		t.Fatalf("Read with the same binding: %v", err)
	}
	for _, tt := range []struct {
		name      string
		key       string
		endpoints []string
	}{
		{"other key", "canary-apikey2", endpoints},
		{"key prefix", "canary-apike", endpoints},
		{"other endpoint", "canary-apikey", []string{"https://b.example/ab", "c"}},
		{"endpoints reordered", "canary-apikey", []string{"c", "https://a.example/ab"}},
		{"endpoints split elsewhere", "canary-apikey", []string{"https://a.example/a", "bc"}},
		{"endpoints joined", "canary-apikey", []string{"https://a.example/abc"}},
		{"an endpoint more", "canary-apikey", append(endpoints, "d")},
		{"an endpoint less", "canary-apikey", endpoints[:1]},
		{"no endpoints", "canary-apikey", nil},
		{"trailing slash", "canary-apikey", []string{"https://a.example/ab/", "c"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(path, tt.key, tt.endpoints, time.Hour, now)
			wantInvalid(t, err, path)
		})
	}
}

func TestFormatErrors(t *testing.T) {
	dir := t.TempDir()
	b := writeCanaries(t, filepath.Join(dir, "good"), time.Now())
	v2 := bytes.Clone(b)
	v2[len(magic)] = 2
	for _, tt := range []struct {
		name   string
		data   []byte
		reason string
	}{
		{"empty", nil, reasonFormat},
		{"JSON", []byte(`{"secrets":[]}`), reasonFormat},
		{"version 2", v2, reasonVersion},
		{"header only", b[:headerSize], reasonOpen},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "copy")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path, "canary-apikey", []string{"https://a.example/s"}, time.Hour, time.Now())
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Reason != tt.reason {
				t.Fatalf("Read: %v; want reason %q", err, tt.reason)
			}
		})
	}
}

func TestTooBig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "copy")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: its size is over the limit without the disk space.
	if err := f.Truncate(MaxSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Read(path, "k", nil, time.Hour, time.Now())
	var ie *InvalidError
	if !errors.As(err, &ie) || ie.Reason != reasonSize {
		t.Fatalf("Read: %v; want reason %q", err, reasonSize)
	}

	big := []fetch.Secret{{Key: "BIG", Value: "canary-" + strings.Repeat("x", 3*MaxSize/4)}}
	err = Write(filepath.Join(dir, "big"), "k", nil, big, time.Now())
	if err == nil || !strings.Contains(err.Error(), "larger than the 32 MiB limit") {
		t.Fatalf("Write of a set over the limit: %v", err)
	}
	assertOnly(t, dir, "copy")
}

func TestNotThere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "copy")
	_, err := Read(path, "k", nil, time.Hour, time.Now())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read: %v; want fs.ErrNotExist", err)
	}
	if want := "fallback: " + path + ": does not exist"; err.Error() != want {
		t.Errorf("message %q; want %q", err, want)
	}
	var ie *InvalidError
	if errors.As(err, &ie) {
		t.Errorf("a missing file is a *InvalidError")
	}
}

func TestReadNotAFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Read(dir, "k", nil, time.Hour, time.Now())
	if err == nil || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Read of a folder: %v", err)
	}
}

func TestBadArguments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "copy")
	now := time.Now()
	writeCanaries(t, path, now)
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"Write without a key", Write(path, "", nil, canarySet(), now)},
		{"Write without a time", Write(path, "k", nil, canarySet(), time.Time{})},
		{"Write in year 3000", Write(path, "k", nil, canarySet(), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))},
		{"Read without a key", func() error { _, err := Read(path, "", nil, time.Hour, now); return err }()},
		{"Read without a maximum age", func() error {
			_, err := Read(path, "canary-apikey", []string{"https://a.example/s"}, 0, now)
			return err
		}()},
	} {
		if tt.err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	// The refused writes left the copy as it was.
	if _, err := Read(path, "canary-apikey", []string{"https://a.example/s"}, time.Hour, now); err != nil {
		t.Fatalf("Read: %v", err)
	}
}

// assertOnly fails unless dir holds exactly the named entries: no
// temporary file was left behind.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !reflect.DeepEqual(got, names) {
		t.Errorf("%s holds %q; want %q", filepath.Base(dir), got, names)
	}
}

func TestWriteFails(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the path to write
		want  string                                // in the message
		files []string                              // dir's entries afterwards
	}{
		{"missing folder", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "missing", "copy")
		}, "does not exist", nil},
		{"under a file", func(t *testing.T, dir string) string {
			if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "file", "copy")
		}, "not a directory", []string{"file"}},
		{"path is a folder", func(t *testing.T, dir string) string {
			if err := os.Mkdir(filepath.Join(dir, "copy"), 0o700); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "copy")
		}, "is a directory", []string{"copy"}},
		{"path is a non-empty folder", func(t *testing.T, dir string) string {
			if err := os.MkdirAll(filepath.Join(dir, "copy", "x"), 0o700); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "copy")
		}, "", []string{"copy"}},
		{"read-only folder", func(t *testing.T, dir string) string {
			if os.Geteuid() == 0 {
				t.Skip("root writes to a read-only folder")
			}
			sub := filepath.Join(dir, "ro")
			if err := os.Mkdir(sub, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(sub, 0o700) })
			return filepath.Join(sub, "copy")
		}, "permission denied", []string{"ro"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(t, dir)
			err := Write(path, "canary-apikey", nil, canarySet(), time.Now())
			if err == nil {
				t.Fatal("Write: no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "fallback: "+path+": ") || !strings.Contains(msg, tt.want) || strings.Contains(msg, "canary-") {
				t.Errorf("message %q; want it to hold %q", msg, tt.want)
			}
			assertOnly(t, dir, tt.files...)
			if fi, err := os.Stat(path); err == nil && fi.IsDir() {
				assertOnly(t, path, subEntries(t, path)...)
			}
		})
	}
}

// subEntries lists dir, for checking nothing was added to it.
func subEntries(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "copy")
	writeCanaries(t, path, time.Now())
	if err := Remove(path); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after Remove: %v", err)
	}
	if err := Remove(path); err != nil {
		t.Fatalf("Remove of a missing file: %v", err)
	}
	if err := Remove(filepath.Join(dir, "missing", "copy")); err != nil {
		t.Fatalf("Remove in a missing folder: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "full", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Remove(filepath.Join(dir, "full")); err == nil {
		t.Fatal("Remove of a non-empty folder: no error")
	}
	// A --fallback that names a folder by mistake must not cost the
	// folder, even an empty one.
	if err := Remove(filepath.Join(dir, "full", "x")); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("Remove of an empty folder: %v; want is a directory", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "full", "x")); err != nil {
		t.Fatalf("the empty folder is gone: %v", err)
	}
}

// TestConcurrentWriters writes a different set from each of 200 writers at
// once while reading, and checks that every read, and the file at the end,
// is exactly one writer's set.
func TestConcurrentWriters(t *testing.T) {
	for _, mode := range []string{"goroutines", "processes"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "copy")
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, herdCount)
			if mode == "goroutines" {
				for i := range herdCount {
					wg.Go(func() {
						secrets := herdSet(i)
						<-start
						errs <- Write(path, herdKey, herdEndpoints, secrets, herdFetched)
					})
				}
			} else {
				exe, err := os.Executable()
				if err != nil {
					t.Fatal(err)
				}
				for i := range herdCount {
					cmd := exec.Command(exe, "-test.run=^$")
					cmd.Env = append(os.Environ(), writerEnv+"="+path, writerSetEnv+"="+strconv.Itoa(i))
					stdin, err := cmd.StdinPipe()
					if err != nil {
						t.Fatal(err)
					}
					var stderr bytes.Buffer
					cmd.Stderr = &stderr
					if err := cmd.Start(); err != nil {
						t.Fatal(err)
					}
					wg.Go(func() {
						<-start
						stdin.Close()
						if err := cmd.Wait(); err != nil {
							err = fmt.Errorf("writer %d: %v: %s", i, err, stderr.Bytes())
						}
						errs <- err
					})
				}
			}

			// Read until every writer is done, and only then report a bad
			// read, so that no writer outlives the test's folder.
			reads, bad := 0, 0
			close(start)
			finished := make(chan struct{})
			go func() { wg.Wait(); close(finished) }()
		read:
			for {
				select {
				case <-finished:
					break read
				default:
				}
				c, err := Read(path, herdKey, herdEndpoints, time.Hour, herdFetched)
				if err == nil {
					err = matchHerd(c)
				}
				switch {
				case errors.Is(err, fs.ErrNotExist):
				case err != nil:
					if bad++; bad == 1 {
						t.Errorf("read during the writes: %v", err)
					}
				default:
					reads++
				}
			}
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			t.Logf("%d good and %d bad reads during the writes", reads, bad)
			c, err := Read(path, herdKey, herdEndpoints, time.Hour, herdFetched)
			if err == nil {
				err = matchHerd(c)
			}
			if err != nil {
				t.Fatalf("after the writes: %v", err)
			}
			assertOnly(t, dir, "copy")
		})
	}
}
