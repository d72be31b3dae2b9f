package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/fallback"
	"github.com/secretexec/secretexec/internal/fakeapi"
)

// The fallback copy end to end, where a script cannot reach: copies that
// are too old or damaged, 200 processes writing one copy at once, and
// folders the copy cannot be written to. testdata/script/fallback*.txt
// hold the rest.

// fbKey is the API key of these tests; like every secret value here it
// starts with the canary.
const fbKey = "canary-apikey-fallback-go"

// fbSecrets are the fake API's secrets in these tests.
var fbSecrets = []fakeapi.Secret{
	{Key: "OPENAI_API_KEY", Value: "canary-openai-go", Description: "OpenAI API key"},
	{Key: "PG_URL", Value: "canary-pg-go"},
}

// fbEnv is one test's fake API, folder and copy.
type fbEnv struct {
	t    *testing.T
	bin  string
	api  *fakeapi.Server
	dir  string
	url  string // the endpoint
	copy string // the copy's path
}

func newFallbackEnv(t *testing.T) *fbEnv {
	t.Helper()
	e := &fbEnv{t: t, bin: buildSecretexec(t), api: fakeapi.New(), dir: t.TempDir()}
	t.Cleanup(e.api.Close)
	e.api.SetKey(fbKey)
	e.api.SetSecrets("backend", fbSecrets...)
	e.url = e.api.URL + "/v1/orgs/o/apps/p/features/backend/secrets"
	e.copy = filepath.Join(e.dir, "copy")
	return e
}

// env is the environment of a run: the key and endpoint, one retry, an
// empty HOME, and the dead proxy of the scripts (see TestScript), so that
// a request anywhere but to the fake API fails; then extra.
func (e *fbEnv) env(extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + e.dir,
		"FUSEBASE_API_KEY=" + fbKey,
		"SECRETEXEC_URL=" + e.url,
		"SECRETEXEC_RETRIES=1",
		"HTTPS_PROXY=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
		"HTTP_PROXY=http://127.0.0.1:9", "http_proxy=http://127.0.0.1:9",
	}
	return append(env, extra...)
}

// command returns the command that runs secretexec in e.dir with args:
// --fallback e.copy, then args; its environment is e.env(extra...).
func (e *fbEnv) command(extra []string, args ...string) *exec.Cmd {
	cmd := exec.Command(e.bin, append([]string{"--fallback", e.copy}, args...)...)
	cmd.Dir = e.dir
	cmd.Env = e.env(extra...)
	return cmd
}

// run runs secretexec as command does, with the command that writes
// $OPENAI_API_KEY to the file out, and returns its exit code and stderr.
// It fails the test if secretexec's output holds a canary.
func (e *fbEnv) run(extra []string, args ...string) (int, string) {
	e.t.Helper()
	os.Remove(filepath.Join(e.dir, "out"))
	args = append(args, "--", "sh", "-c", `printf %s "$OPENAI_API_KEY" >out`)
	return runChecked(e.t, e.command(extra, args...))
}

// runChecked runs cmd and returns its exit code and stderr; its stdout
// goes to cmd.Stdout if set. It fails the test if its stdout or stderr
// holds a canary.
func runChecked(t *testing.T, cmd *exec.Cmd) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if cmd.Stdout != nil {
		cmd.Stdout = io.MultiWriter(cmd.Stdout, &stdout)
	} else {
		cmd.Stdout = &stdout
	}
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running secretexec: %v", err)
	}
	for _, out := range []string{stdout.String(), stderr.String()} {
		if strings.Contains(strings.ToLower(out), canary) {
			t.Fatalf("secretexec printed a secret value:\n%s", out)
		}
	}
	return code, stderr.String()
}

// ran returns what the command wrote to out, or "" if it did not run.
func (e *fbEnv) ran() string {
	b, err := os.ReadFile(filepath.Join(e.dir, "out"))
	if errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// noCanaries fails the test if the copy holds a canary value, the key, the
// endpoint or a key name in the clear.
func noCanaries(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	needles := []string{canary, fbKey, "/features/backend/", "OPENAI_API_KEY", "OpenAI API key"}
	for _, s := range fbSecrets {
		needles = append(needles, s.Value)
	}
	for _, n := range needles {
		if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(n))) {
			t.Fatalf("the copy holds %q in the clear", n)
		}
	}
}

