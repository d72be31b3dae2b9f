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
	"time"

	"github.com/secretexec/secretexec/internal/spawn"
)

var (
	testChildOnce sync.Once
	testChildErr  error
)

// buildTestChild builds internal/testchild, static, next to the secretexec
// binary and returns its path.
func buildTestChild(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(filepath.Dir(buildSecretexec(t)), "testchild")
	testChildOnce.Do(func() {
		cmd := exec.Command("go", "build", "-o", bin, "./internal/testchild")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			testChildErr = fmt.Errorf("go build ./internal/testchild: %v\n%s", err, out)
		}
	})
	if testChildErr != nil {
		t.Fatal(testChildErr)
	}
	return bin
}

// needRoot skips a test that needs root or a kernel feature the machine
// refuses, with the reason; under CI, which runs as root and must run
// these tests, it fails instead.
func needRoot(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// inNamespace returns a command that runs secretexec with args as PID 1 of
// a new PID namespace, with a /proc of its own.
func inNamespace(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	bin := buildSecretexec(t)
	if os.Geteuid() != 0 {
		needRoot(t, "PID namespace tests need root for unshare --pid; running as uid %d", os.Geteuid())
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		needRoot(t, "PID namespace tests need unshare (util-linux): %v", err)
	}
	if out, err := exec.Command(unshare, "--pid", "--fork", "--mount-proc", "true").CombinedOutput(); err != nil {
		needRoot(t, "PID namespaces are not permitted here: unshare --pid --fork --mount-proc: %v: %s", err, bytes.TrimSpace(out))
	}
	cmd := exec.Command(unshare, append([]string{"--pid", "--fork", "--mount-proc", bin}, args...)...)
	// The Go runtime's own SIGURG is turned off in the test child, so
	// that a SIGURG it reports came from secretexec.
	cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	return cmd
}

// initArgs are secretexec's arguments for running argv under --init with
// one canary secret from a file.
func initArgs(t *testing.T, argv ...string) []string {
	t.Helper()
	secrets := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(secrets, []byte(`{"API_TOKEN": "canary-init"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return append([]string{"--init", "--log-level", "debug", "--from", "file:" + secrets, "--"}, argv...)
}

// run runs cmd and returns its exit code and output; it fails the test if
// the output holds a secret value.
func run(t *testing.T, cmd *exec.Cmd) (code int, stdout, stderr string) {
	t.Helper()
	var outb, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &outb, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	stdout, stderr = outb.String(), errb.String()
	if strings.Contains(stdout+stderr, canary) {
		t.Fatalf("a secret value was printed:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	return cmd.ProcessState.ExitCode(), stdout, stderr
}

func TestInitIsPID1(t *testing.T) {
	child := buildTestChild(t)
	code, stdout, stderr := run(t, inNamespace(t, initArgs(t, child, "pids")...))
	if code != 0 {
		t.Fatalf("exit code %d; want 0\nstderr:\n%s", code, stderr)
	}
	var pid, ppid, pgid int
	if _, err := fmt.Sscanf(stdout, "pid=%d ppid=%d pgid=%d", &pid, &ppid, &pgid); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	if ppid != 1 || pgid != pid {
		t.Errorf("child reports %q; want its parent PID 1 (secretexec) and a group of its own", strings.TrimSpace(stdout))
	}
	if !strings.Contains(stderr, "pid1=true") {
		t.Errorf("secretexec does not know it is PID 1; stderr:\n%s", stderr)
	}
}

func TestInitSecretsReachChild(t *testing.T) {
	child := buildTestChild(t)
	cmd := inNamespace(t, initArgs(t, child, "env", "API_TOKEN")...)
	cmd.Env = append(cmd.Env, "WANT_API_TOKEN=canary-init")
	code, _, stderr := run(t, cmd)
	if code != 0 {
		t.Fatalf("exit code %d; want 0 (the child got its secret)\nstderr:\n%s", code, stderr)
	}
}

func TestInitReapsOrphans(t *testing.T) {
	child := buildTestChild(t)
	code, stdout, stderr := run(t, inNamespace(t, initArgs(t, child, "orphan")...))
	if code != 0 {
		t.Fatalf("exit code %d; want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "reaped") || !strings.Contains(stderr, "reaped orphan") {
		t.Errorf("the orphan was not reaped by secretexec\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
}

func TestInitExitCode(t *testing.T) {
	child := buildTestChild(t)
	for _, tt := range []struct {
		argv []string
		want int
	}{
		{[]string{"exit", "0"}, 0},
		{[]string{"exit", "3"}, 3},
		{[]string{"kill", "KILL"}, 137},
		{[]string{"kill", "TERM"}, 143},
	} {
		t.Run(strings.Join(tt.argv, " "), func(t *testing.T) {
			code, _, stderr := run(t, inNamespace(t, initArgs(t, append([]string{child}, tt.argv...)...)...))
			if code != tt.want {
				t.Errorf("exit code %d; want %d\nstderr:\n%s", code, tt.want, stderr)
			}
		})
	}
}

// TestInitSIGTERM sends signals to PID 1 from outside its namespace, as a
// container runtime does: the forwarded ones reach the child, SIGURG does
// not, and after SIGTERM the child's exit code comes back.
func TestInitSIGTERM(t *testing.T) {
	child := buildTestChild(t)
	cmd := inNamespace(t, initArgs(t, child, "signals", "7")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	out := spawn.Lines(stdout)
	expect := func(want string) {
		t.Helper()
		expectFrom(t, out, &stderr, want)
	}
	expect("ready")
	pid1 := childOf(t, cmd.Process.Pid) // unshare's child is the namespace's PID 1
	for _, s := range []struct {
		sig  syscall.Signal
		want string
	}{
		{syscall.SIGHUP, "HUP"},
		{syscall.SIGURG, ""}, // not forwarded: the next line is USR1's
		{syscall.SIGUSR1, "USR1"},
		{syscall.SIGTERM, "TERM"},
	} {
		if err := syscall.Kill(pid1, s.sig); err != nil {
			t.Fatal(err)
		}
		if s.want == "" {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		expect(s.want)
	}
	for range out {
	}
	cmd.Wait()
	if got := cmd.ProcessState.ExitCode(); got != 7 {
		t.Errorf("exit code %d; want 7\nstderr:\n%s", got, stderr.String())
	}
}

// childOf waits for a child of ppid to appear and returns its pid.
func childOf(t *testing.T, ppid int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		entries, err := os.ReadDir("/proc")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...; comm may hold spaces.
			fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
			if len(fields) > 1 && fields[1] == strconv.Itoa(ppid) {
				pid, _ := strconv.Atoi(e.Name())
				return pid
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no child of pid %d after 10s", ppid)
	return 0
}
