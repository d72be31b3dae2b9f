package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/secretexec/secretexec/internal/fakeapi"
)

// fakeapiKey is where a script's fake Fusebase API is kept in its values.
type fakeapiKey struct{}

// setupFakeAPI starts a fake Fusebase API for one script and sets $FAKEAPI
// to its base URL, $FAKEAPI_HOST to its host and port. Secrets are served at
// $FAKEAPI/v1/orgs/ORG/apps/PARENT/features/APP/secrets.
func setupFakeAPI(env *testscript.Env) error {
	s := fakeapi.New()
	box := &fakeapiBox{s: s}
	env.Values[fakeapiKey{}] = box
	env.Defer(func() { box.s.Close() })
	env.Setenv("FAKEAPI", s.URL)
	env.Setenv("FAKEAPI_HOST", s.Listener.Addr().String())
	box.vars = append([]string(nil), env.Vars...)
	return nil
}

// fakeapiBox holds the script's server, which `fakeapi tls` replaces, and
// the environment the script started with.
type fakeapiBox struct {
	s    *fakeapi.Server
	vars []string
}

func scriptAPI(ts *testscript.TestScript) *fakeapiBox {
	return ts.Value(fakeapiKey{}).(*fakeapiBox)
}

// cmdFakeAPI drives and inspects the script's fake Fusebase API.
//
//	fakeapi key KEY                     answer 401 unless "Authorization: Bearer KEY"
//	fakeapi secret APP KEY [VALUE [DESCRIPTION]]
//	                                    add a secret to APP (its feature id)
//	fakeapi secret -q APP KEY VALUE DESCRIPTION
//	                                    the same, KEY, VALUE and DESCRIPTION
//	                                    each a Go-quoted string ("a\x1bb"),
//	                                    for bytes a script cannot hold
//	fakeapi fault SPEC                  fail as SPEC says (fakeapi.Server.SetFault)
//	fakeapi requests N                  assert that N requests arrived
//	fakeapi path I PATH                 assert request I's path (from 1)
//	fakeapi header I NAME VALUE         assert one of request I's headers
//	fakeapi gap I MIN [MAX]             assert the time from request I-1 to I
//	fakeapi conns N                     assert that N connections were accepted
//	fakeapi elapsed MAX                 assert at most MAX since the first request
//	fakeapi wait N                      wait until N requests arrived (10s at most)
//	fakeapi reset                       forget the requests and faults so far
//	fakeapi tls CERTFILE                replace the server by an https one,
//	                                    write its certificate to CERTFILE
func cmdFakeAPI(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: fakeapi key|secret|fault|requests|path|header|gap|wait|tls ...")
	}
	box := scriptAPI(ts)
	s := box.s
	request := func(arg string) fakeapi.Request {
		i, err := strconv.Atoi(arg)
		reqs := s.Requests()
		if err != nil || i < 1 || i > len(reqs) {
			ts.Fatalf("no request %s: %d arrived", arg, len(reqs))
		}
		return reqs[i-1]
	}
	check := func(ok bool, format string, a ...any) {
		if ok == neg {
			ts.Fatalf("%s%s", map[bool]string{true: "not: "}[neg], fmt.Sprintf(format, a...))
		}
	}
	switch cmd, args := args[0], args[1:]; {
	case cmd == "key" && len(args) == 1:
		s.SetKey(args[0])
	case cmd == "secret" && len(args) == 5 && args[0] == "-q":
		var f [3]string
		for i, q := range args[2:] {
			v, err := strconv.Unquote(q)
			if err != nil {
				ts.Fatalf("fakeapi secret -q: %s is not a Go-quoted string", q)
			}
			f[i] = v
		}
		s.AddSecret(args[1], fakeapi.Secret{Key: f[0], Value: f[1], Description: f[2]})
	case cmd == "secret" && len(args) >= 2 && len(args) <= 4:
		sec := fakeapi.Secret{Key: args[1]}
		if len(args) > 2 {
			sec.Value = args[2]
		}
		if len(args) > 3 {
			sec.Description = args[3]
		}
		s.AddSecret(args[0], sec)
	case cmd == "reset" && len(args) == 0:
		s.Reset()
	case cmd == "fault" && len(args) == 1:
		ts.Check(s.SetFault(args[0]))
	case cmd == "requests" && len(args) == 1:
		n := len(s.Requests())
		check(strconv.Itoa(n) == args[0], "%d requests arrived; want %s", n, args[0])
	case cmd == "path" && len(args) == 2:
		r := request(args[0])
		check(r.Path == args[1], "request %s: path %s; want %s", args[0], r.Path, args[1])
	case cmd == "header" && len(args) == 3:
		r := request(args[0])
		got := r.Header.Get(args[1])
		check(got == args[2], "request %s: %s is %q; want %q", args[0], args[1], got, args[2])
	case cmd == "gap" && (len(args) == 2 || len(args) == 3):
		i, _ := strconv.Atoi(args[0])
		if i < 2 {
			ts.Fatalf("gap: want a request after the first")
		}
		gap := request(args[0]).At.Sub(request(strconv.Itoa(i - 1)).At)
		min, err := time.ParseDuration(args[1])
		ts.Check(err)
		max := time.Duration(1<<63 - 1)
		if len(args) == 3 {
			max, err = time.ParseDuration(args[2])
			ts.Check(err)
		}
		check(gap >= min && gap <= max, "gap before request %d: %s; want %s to %s", i, gap, min, max)
	case cmd == "conns" && len(args) == 1:
		n := s.Conns()
		check(strconv.Itoa(n) == args[0], "%d connections accepted; want %s", n, args[0])
	case cmd == "elapsed" && len(args) == 1:
		max, err := time.ParseDuration(args[0])
		ts.Check(err)
		reqs := s.Requests()
		if len(reqs) == 0 {
			ts.Fatalf("elapsed: no request arrived")
		}
		d := time.Since(reqs[0].At)
		check(d <= max, "%s since the first request; want at most %s", d.Round(time.Millisecond), max)
	case cmd == "wait" && len(args) == 1:
		n, err := strconv.Atoi(args[0])
		ts.Check(err)
		deadline := time.Now().Add(10 * time.Second)
		for len(s.Requests()) < n {
			if time.Now().After(deadline) {
				ts.Fatalf("only %d requests arrived in 10s; want %d", len(s.Requests()), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	case cmd == "tls" && len(args) == 1:
		s.Close()
		box.s = fakeapi.NewTLS()
		ts.Defer(box.s.Close)
		ts.Setenv("FAKEAPI", box.s.URL)
		ts.Setenv("FAKEAPI_HOST", box.s.Listener.Addr().String())
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), box.s.CertPEM(), 0o644))
	default:
		ts.Fatalf("fakeapi %s: wrong arguments", strings.Join(append([]string{cmd}, args...), " "))
	}
}

