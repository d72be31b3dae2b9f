package inject

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/secretexec/secretexec/internal/spawn"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testChild is the static internal/testchild program, built by TestMain.
var testChild string

// TestMain builds the test child, and turns the test binary into a small
// supervisor when INJECT_TEST_SUPERVISE is set: "testbinary CHILD ARG..."
// then runs Supervise on CHILD and exits with its code, mapping start
// errors the way secretexec does (127 not found, 126 not executable).
// Each supervisor is a process of its own, so its signal handlers, its
// subreaper flag and its wait4(-1) loop stay out of the test process.
func TestMain(m *testing.M) {
	if os.Getenv("INJECT_TEST_SUPERVISE") != "" {
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		code, err := Supervise(os.Args[1], os.Args[1:], os.Environ(), log)
		var ce *CommandError
		switch {
		case errors.As(err, &ce) && errors.Is(err, ErrNotFound):
			fmt.Fprintln(os.Stderr, err)
			code = 127
		case errors.As(err, &ce) && errors.Is(err, ErrNotExecutable):
			fmt.Fprintln(os.Stderr, err)
			code = 126
		case err != nil:
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
		os.Exit(code)
	}
	if os.Getenv("INJECT_TEST_SCRUB") != "" {
		scrubAndReport()
		return
	}
	// The test process becomes a subreaper that never reaps, so an orphan
	// that the supervisor under test fails to adopt turns into a zombie
	// here and the orphan test fails, instead of being reaped by the
	// machine's init.
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		fmt.Fprintln(os.Stderr, "prctl PR_SET_CHILD_SUBREAPER:", errno)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "inject-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testChild, err = buildStatic(dir, "github.com/secretexec/secretexec/internal/testchild")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	killAdopted()
	os.RemoveAll(dir)
	os.Exit(code)
}

// killAdopted kills and reaps what a failed test left running: children
// of a supervisor that was killed are handed to the test process, the
// subreaper above them.
// A killed supervisor's own children are handed on in turn, so this goes
// on a few rounds until none is left.
func killAdopted() {
	for round := 0; round < 10; round++ {
		pids := childrenOf(os.Getpid())
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		}
	}
}

// childrenOf returns the pids of the processes whose parent is ppid.
func childrenOf(ppid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(ppid) {
			pid, _ := strconv.Atoi(e.Name())
			pids = append(pids, pid)
		}
	}
	return pids
}

// buildStatic builds the package pkg with cgo off into dir and returns the
// binary's path.
func buildStatic(dir, pkg string) (string, error) {
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

// supervisor returns a command that runs argv under Supervise in a process
// of its own. The Go runtime's preemption signal is turned off in the
// child, so that any SIGURG it reports came from the supervisor.
func supervisor(argv ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], argv...)
	cmd.Env = append(os.Environ(), "INJECT_TEST_SUPERVISE=1", "GODEBUG=asyncpreemptoff=1")
	return cmd
}

// exitCode runs cmd and returns its exit code.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func TestSuperviseExitCode(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badInterp := filepath.Join(t.TempDir(), "bad-interpreter")
	if err := os.WriteFile(badInterp, []byte("#!/no/such/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		argv []string
		want int
	}{
		{"exit 0", []string{testChild, "exit", "0"}, 0},
		{"exit 3", []string{testChild, "exit", "3"}, 3},
		{"exit 255", []string{testChild, "exit", "255"}, 255},
		{"killed by SIGKILL", []string{testChild, "kill", "KILL"}, 137},
		{"killed by SIGTERM", []string{testChild, "kill", "TERM"}, 143},
		{"not found", []string{filepath.Join(t.TempDir(), "missing")}, 127},
		{"not executable", []string{notExec}, 126},
		{"interpreter not found", []string{badInterp}, 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := supervisor(tt.argv...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if got := exitCode(t, cmd); got != tt.want {
				t.Errorf("exit code %d; want %d\nstderr:\n%s", got, tt.want, stderr.String())
			}
		})
	}
}