// writeGood runs once against a healthy store, which writes the copy, and
// returns the copy's bytes.
func (e *fbEnv) writeGood() []byte {
	e.t.Helper()
	e.api.SetFault("ok")
	if code, stderr := e.run(nil); code != 0 || e.ran() != "canary-openai-go" {
		e.t.Fatalf("a good run: exit %d, ran %q; stderr:\n%s", code, e.ran(), stderr)
	}
	noCanaries(e.t, e.copy)
	b, err := os.ReadFile(e.copy)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// redate writes the copy again, as it is, but fetched at t: only a holder
// of the key can.
func (e *fbEnv) redate(fetched time.Time) {
	e.t.Helper()
	c, err := fallback.Read(e.copy, fbKey, []string{e.url}, 1<<62, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := fallback.Write(e.copy, fbKey, []string{e.url}, c.Secrets, fetched); err != nil {
		e.t.Fatal(err)
	}
}

func TestFallbackTooOld(t *testing.T) {
	e := newFallbackEnv(t)
	e.writeGood()
	e.api.SetFault("503")

	// A day and an hour old: never used under the default limit, and the
	// message says how old it is.
	e.redate(time.Now().Add(-25 * time.Hour))
	before, _ := os.ReadFile(e.copy)
	code, stderr := e.run(nil)
	if code != 69 || e.ran() != "" {
		t.Fatalf("a copy 25h old: exit %d, ran %q; want 69 and nothing run; stderr:\n%s", code, e.ran(), stderr)
	}
	want := fmt.Sprintf("secretexec: warning: the fallback copy cannot be used: fallback: %s: the copy is 25h old, older than the 24h limit\n", e.copy)
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr:\n%s\nwant the line %q", stderr, want)
	}
	if !strings.Contains(stderr, "secretexec: error: "+e.url+": 503 Service Unavailable") {
		t.Errorf("stderr:\n%s\nwant the outage as the error", stderr)
	}
	if after, _ := os.ReadFile(e.copy); !bytes.Equal(before, after) {
		t.Error("an unused copy was changed")
	}

	// A limit of two days takes it, and the warning says its age.
	code, stderr = e.run(nil, "--fallback-max-age", "48h")
	if code != 0 || e.ran() != "canary-openai-go" {
		t.Fatalf("--fallback-max-age 48h: exit %d, ran %q; stderr:\n%s", code, e.ran(), stderr)
	}
	if want := fmt.Sprintf("secretexec: warning: using the fallback copy %s, fetched 25h ago: the store is unavailable: ", e.copy); !strings.Contains(stderr, want) {
		t.Errorf("stderr:\n%s\nwant %q", stderr, want)
	}

	// --offline keeps to the same limit.
	code, stderr = e.run(nil, "--offline")
	if code != 69 || e.ran() != "" || !strings.Contains(stderr, "the copy is 25h old, older than the 24h limit") {
		t.Fatalf("--offline, a copy 25h old: exit %d, ran %q; want 69; stderr:\n%s", code, e.ran(), stderr)
	}

	// A copy dated well ahead of the clock has no age to trust.
	e.redate(time.Now().Add(time.Hour))
	code, stderr = e.run(nil)
	if code != 69 || e.ran() != "" || !strings.Contains(stderr, "unusable copy: its fetch time is in the future") {
		t.Fatalf("a copy dated an hour ahead: exit %d, ran %q; want 69; stderr:\n%s", code, e.ran(), stderr)
	}
}

// TestFallbackDamaged gives a store outage a copy that is tampered with,
// truncated, or bound to another key or endpoint: each is refused with a
// warning that says why, the run fails 69 as without a copy, nothing runs
// and the copy is left as it is. The good copy, put back, works.
func TestFallbackDamaged(t *testing.T) {
	e := newFallbackEnv(t)
	good := e.writeGood()
	e.api.SetFault("503")

	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		return b
	}
	const (
		undecryptable = "unusable copy: cannot be decrypted (another API key or endpoint, or a damaged file)"
		notACopy      = "unusable copy: not a secretexec fallback file"
		version       = "unusable copy: unsupported format version"
	)
	tests := []struct {
		name  string
		file  []byte
		extra []string // variables
		args  []string
		why   string
	}{
		{"magic flipped", flip(0), nil, nil, notACopy},
		{"version flipped", flip(8), nil, nil, version},
		{"salt flipped", flip(20), nil, nil, undecryptable},
		{"fetch time flipped", flip(48), nil, nil, undecryptable},
		{"nonce flipped", flip(55), nil, nil, undecryptable},
		{"ciphertext flipped", flip(len(good) / 2), nil, nil, undecryptable},
		{"tag flipped", flip(len(good) - 1), nil, nil, undecryptable},
		{"truncated by a byte", good[:len(good)-1], nil, nil, undecryptable},
		{"truncated to half", good[:len(good)/2], nil, nil, undecryptable},
		{"truncated to the header", good[:61], nil, nil, undecryptable},
		{"truncated in the magic", good[:5], nil, nil, notACopy},
		{"empty", []byte{}, nil, nil, notACopy},
		{"extended by a byte", append(bytes.Clone(good), 0), nil, nil, undecryptable},
		{"other key", good, []string{"FUSEBASE_API_KEY=canary-apikey-other"}, nil, undecryptable},
		{"other app", good, []string{"SECRETEXEC_URL=" + e.api.URL + "/v1/orgs/o/apps/p/features/web/secrets"}, nil, undecryptable},
		{"other query", good, []string{"SECRETEXEC_URL=" + e.url + "?env=dev"}, nil, undecryptable},
		{"other spelling of the host", good, []string{"SECRETEXEC_URL=" + strings.Replace(e.url, "127.0.0.1", "localhost", 1)}, nil, undecryptable},
		{"other sources", good, nil, []string{"--from", e.url, "--from", e.url}, undecryptable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(e.copy, tt.file, 0o600); err != nil {
				t.Fatal(err)
			}
			code, stderr := e.run(tt.extra, tt.args...)
			if code != 69 || e.ran() != "" {
				t.Fatalf("exit %d, ran %q; want 69 and nothing run; stderr:\n%s", code, e.ran(), stderr)
			}
			want := fmt.Sprintf("secretexec: warning: the fallback copy cannot be used: fallback: %s: %s\n", e.copy, tt.why)
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr:\n%s\nwant the line %q", stderr, want)
			}
			if n := strings.Count(stderr, "fallback copy"); n != 1 {
				t.Errorf("stderr:\n%s\nwant one warning about the copy, not %d", stderr, n)
			}
			if !strings.Contains(stderr, "secretexec: error: ") || !strings.Contains(stderr, "503 Service Unavailable") {
				t.Errorf("stderr:\n%s\nwant the outage as the error", stderr)
			}
			if after, err := os.ReadFile(e.copy); err != nil || !bytes.Equal(after, tt.file) {
				t.Errorf("the refused copy was changed or removed (%v)", err)
			}
		})
	}

	// The good copy works, so each refusal above is the damage's doing.
	if err := os.WriteFile(e.copy, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, stderr := e.run(nil); code != 0 || e.ran() != "canary-openai-go" {
		t.Fatalf("the good copy: exit %d, ran %q; stderr:\n%s", code, e.ran(), stderr)
	}
}

