// testchild, which these tests run, does not build on MIPS (no SIGSTKFLT).

//go:build !(mips || mipsle || mips64 || mips64le)

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

// The tests in this file run the built binary under --init against what an
// attacker and the test suites of tini and dumb-init tried: reading the
// store credential from the supervisor, signals that crash a Go program,
// signals at the moment the child exits, a stopped child, and the signal
// configuration the child inherits.

// initCommand returns a command that runs secretexec with args, not as
// PID 1. As in inNamespace, the Go runtime's own SIGURG is turned off, so
// that a SIGURG the test child reports came from secretexec.
func initCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(buildSecretexec(t), args...)
	cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	return cmd
}

// quietInitArgs are secretexec's arguments for running argv under --init,
// quietly, with one canary secret from the file secrets.
func quietInitArgs(secrets string, argv ...string) []string {
	return append([]string{"--init", "-q", "--from", "file:" + secrets, "--"}, argv...)
}

// secretsFile writes a secrets file with one canary value into dir.
func secretsFile(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "secrets.json")
	if err := os.WriteFile(path, []byte(`{"API_TOKEN": "canary-init"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// probeCredential is the command's view of its supervisor: whether it may
// open /proc/PPID/environ and /proc/PPID/mem, how many of the environ's
// entries hold the canary, and how many hold FUSEBASE_API_KEY with an
// empty value (the wiped one: its NUL bytes read as empty entries). The
// canary itself is never printed, so that the canary check of run holds
// for the output and a leak shows as a count.
const probeCredential = `e=/proc/$PPID/environ
if (exec <"$e") 2>/dev/null; then echo environ=readable; else echo environ=refused; fi
if (exec </proc/$PPID/mem) 2>/dev/null; then echo mem=readable; else echo mem=refused; fi
echo leaks=$(tr '\0' '\n' <"$e" 2>/dev/null | grep -c canary)
echo wiped=$(tr '\0' '\n' <"$e" 2>/dev/null | grep -c '^FUSEBASE_API_KEY=$')
`

// credentialProbe runs cmd, whose command runs probeCredential, and
// returns what it printed, a key=value map.
func credentialProbe(t *testing.T, cmd *exec.Cmd) map[string]string {
	t.Helper()
	cmd.Env = append(cmd.Env, "FUSEBASE_API_KEY=canary-key")
	code, stdout, stderr := run(t, cmd)
	if code != 0 {
		t.Fatalf("exit code %d; want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	got := map[string]string{}
	for _, line := range strings.Fields(stdout) {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	return got
}

// TestInitHidesCredential checks that the command cannot read the store
// credential from its supervisor, by each path and as each kind of
// process that issue 15 found could: the same user (the supervisor is
// non-dumpable, so /proc/PPID/environ and /proc/PPID/mem are refused),
// root without CAP_SYS_PTRACE (refused /proc/PPID/mem; some kernels still
// let it read environ, so the value must be wiped from it), and root with
// every capability, as PID 1 too (it reads environ, where the value is
// wiped).
func TestInitHidesCredential(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	t.Run("same user", func(t *testing.T) {
		// The user is nobody when the tests run as root; else the tests'
		// own. The binary and secrets go where nobody may read them.
		dir, err := os.MkdirTemp("", "secretexec-hardening-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "secretexec")
		copyFile(t, buildSecretexec(t), bin, 0o755)
		args := quietInitArgs(secretsFile(t, dir), sh, "-c", probeCredential)
		cmd := exec.Command(bin, args...)
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		cmd.Env = os.Environ()
		cmd.Dir = dir // the user may not even look into the tests' own
		got := credentialProbe(t, cmd)
		if got["environ"] != "refused" || got["mem"] != "refused" || got["leaks"] != "0" {
			t.Errorf("the command, as the supervisor's user, sees %v; want environ and mem refused and no leak", got)
		}
	})
	t.Run("root without CAP_SYS_PTRACE", func(t *testing.T) {
		if os.Geteuid() != 0 {
			needRoot(t, "dropping CAP_SYS_PTRACE from root needs root; running as uid %d", os.Geteuid())
		}
		setpriv := lookSetpriv(t)
		dir := t.TempDir()
		cmd := initCommand(t, quietInitArgs(secretsFile(t, dir),
			setpriv, "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace", sh, "-c", probeCredential)...)
		got := credentialProbe(t, cmd)
		if got["mem"] != "refused" || got["leaks"] != "0" {
			t.Errorf("the command, as root without CAP_SYS_PTRACE, sees %v; want mem refused and no leak", got)
		}
		if got["environ"] == "readable" && got["wiped"] != "1" {
			t.Errorf("the command reads environ, %v; want FUSEBASE_API_KEY in it wiped", got)
		}
	})
	t.Run("root", func(t *testing.T) {
		if os.Geteuid() != 0 {
			needRoot(t, "reading another process's environ with CAP_SYS_PTRACE needs root; running as uid %d", os.Geteuid())
		}
		cmd := initCommand(t, quietInitArgs(secretsFile(t, t.TempDir()), sh, "-c", probeCredential)...)
		got := credentialProbe(t, cmd)
		if got["environ"] != "readable" || got["leaks"] != "0" || got["wiped"] != "1" {
			t.Errorf("the command, as root, sees %v; want environ readable with FUSEBASE_API_KEY wiped", got)
		}
	})
	t.Run("PID 1", func(t *testing.T) {
		cmd := inNamespace(t, quietInitArgs(secretsFile(t, t.TempDir()), sh, "-c", probeCredential)...)
		got := credentialProbe(t, cmd)
		if got["leaks"] != "0" || got["wiped"] != "1" {
			t.Errorf("the command of PID 1 sees %v; want FUSEBASE_API_KEY wiped from /proc/1/environ", got)
		}
	})
}

func lookSetpriv(t *testing.T) string {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		needRoot(t, "changing user and capabilities needs setpriv (util-linux): %v", err)
	}
	return setpriv
}

// startChild starts cmd, which runs "testchild signals 7" under secretexec
// (as PID 1 through unshare, or not), waits until the child is ready and
// returns its output line by line, secretexec's pid and the child's.
// Whatever the test's outcome, both are killed at the end.
func startChild(t *testing.T, cmd *exec.Cmd, pid1 bool) (out <-chan string, stderr *strings.Builder, supervisor, child int) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &strings.Builder{}
	cmd.Stderr = stderr
	// A child left behind, stopped, say, must not keep Wait waiting for
	// the end of the output.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if child > 0 {
			syscall.Kill(-child, syscall.SIGKILL)
		}
		if supervisor > 0 {
			syscall.Kill(supervisor, syscall.SIGKILL)
		}
		cmd.Process.Kill()
		cmd.Wait()
	})
	ch := spawn.Lines(stdout)
	expectFrom(t, ch, stderr, "ready")
	supervisor = cmd.Process.Pid
	if pid1 {
		supervisor = childOf(t, cmd.Process.Pid) // unshare's child is the namespace's PID 1
	}
	return ch, stderr, supervisor, childOf(t, supervisor)
}

// expectFrom waits for the next line from out and fails unless it is want.
func expectFrom(t *testing.T, out <-chan string, stderr *strings.Builder, want string) {
	t.Helper()
	select {
	case got, ok := <-out:
		if !ok {
			t.Fatalf("output ended; want %q\nstderr:\n%s", want, stderr.String())
		}
		if got != want {
			t.Fatalf("child printed %q; want %q\nstderr:\n%s", got, want, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("child printed nothing in 10s; want %q\nstderr:\n%s", want, stderr.String())
	}
}

// endWithTERM sends SIGTERM to the supervisor, expects the child to report
// it and exit 7, and secretexec with it.
func endWithTERM(t *testing.T, cmd *exec.Cmd, out <-chan string, stderr *strings.Builder, supervisor int) {
	t.Helper()
	if err := syscall.Kill(supervisor, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expectFrom(t, out, stderr, "TERM")
	for range out {
	}
	cmd.Wait()
	if got := cmd.ProcessState.ExitCode(); got != 7 {
		t.Errorf("exit code %d (%v); want 7\nstderr:\n%s", got, cmd.ProcessState, stderr.String())
	}
}

// TestInitForwardsFaultSignals sends the supervisor the signals the kernel
// sends for a program's own faults, as "kill -ABRT 1" does: a Go program
// crashes on them with a stack dump, and as PID 1 takes the container
// with it. They must reach the child like any other.
func TestInitForwardsFaultSignals(t *testing.T) {
	child := buildTestChild(t)
	for _, pid1 := range []bool{false, true} {
		t.Run(map[bool]string{false: "not PID 1", true: "PID 1"}[pid1], func(t *testing.T) {
			args := quietInitArgs(secretsFile(t, t.TempDir()), child, "signals", "7")
			cmd := initCommand(t, args...)
			if pid1 {
				cmd = inNamespace(t, args...)
			}
			out, stderr, supervisor, _ := startChild(t, cmd, pid1)
			for _, s := range []struct {
				sig  syscall.Signal
				name string
			}{
				{syscall.SIGABRT, "ABRT"},
				{syscall.SIGILL, "ILL"},
				{syscall.SIGTRAP, "TRAP"},
				{syscall.SIGBUS, "BUS"},
				{syscall.SIGFPE, "FPE"},
				{syscall.SIGSEGV, "SEGV"},
				{syscall.SIGSTKFLT, "STKFLT"},
				{syscall.SIGSYS, "SYS"},
			} {
				if err := syscall.Kill(supervisor, s.sig); err != nil {
					t.Fatal(err)
				}
				expectFrom(t, out, stderr, s.name)
			}
			endWithTERM(t, cmd, out, stderr, supervisor)
		})
	}
}

// TestInitStoppedChild stops the child with SIGTSTP, with no terminal
// about: SIGCONT sent to secretexec must continue it, and SIGTERM must end
// it though it is stopped (SIGTERM is followed by SIGCONT), rather than
// leave secretexec waiting for ever.
func TestInitStoppedChild(t *testing.T) {
	cmd := initCommand(t, quietInitArgs(secretsFile(t, t.TempDir()), buildTestChild(t), "signals", "7")...)
	out, stderr, supervisor, child := startChild(t, cmd, false)

	stop := func() {
		t.Helper()
		if err := syscall.Kill(child, syscall.SIGTSTP); err != nil {
			t.Fatal(err)
		}
		waitState(t, child, true)
	}
	stop()
	if err := syscall.Kill(supervisor, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitState(t, child, false)
	stop()
	endWithTERM(t, cmd, out, stderr, supervisor)
}

// waitState waits until the process is stopped (state T in /proc/PID/stat),
// or until it is not.
func waitState(t *testing.T, pid int, stopped bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var state string
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 {
			if state = f[0]; (state == "T") == stopped {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("process %d in state %q after 10s; want it stopped: %v", pid, state, stopped)
}

// TestInitStatusSurvivesLateSignal runs many children that exit 7 while a
// signal reaches secretexec at the moment they exit (see testchild
// lastword): before, on or after the moment it collects the status. The
// status must be 7 every time: the signal must neither kill secretexec
// (not PID 1), nor make the runtime exit 2 or dump its goroutines.
func TestInitStatusSurvivesLateSignal(t *testing.T) {
	child := buildTestChild(t)
	trials := map[bool]int{false: 200, true: 100}
	if testing.Short() {
		trials = map[bool]int{false: 40, true: 20}
	}
	sigs := []string{"TERM", "INT", "HUP", "QUIT", "USR1", "ABRT", "SEGV"}
	for _, pid1 := range []bool{false, true} {
		t.Run(map[bool]string{false: "not PID 1", true: "PID 1"}[pid1], func(t *testing.T) {
			secrets := secretsFile(t, t.TempDir())
			// The command of one trial; inNamespace checks once that PID
			// namespaces work here (it skips, or fails under CI, if not).
			command := func(args ...string) *exec.Cmd { return initCommand(t, args...) }
			if pid1 {
				ns := inNamespace(t)
				command = func(args ...string) *exec.Cmd {
					cmd := exec.Command(ns.Path, append(ns.Args[1:], args...)...)
					cmd.Env = ns.Env
					return cmd
				}
			}
			var (
				mu    sync.Mutex
				bad   int
				first []string
			)
			next := make(chan int)
			var wg sync.WaitGroup
			for w := 0; w < 2; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range next {
						sig := sigs[i%len(sigs)]
						cmd := command(quietInitArgs(secrets, child, "lastword", sig, "7", "0s")...)
						cmd.WaitDelay = time.Second
						var stderr bytes.Buffer
						cmd.Stdout, cmd.Stderr = io.Discard, &stderr
						err := cmd.Run()
						var ee *exec.ExitError
						if err != nil && !errors.As(err, &ee) {
							t.Error(err)
							continue
						}
						if code := cmd.ProcessState.ExitCode(); code != 7 || stderr.Len() > 0 {
							mu.Lock()
							bad++
							if len(first) < 3 {
								first = append(first, fmt.Sprintf("SIG%s: %v (exit code %d); stderr:\n%.600s", sig, cmd.ProcessState, code, stderr.String()))
							}
							mu.Unlock()
						}
					}
				}()
			}
			for i := 0; i < trials[pid1]; i++ {
				next <- i
			}
			close(next)
			wg.Wait()
			t.Logf("%d trials, %d with a status other than the child's 7", trials[pid1], bad)
			if bad > 0 {
				t.Errorf("%d of %d trials: the late signal changed the status; the first:\n%s", bad, trials[pid1], strings.Join(first, "\n"))
			}
		})
	}
}

// TestInitSignalConfiguration is tini's signal-configuration test: signals
// ignored or blocked when secretexec starts must be so for the child, and
// no others. It covers the signals whose start-up state a Go program can
// keep: SIGHUP, SIGINT and the job-control signals ignored, and any signal
// that the Go runtime does not need unblocked, blocked. (The runtime puts
// its own handler over any other ignored signal, and unblocks the ones it
// needs, before the first line of secretexec runs: see the README.)
func TestInitSignalConfiguration(t *testing.T) {
	child := buildTestChild(t)
	secrets := secretsFile(t, t.TempDir())
	cat, err := exec.LookPath("cat")
	if err != nil {
		t.Skip("no cat")
	}
	checked := []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2,
		syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGWINCH, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU}
	for _, tt := range []struct{ ignored, blocked string }{
		{"HUP,INT,TSTP,TTIN,TTOU", "USR1,USR2,PIPE,ALRM,WINCH,TTIN"},
		{"-", "-"},
		{"INT", "USR2"},
	} {
		t.Run("ignored "+tt.ignored+" blocked "+tt.blocked, func(t *testing.T) {
			cmd := exec.Command(child, append([]string{"sigconf", tt.ignored, tt.blocked, buildSecretexec(t)},
				quietInitArgs(secrets, cat, "/proc/self/status")...)...)
			code, stdout, stderr := run(t, cmd)
			if code != 0 {
				t.Fatalf("exit code %d; want 0\nstderr:\n%s", code, stderr)
			}
			ign, blk := sigSet(t, stdout, "SigIgn"), sigSet(t, stdout, "SigBlk")
			wantIgn, wantBlk := sigNames(tt.ignored), sigNames(tt.blocked)
			for _, sig := range checked {
				name := testSignalName(sig)
				if got, want := ign&(1<<(sig-1)) != 0, wantIgn[name]; got != want {
					t.Errorf("SIG%s ignored in the child: %v; want %v", name, got, want)
				}
				if got, want := blk&(1<<(sig-1)) != 0, wantBlk[name]; got != want {
					t.Errorf("SIG%s blocked in the child: %v; want %v", name, got, want)
				}
			}
		})
	}
}

// sigSet returns the mask on the line "field:" of a /proc/PID/status.
func sigSet(t *testing.T, status, field string) uint64 {
	t.Helper()
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("%s: %v", field, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in the child's status:\n%s", field, status)
	return 0
}

func sigNames(list string) map[string]bool {
	set := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		set[name] = true
	}
	return set
}

func testSignalName(sig syscall.Signal) string {
	return map[syscall.Signal]string{
		syscall.SIGHUP: "HUP", syscall.SIGINT: "INT", syscall.SIGUSR1: "USR1", syscall.SIGUSR2: "USR2",
		syscall.SIGPIPE: "PIPE", syscall.SIGALRM: "ALRM", syscall.SIGWINCH: "WINCH",
		syscall.SIGTSTP: "TSTP", syscall.SIGTTIN: "TTIN", syscall.SIGTTOU: "TTOU",
	}[sig]
}