// cmdInterrupt runs secretexec, waits until the script's fake API has
// received a request, sends secretexec the signal, and records its exit
// code for status, like cmdSecretexec.
//
//	interrupt TERM|INT|HUP|QUIT [args...]
func cmdInterrupt(ts *testscript.TestScript, neg bool, args []string) {
	sigs := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT}
	if len(args) < 1 || sigs[args[0]] == 0 {
		ts.Fatalf("usage: interrupt TERM|INT|HUP|QUIT [args...]")
	}
	box := scriptAPI(ts)
	cmd := exec.Command(filepath.Join(binDir, "secretexec"), args[1:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = scriptEnv(ts, box.vars)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	before := len(box.s.Requests())
	ts.Check(cmd.Start())
	deadline := time.Now().Add(10 * time.Second)
	for len(box.s.Requests()) <= before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sent := time.Now()
	ts.Check(cmd.Process.Signal(sigs[args[0]]))
	err := cmd.Wait()
	ts.Logf("secretexec ended %s after the signal", time.Since(sent).Round(time.Millisecond))
	ts.Stdout().Write(stdout.Bytes())
	ts.Stderr().Write(stderr.Bytes())
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal()) + 1000 // killed, not an exit: never a wanted status
		}
	} else if err != nil {
		ts.Fatalf("running secretexec: %v", err)
	}
	ts.Setenv("STATUS", strconv.Itoa(code))
	for _, out := range []string{stdout.String(), stderr.String()} {
		if strings.Contains(strings.ToLower(out), canary) {
			ts.Fatalf("secretexec printed a secret value:\n%s", out)
		}
	}
	if (code == 0) != !neg {
		ts.Fatalf("secretexec exited %d", code)
	}
}

// scriptEnv is the environment a script gives its commands: the one it
// started with, as the script changed it, and the variables secretexec reads.
func scriptEnv(ts *testscript.TestScript, vars []string) []string {
	names := []string{"FUSEBASE_API_KEY", "FUSEBASE_API_URL", "FUSEBASE_ENV", "SSL_CERT_FILE"}
	names = append(names, ownVariables...)
	for _, kv := range vars {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	var env []string
	seen := make(map[string]bool)
	for _, name := range names {
		if v := ts.Getenv(name); v != "" && !seen[name] {
			seen[name] = true
			env = append(env, name+"="+v)
		}
	}
	return env
}

// ownVariables are secretexec's own variables, which a script may set.
var ownVariables = []string{
	"SECRETEXEC_FROM", "SECRETEXEC_URL", "SECRETEXEC_APP", "SECRETEXEC_MANIFEST",
	"SECRETEXEC_REQUIRE", "SECRETEXEC_TIMEOUT", "SECRETEXEC_RETRIES",
	"SECRETEXEC_OVERRIDE", "SECRETEXEC_INIT", "SECRETEXEC_LOG_LEVEL",
	"SECRETEXEC_LOG_FORMAT", "SECRETEXEC_QUIET", "SECRETEXEC_ONLY_MANIFEST",
	"SECRETEXEC_SIDECAR", "SECRETEXEC_WATCH", "SECRETEXEC_ON_CHANGE",
	"SECRETEXEC_SPLAY", "SECRETEXEC_STOP_SIGNAL", "SECRETEXEC_STOP_TIMEOUT",
	"SECRETEXEC_MASK", "SECRETEXEC_MASK_MIN_LENGTH", "SECRETEXEC_FALLBACK",
	"SECRETEXEC_FALLBACK_MAX_AGE", "SECRETEXEC_OFFLINE",
}