// fbSet is set n of TestFallbackHerd's: a number of secrets and value
// sizes of its own, so that a mix of two copies could pass for neither.
func fbSet(n int) []fakeapi.Secret {
	s := make([]fakeapi.Secret, 1+n%5)
	for j := range s {
		s[j] = fakeapi.Secret{Key: fmt.Sprintf("KEY_%d", j), Value: fmt.Sprintf("canary-%d-%d-", n, j) + strings.Repeat("x", 300*(n%4)+j)}
	}
	return s
}

// TestFallbackHerd starts 200 processes of secretexec at once, all writing
// one copy while the store's secrets change under them, and kills a
// quarter of them at random moments. Every read of the copy meanwhile,
// and the copy at the end, must be whole: exactly one set the store
// served, never a mix or a torn file.
func TestFallbackHerd(t *testing.T) {
	const herd, sets = 200, 8
	e := newFallbackEnv(t)
	e.api.SetSecrets("backend", fbSet(0)...)
	served := make(map[string]bool)
	for n := range sets {
		served[fmt.Sprint(fbSet(n))] = true
	}
	// check returns an error unless the copy is whole and one set served.
	check := func(c *fallback.Copy) error {
		got := make([]fakeapi.Secret, len(c.Secrets))
		for i, s := range c.Secrets {
			got[i] = fakeapi.Secret{Key: s.Key, Value: s.Value}
		}
		if !served[fmt.Sprint(got)] {
			return fmt.Errorf("the copy holds %d secrets, not one set the store served", len(got))
		}
		return nil
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	var (
		mu    sync.Mutex
		reads int
		bad   []error
	)
	// The store's secrets change while the herd runs.
	wg.Go(func() {
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			default:
			}
			e.api.SetSecrets("backend", fbSet(n%sets)...)
			runtime.Gosched()
		}
	})
	// A reader reads the copy over and over.
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			c, err := fallback.Read(e.copy, fbKey, []string{e.url}, time.Hour, time.Now())
			if err == nil {
				err = check(c)
			} else if errors.Is(err, fs.ErrNotExist) {
				err = nil // before the first rename
			}
			mu.Lock()
			reads++
			if err != nil {
				bad = append(bad, err)
			}
			mu.Unlock()
		}
	})

	cmds := make([]*exec.Cmd, herd)
	for i := range cmds {
		cmds[i] = e.command(nil, "-q", "--", "true")
		var stdout, stderr bytes.Buffer
		cmds[i].Stdout, cmds[i].Stderr = &stdout, &stderr
	}
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	killed := make(map[int]bool)
	for i := 0; i < herd; i += 4 {
		killed[i] = true
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		cmds[i].Process.Signal(syscall.SIGKILL)
	}
	for i, cmd := range cmds {
		err := cmd.Wait()
		out := cmd.Stdout.(*bytes.Buffer).String() + cmd.Stderr.(*bytes.Buffer).String()
		if strings.Contains(strings.ToLower(out), canary) {
			t.Fatalf("secretexec printed a secret value:\n%s", out)
		}
		if err != nil && !killed[i] {
			t.Errorf("writer %d: %v; output:\n%s", i, err, out)
		}
	}
	close(done)
	wg.Wait()
	for _, err := range bad {
		t.Errorf("a read during the herd: %v", err)
	}
	t.Logf("%d reads during the herd, %d requests", reads, len(e.api.Requests()))

	c, err := fallback.Read(e.copy, fbKey, []string{e.url}, time.Hour, time.Now())
	if err != nil {
		t.Fatalf("the copy after the herd: %v", err)
	}
	if err := check(c); err != nil {
		t.Fatalf("the copy after the herd: %v", err)
	}
	fi, err := os.Stat(e.copy)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("the copy's mode is %v; want 0600", perm)
	}
	noCanaries(t, e.copy)
	// A killed writer may leave its temporary file, and nothing else.
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	var leftovers int
	for _, d := range entries {
		switch name := d.Name(); {
		case name == "copy":
		case strings.HasPrefix(name, ".copy.") && strings.HasSuffix(name, ".tmp"):
			leftovers++
			noCanaries(t, filepath.Join(e.dir, name))
		default:
			t.Errorf("a stray file after the herd: %s", name)
		}
	}
	if leftovers > herd/4 {
		t.Errorf("%d temporary files left; want at most one per killed writer, %d", leftovers, herd/4)
	}
}

