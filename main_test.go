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
	"sync"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the small programs the scripts run
// under secretexec, each in a process of its own.
func TestMain(m *testing.M) {
	testscript.Main(cleanup{m}, map[string]func(){
		"envdump": envdump,
	})
}

// cleanup removes the built binary after the tests.
type cleanup struct{ m *testing.M }

func (c cleanup) Run() int {
	code := c.m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	return code
}

// testOnlyLDFlags stamp the test build of secretexec; release builds never
// have them.
var testOnlyLDFlags = "-X github.com/secretexec/secretexec/internal/cli.testOnlyRetryWait=2ms -X github.com/secretexec/secretexec/internal/cli.testOnlyHeaderWait=300ms -X github.com/secretexec/secretexec/internal/cli.testOnlyMinWatch=50ms"

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// buildSecretexec builds the real binary once for all tests, so the scripts
// exercise what users run rather than code linked into the test.
func buildSecretexec(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "secretexec-test-")
		if buildErr != nil {
			return
		}
		// No version control stamp: the binary's version is then "devel"
		// wherever the tests run, and scripts can assert the exact
		// User-Agent it sends.
		args := []string{"build", "-buildvcs=false", "-o", filepath.Join(binDir, "secretexec")}
		if testOnlyLDFlags != "" {
			args = append(args, "-ldflags", testOnlyLDFlags)
		}
		cmd := exec.Command("go", append(args, ".")...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "secretexec")
}

func TestScript(t *testing.T) {
	bin := buildSecretexec(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"secretexec": cmdSecretexec,
			"status":     cmdStatus,
			"samepid":    cmdSamePID,
			"fakeapi":    cmdFakeAPI,
			"interrupt":  cmdInterrupt,
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", filepath.Dir(bin)+string(filepath.ListSeparator)+env.Getenv("PATH"))
			env.Setenv("CANARY", canary)
			examples, err := filepath.Abs("examples")
			if err != nil {
				return err
			}
			env.Setenv("EXAMPLES", examples)
			// A script that forgets to point secretexec at the fake API
			// must fail here rather than reach the real one: every request
			// to a host other than loopback goes to a proxy that is not
			// there, and no name is even looked up.
			for _, v := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
				env.Setenv(v, "http://127.0.0.1:9")
			}
			env.Setenv("NO_PROXY", "")
			env.Setenv("no_proxy", "")
			return setupFakeAPI(env)
		},
	})
}

// canary starts every secret value in the scripts. secretexec's own output
// must never hold it; a command that prints its environment writes it to a
// file instead.
const canary = "canary-"

// cmdSecretexec runs secretexec, in a process of its own, and records its
// exit code for status. Whatever the outcome, it fails the script if
// secretexec's stdout or stderr holds a canary value.
//
//	secretexec [args...]
func cmdSecretexec(ts *testscript.TestScript, neg bool, args []string) {
	err := ts.Exec("secretexec", args...)
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("running secretexec: %v", err)
		}
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	}
	ts.Setenv("STATUS", strconv.Itoa(code))
	for _, stream := range []string{"stdout", "stderr"} {
		if out := ts.ReadFile(stream); strings.Contains(strings.ToLower(out), canary) {
			ts.Fatalf("secretexec printed a secret value on %s:\n%s", stream, out)
		}
	}
	switch {
	case neg && code == 0:
		ts.Fatalf("secretexec succeeded unexpectedly")
	case !neg && code != 0:
		ts.Fatalf("secretexec exited %d; want 0", code)
	}
}

// cmdStatus asserts the exit code of the last secretexec command.
//
//	status CODE
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: status CODE")
	}
	got := ts.Getenv("STATUS")
	if (got == args[0]) == neg {
		ts.Fatalf("exit code %s; want %s%s", got, map[bool]string{true: "not "}[neg], args[0])
	}
}

// cmdSamePID asserts that two files each hold the same process ID, as
// written by `echo $$` and by envdump.
//
//	samepid FILE1 FILE2
func cmdSamePID(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: samepid FILE1 FILE2")
	}
	a := strings.TrimSpace(ts.ReadFile(args[0]))
	b := strings.TrimSpace(ts.ReadFile(args[1]))
	if _, err := strconv.Atoi(a); err != nil {
		ts.Fatalf("%s: not a PID: %q", args[0], a)
	}
	if (a == b) == neg {
		ts.Fatalf("PIDs %s and %s; want them %sequal", a, b, map[bool]string{true: "un"}[neg])
	}
}

// envdump writes its environment, one variable a line in the order it got
// them, to the file named by its first argument, and its PID to that name
// plus ".pid". It then exits with the code in its second argument, if any.
func envdump() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: envdump FILE [CODE]")
		os.Exit(2)
	}
	var b bytes.Buffer
	for _, kv := range os.Environ() {
		b.WriteString(kv)
		b.WriteByte('\n')
	}
	must(os.WriteFile(os.Args[1], b.Bytes(), 0o600))
	must(os.WriteFile(os.Args[1]+".pid", []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600))
	fmt.Println("envdump: ran") // proves the command's stdout is its own
	code := 0
	if len(os.Args) > 2 {
		code, _ = strconv.Atoi(os.Args[2])
	}
	os.Exit(code)
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "envdump:", err)
		os.Exit(2)
	}
}