func TestSuperviseForwardsSignals(t *testing.T) {
	cmd := supervisor(testChild, "signals", "7")
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
	spawn.Expect(t, out, "ready")

	// Each forwarded signal arrives before the next is sent, so that the
	// kernel cannot merge or reorder them.
	type sent struct {
		sig  syscall.Signal
		name string
	}
	signals := []sent{
		{syscall.SIGHUP, "HUP"},
		{syscall.SIGINT, "INT"},
		{syscall.SIGQUIT, "QUIT"},
		{syscall.SIGUSR1, "USR1"},
		{syscall.SIGUSR2, "USR2"},
		{syscall.SIGWINCH, "WINCH"},
		// The faults, sent with kill, which would crash a Go program
		// that does not listen to them.
		{syscall.SIGABRT, "ABRT"},
		{syscall.SIGILL, "ILL"},
		{syscall.SIGTRAP, "TRAP"},
		{syscall.SIGBUS, "BUS"},
		{syscall.SIGFPE, "FPE"},
		{syscall.SIGSEGV, "SEGV"},
		{syscall.SIGSYS, "SYS"},
	}
	for _, sig := range stackFault {
		signals = append(signals, sent{sig.(syscall.Signal), "STKFLT"})
	}
	for _, s := range signals {
		if err := cmd.Process.Signal(s.sig); err != nil {
			t.Fatal(err)
		}
		spawn.Expect(t, out, s.name)
	}

	// SIGURG and SIGCHLD are not forwarded: the next line the child
	// prints is the SIGUSR2 sent after them.
	for _, sig := range []syscall.Signal{syscall.SIGURG, syscall.SIGCHLD, syscall.SIGUSR2} {
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	spawn.Expect(t, out, "USR2")

	// SIGTERM is forwarded, the child exits 7 and so does the supervisor.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	spawn.Expect(t, out, "TERM")
	for range out {
	}
	err = cmd.Wait()
	if got := cmd.ProcessState.ExitCode(); got != 7 {
		t.Errorf("exit code %d (%v); want 7\nstderr:\n%s", got, err, stderr.String())
	}
}

// TestSuperviseSignalsGroup runs a shell that ignores SIGTERM and waits for
// a child of its own, as "sh -c 'migrate && node server.js'" does: the
// signal reaches the shell's child too, because it goes to the group.
func TestSuperviseSignalsGroup(t *testing.T) {
	script := `trap "" TERM; "$0" signals 5; echo "sh: child exited $?"`
	cmd := supervisor("/bin/sh", "-c", script, testChild)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	out := spawn.Lines(stdout)
	spawn.Expect(t, out, "ready")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	spawn.Expect(t, out, "TERM")
	spawn.Expect(t, out, "sh: child exited 5")
	for range out {
	}
	cmd.Wait()
	if got := cmd.ProcessState.ExitCode(); got != 0 {
		t.Errorf("exit code %d; want 0 (the shell's)", got)
	}
}

// TestSuperviseReapsOrphans checks the subreaper: the orphan must be
// reaped by the supervisor, since the test process (a subreaper itself,
// see TestMain) never reaps it.
func TestSuperviseReapsOrphans(t *testing.T) {
	cmd := supervisor(testChild, "orphan")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if got := exitCode(t, cmd); got != 0 {
		t.Fatalf("exit code %d; want 0\nstdout:\n%s\nstderr:\n%s", got, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "reaped") {
		t.Errorf("stdout %q; want the orphan reaped", stdout.String())
	}
}

func TestSuperviseOwnGroup(t *testing.T) {
	cmd := supervisor(testChild, "pids")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if got := exitCode(t, cmd); got != 0 {
		t.Fatalf("exit code %d; want 0", got)
	}
	var pid, ppid, pgid int
	if _, err := fmt.Sscanf(stdout.String(), "pid=%d ppid=%d pgid=%d", &pid, &ppid, &pgid); err != nil {
		t.Fatalf("stdout %q: %v", stdout.String(), err)
	}
	if ppid != cmd.Process.Pid {
		t.Errorf("child's parent is %d; want the supervisor, %d", ppid, cmd.Process.Pid)
	}
	if pgid != pid {
		t.Errorf("child's process group is %d; want a group of its own, %d", pgid, pid)
	}
}