// TestFallbackUnwritable runs where the copy cannot be written: a folder
// that is missing or is a file. Each is one warning, never a failed run,
// and an outage after it is 69 as without a copy.
func TestFallbackUnwritable(t *testing.T) {
	e := newFallbackEnv(t)
	if err := os.WriteFile(filepath.Join(e.dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, why string
	}{
		{"missing folder", filepath.Join(e.dir, "missing", "copy"), "cannot create a file in " + filepath.Join(e.dir, "missing") + ": does not exist"},
		{"a file for a folder", filepath.Join(e.dir, "file", "copy"), "cannot create a file in " + filepath.Join(e.dir, "file") + ": not a directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.copy = tt.path
			e.api.SetFault("ok")
			code, stderr := e.run(nil)
			if code != 0 || e.ran() != "canary-openai-go" {
				t.Fatalf("exit %d, ran %q; want 0; stderr:\n%s", code, e.ran(), stderr)
			}
			want := fmt.Sprintf("secretexec: warning: the fallback copy is not updated: fallback: %s: %s\n", tt.path, tt.why)
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr:\n%s\nwant the line %q", stderr, want)
			}
			if n := strings.Count(stderr, "warning"); n != 1 {
				t.Errorf("stderr:\n%s\nwant one warning, not %d", stderr, n)
			}
			e.api.SetFault("503")
			if code, stderr := e.run(nil); code != 69 || e.ran() != "" {
				t.Fatalf("then an outage: exit %d, ran %q; want 69; stderr:\n%s", code, e.ran(), stderr)
			}
		})
	}
}
