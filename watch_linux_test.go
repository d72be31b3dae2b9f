package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/fakeapi"
	"github.com/secretexec/secretexec/internal/spawn"
)

// The --watch tests run the built secretexec against a fake API whose
// answer changes under it, and testchild's rotate mode as the command: it
// writes the environment it got to a file named by its PID and prints
// "start PID", "term PID" when it gets SIGTERM. The test build lets
// --watch go down to 50ms; users' least is 5s.

// watchApp is the app whose secrets the fake API serves.
const watchApp = "backend"

// watched is one secretexec --watch run.
type watched struct {
	t        *testing.T
	api      *fakeapi.Server
	dir      string // where the commands write their environments
	cmd      *exec.Cmd
	out      <-chan string // secretexec's stdout: the commands' lines
	errs     <-chan string // secretexec's stderr
	every    time.Duration
	mu       sync.Mutex
	lines    []string // everything written on both, for the canary check
	children []int    // the commands that started
	exited   chan struct{}
	code     int
}

// secrets returns fakeapi secrets from KEY, VALUE pairs.
func secrets(kv ...string) []fakeapi.Secret {
	var out []fakeapi.Secret
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, fakeapi.Secret{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

// newWatchAPI starts a fake API serving kv as the app's secrets.
func newWatchAPI(t *testing.T, kv ...string) *fakeapi.Server {
	api := fakeapi.New()
	t.Cleanup(api.Close)
	api.SetKey("watch-test-key")
	api.SetSecrets(watchApp, secrets(kv...)...)
	return api
}

// rotate is the command "testchild rotate DIR CODE IGNORE".
func rotate(t *testing.T, code, ignore int) []string {
	return []string{buildTestChild(t), "rotate", "DIR", strconv.Itoa(code), strconv.Itoa(ignore)}
}

// startWatch runs secretexec --watch every with flags and the command
// argv, in whose words DIR is replaced by the folder for the commands'
// environments.
func startWatch(t *testing.T, api *fakeapi.Server, every time.Duration, flags []string, argv ...string) *watched {
	t.Helper()
	flags = append([]string{"--url", api.URL + "/v1/orgs/o/apps/p/features/" + watchApp + "/secrets"}, flags...)
	return startWatchIn(t, "", api, every, flags, argv...)
}

// startWatchIn is startWatch in folder cwd ("" for the test's), with
// the source up to flags.
func startWatchIn(t *testing.T, cwd string, api *fakeapi.Server, every time.Duration, flags []string, argv ...string) *watched {
	t.Helper()
	bin := buildSecretexec(t)
	w := &watched{t: t, api: api, dir: t.TempDir(), every: every, exited: make(chan struct{})}
	args := append(append([]string{"--watch", every.String()}, flags...), "--")
	for _, a := range argv {
		args = append(args, strings.ReplaceAll(a, "DIR", w.dir))
	}
	w.cmd = exec.Command(bin, args...)
	w.cmd.Dir = cwd
	w.cmd.Env = append(os.Environ(), "FUSEBASE_API_KEY=watch-test-key")
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := w.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var read sync.WaitGroup
	w.out, w.errs = w.read(stdout, &read), w.read(stderr, &read)
	go func() {
		read.Wait()
		w.cmd.Wait()
		w.code = w.cmd.ProcessState.ExitCode()
		if ws, ok := w.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			w.code = 128 + int(ws.Signal()) + 1000 // killed, not an exit: never a wanted status
		}
		close(w.exited)
	}()
	t.Cleanup(w.stop)
	return w
}

// read copies r's lines to the returned channel and to w.lines.
func (w *watched) read(r io.Reader, read *sync.WaitGroup) <-chan string {
	ch := make(chan string, 4096)
	read.Add(1)
	go func() {
		defer read.Done()
		defer close(ch)
		s := bufio.NewScanner(r)
		for s.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, s.Text())
			if pid, err := strconv.Atoi(strings.TrimPrefix(s.Text(), "start ")); err == nil {
				w.children = append(w.children, pid)
			}
			w.mu.Unlock()
			ch <- s.Text()
		}
	}()
	return ch
}

// stop ends the run if the test did not, and fails the test if anything
// secretexec or its commands wrote holds a secret value.
func (w *watched) stop() {
	select {
	case <-w.exited:
	default:
		w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.exited:
		case <-time.After(5 * time.Second):
			// The commands hold the output pipes open: kill them, and
			// their groups, too.
			w.cmd.Process.Kill()
			w.mu.Lock()
			for _, pid := range w.children {
				syscall.Kill(-pid, syscall.SIGKILL)
				syscall.Kill(pid, syscall.SIGKILL)
			}
			w.mu.Unlock()
			select {
			case <-w.exited:
			case <-time.After(spawn.Wait):
				w.t.Errorf("secretexec's output is still open %s after it was killed", spawn.Wait)
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, line := range w.lines {
		if strings.Contains(line, canary) {
			w.t.Errorf("a secret value was printed: %q", line)
		}
	}
	if w.t.Failed() || os.Getenv("WATCH_TEST_LOG") != "" {
		w.t.Logf("output:\n%s", strings.Join(w.lines, "\n"))
	}
}

// wait waits for secretexec to exit and returns its code.
func (w *watched) wait() int {
	w.t.Helper()
	select {
	case <-w.exited:
		return w.code
	case <-time.After(spawn.Wait):
		w.t.Fatalf("secretexec still runs after %s", spawn.Wait)
		return 0
	}
}

// started waits for the next command to start and returns its PID.
func (w *watched) started() int {
	w.t.Helper()
	lines := spawn.Await(w.t, w.out, "start ")
	pid, err := strconv.Atoi(strings.TrimPrefix(lines[len(lines)-1], "start "))
	if err != nil || len(lines) > 1 {
		w.t.Fatalf("command printed %q; want only a start line", lines)
	}
	return pid
}

// env returns the environment the command pid started with.
func (w *watched) env(pid int) map[string]string {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, strconv.Itoa(pid)))
	if err != nil {
		w.t.Fatal(err)
	}
	env := make(map[string]string)
	for _, kv := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// wantEnv fails unless the command pid got the variables in kv (KEY,
// VALUE pairs; a VALUE of "-" wants KEY unset). Only keys are printed.
func (w *watched) wantEnv(pid int, kv ...string) {
	w.t.Helper()
	env := w.env(pid)
	for i := 0; i+1 < len(kv); i += 2 {
		got, ok := env[kv[i]]
		switch {
		case kv[i+1] == "-" && ok:
			w.t.Errorf("command %d got %s; want it unset", pid, kv[i])
		case kv[i+1] != "-" && got != kv[i+1]:
			w.t.Errorf("command %d did not get the expected value of %s (set: %v)", pid, kv[i], ok)
		}
	}
}

// polls waits until n more requests than now have reached the fake API.
func (w *watched) polls(n int) {
	w.t.Helper()
	want := len(w.api.Requests()) + n
	deadline := time.Now().Add(spawn.Wait)
	for len(w.api.Requests()) < want {
		if time.Now().After(deadline) {
			w.t.Fatalf("only %d requests in %s; want %d", len(w.api.Requests()), spawn.Wait, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// quiet fails if the commands printed anything since the last line read:
// no command stopped or started.
func (w *watched) quiet() {
	w.t.Helper()
	select {
	case line := <-w.out:
		w.t.Fatalf("the command printed %q; want no stop or start", line)
	default:
	}
}

// stderrLines returns the lines on stderr so far that contain s.
func (w *watched) stderrLines(s string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, line := range w.lines {
		if strings.HasPrefix(line, "secretexec: ") && strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// startWithCopy is startWatch with --fallback in a fresh folder, and
// flags; it waits for the command, and for the copy the start wrote.
func startWithCopy(t *testing.T, api *fakeapi.Server, every time.Duration, flags ...string) (w *watched, copy string, first int) {
	t.Helper()
	copy = filepath.Join(t.TempDir(), "fallback")
	w = startWatch(t, api, every, append([]string{"--fallback", copy}, flags...), rotate(t, 0, 0)...)
	first = w.started()
	if _, err := os.Stat(copy); err != nil {
		t.Fatalf("no fallback copy after the start: %v", err)
	}
	return w, copy, first
}

// eventually waits up to spawn.Wait for cond to hold, and fails saying
// what did not happen.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(spawn.Wait); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, spawn.Wait)
		}
	}
}

// alive fails unless process pid exists, and is not a zombie.
func alive(t *testing.T, pid int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("command %d is gone: %v", pid, err)
	}
	if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == "Z" {
		t.Fatalf("command %d is a zombie", pid)
	}
}

// gone fails unless process pid no longer exists, not even as a zombie.
func gone(t *testing.T, pid int) {
	t.Helper()
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("command %d is still there (%v); want it stopped and reaped", pid, err)
	}
}

func TestWatchRestartsOnChange(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one", "KEEP", "canary-keep", "GONE", "canary-gone")
	w := startWatch(t, api, 300*time.Millisecond, []string{"--require", "API_TOKEN"}, rotate(t, 3, 0)...)
	first := w.started()
	w.wantEnv(first, "API_TOKEN", "canary-one", "KEEP", "canary-keep", "GONE", "canary-gone", "FUSEBASE_API_KEY", "-")

	// Polls that find the same content restart nothing, whatever the
	// order or shape of the answer.
	w.polls(2)
	api.SetSecrets(watchApp, secrets("GONE", "canary-gone", "KEEP", "canary-keep", "API_TOKEN", "canary-one")...)
	w.polls(2)
	api.SetFault("flat")
	w.polls(2)
	w.quiet()
	alive(t, first)
	if lines := w.stderrLines("changed"); len(lines) > 0 {
		t.Fatalf("an unchanged set was reported: %q", lines)
	}
	// One timer a poll: polls come DUR apart, give or take 20%.
	reqs := api.Requests()
	for i := 2; i < len(reqs); i++ {
		if gap := reqs[i].At.Sub(reqs[i-1].At); gap < w.every*8/10-10*time.Millisecond {
			t.Errorf("polls %d and %d came %s apart; want at least %s", i-1, i, gap, w.every*8/10)
		}
	}

	// A rotation: the old command gets SIGTERM and is gone before the new
	// one starts with the new values.
	api.SetSecrets(watchApp, secrets("API_TOKEN", "canary-two", "KEEP", "canary-keep", "NEW", "canary-new")...)
	changed := time.Now()
	spawn.Expect(t, w.out, fmt.Sprintf("term %d", first))
	second := w.started()
	took := time.Since(changed)
	if second == first {
		t.Fatalf("the command kept PID %d", first)
	}
	gone(t, first)
	w.wantEnv(second, "API_TOKEN", "canary-two", "KEEP", "canary-keep", "NEW", "canary-new", "GONE", "-", "FUSEBASE_API_KEY", "-")
	spawn.Await(t, w.errs, "secretexec: the secrets changed: API_TOKEN changed; NEW added; GONE removed; restarting the command")
	// Within DUR and 20%; the rest is generous room for a loaded machine.
	if limit := w.every*12/10 + 2*time.Second; took > limit {
		t.Errorf("the new command started %s after the change; want at most %s", took, limit)
	}

	// SIGTERM is forwarded, and the command's status comes back.
	w.cmd.Process.Signal(syscall.SIGTERM)
	spawn.Expect(t, w.out, fmt.Sprintf("term %d", second))
	if code := w.wait(); code != 3 {
		t.Errorf("exit code %d; want the command's 3", code)
	}
	if rest := spawn.Rest(w.out); rest != "" {
		t.Errorf("after SIGTERM the commands printed %q; want nothing", rest)
	}
}

func TestWatchRefusesFailingSet(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one", "KEEP", "canary-keep")
	w := startWatch(t, api, 300*time.Millisecond, []string{"--require", "API_TOKEN:the token"}, rotate(t, 0, 0)...)
	first := w.started()

	// A set that empties a required key is refused, naming the key; the
	// command keeps running, and the next polls do not repeat it.
	api.SetSecrets(watchApp, secrets("API_TOKEN", "", "KEEP", "canary-other")...)
	spawn.Await(t, w.errs, "the new set is refused")
	spawn.Await(t, w.errs, "API_TOKEN (the token): registered, no value")
	w.polls(3)
	w.quiet()
	alive(t, first)
	if lines := w.stderrLines("is refused"); len(lines) != 1 {
		t.Errorf("the refusal was reported %d times; want once: %q", len(lines), lines)
	}

	// Once the set passes, the command restarts with it.
	api.SetSecrets(watchApp, secrets("API_TOKEN", "canary-three", "KEEP", "canary-other")...)
	spawn.Expect(t, w.out, fmt.Sprintf("term %d", first))
	second := w.started()
	gone(t, first)
	w.wantEnv(second, "API_TOKEN", "canary-three", "KEEP", "canary-other")
}

// TestWatchOutage checks that a store that fails, in any of the ways it
// can, never stops the command: one warning when the outage starts, one
// line when it ends, polls backing off in between.
func TestWatchOutage(t *testing.T) {
	for _, fault := range []string{"503", "401", "hang", "malformed", "message"} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel() // they wait, mostly
			api := newWatchAPI(t, "API_TOKEN", "canary-one")
			every := 250 * time.Millisecond
			w := startWatch(t, api, every, []string{"--log-level", "debug"}, rotate(t, 0, 0)...)
			first := w.started()
			w.polls(1)

			api.SetFault(fault)
			from := len(api.Requests())
			spawn.Await(t, w.errs, "secretexec: warning: cannot check the secrets for a change")
			spawn.Await(t, w.errs, "poll failed again")
			if fault == "401" {
				// Enough failed polls to see the back-off reach its cap.
				spawn.Await(t, w.errs, "poll failed again")
				spawn.Await(t, w.errs, "poll failed again")
			}
			api.SetFault("ok")
			spawn.Await(t, w.errs, "secretexec: the secrets can be fetched again, after ")
			w.quiet()
			alive(t, first)
			if lines := w.stderrLines("warning"); len(lines) != 1 {
				t.Errorf("%d warnings; want one for the outage: %q", len(lines), lines)
			}
			if lines := w.stderrLines("changed"); len(lines) > 0 {
				t.Errorf("the outage was taken for a change: %q", lines)
			}

			if fault == "401" {
				// One request a poll: the gaps show the back-off, 2, 4 and
				// then 5 times the interval, give or take 20%.
				reqs := api.Requests()[from:]
				for i, factor := range []time.Duration{2, 4, 5} {
					if i+1 >= len(reqs) {
						break
					}
					gap := reqs[i+1].At.Sub(reqs[i].At)
					least, most := factor*every*8/10-10*time.Millisecond, factor*every*12/10+time.Second
					if gap < least || gap > most {
						t.Errorf("failed poll %d came %s after the one before; want %s to %s", i+2, gap, least, most)
					}
				}
			}
		})
	}
}

func TestWatchOnChangeExit(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	w := startWatch(t, api, 200*time.Millisecond, []string{"--on-change", "exit"}, rotate(t, 0, 0)...)
	first := w.started()
	api.SetSecrets(watchApp, secrets("API_TOKEN", "canary-two")...)
	spawn.Expect(t, w.out, fmt.Sprintf("term %d", first))
	if code := w.wait(); code != 75 {
		t.Errorf("exit code %d; want 75", code)
	}
	if rest := spawn.Rest(w.out); rest != "" {
		t.Errorf("after the stop the commands printed %q; want nothing started", rest)
	}
	gone(t, first)
	if len(w.stderrLines("stopping the command, then exiting 75 (--on-change exit)")) != 1 {
		t.Errorf("no line says why secretexec exits 75")
	}
}

func TestWatchStopTimeout(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	// The command ignores SIGTERM.
	w := startWatch(t, api, 200*time.Millisecond, []string{"--stop-timeout", "500ms"}, rotate(t, 0, -1)...)
	first := w.started()
	api.SetSecrets(watchApp, secrets("API_TOKEN", "canary-two")...)
	spawn.Expect(t, w.out, fmt.Sprintf("term %d", first))
	termed := time.Now()
	second := w.started()
	if took := time.Since(termed); took < 500*time.Millisecond-20*time.Millisecond {
		t.Errorf("the new command started %s after SIGTERM; want the 500ms stop timeout first", took)
	}
	gone(t, first)
	w.wantEnv(second, "API_TOKEN", "canary-two")
	if len(w.stderrLines("did not stop within 500ms; sending SIGKILL to its process group")) != 1 {
		t.Errorf("no line says the command was killed")
	}
	// A command killed from outside ends secretexec with 128+9.
	syscall.Kill(second, syscall.SIGKILL)
	if code := w.wait(); code != 137 {
		t.Errorf("exit code %d; want 137", code)
	}
}

func TestWatchStopSignal(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	// SIGUSR1 stops the command: it prints "usr1".
	w := startWatch(t, api, 200*time.Millisecond, []string{"--stop-signal", "usr1"}, rotate(t, 0, 0)...)
	first := w.started()
	api.SetSecrets(watchApp, secrets("API_TOKEN", "canary-two")...)
	spawn.Expect(t, w.out, fmt.Sprintf("usr1 %d", first))
	w.started()
	gone(t, first)
}

// TestWatchInterruptDuringRestart checks that SIGTERM during a restart is
// forwarded to the old command, that nothing new starts, and that
// secretexec exits with the command's status, as under --init.
func TestWatchInterruptDuringRestart(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	// The command ignores the first SIGTERM, the restart's, and exits 5
	// on the second.
	w := startWatch(t, api, 200*time.Millisecond, []string{"--stop-timeout", "30s"}, rotate(t, 5, 1)...)
	first := w.started()
	api.SetSecrets(watchApp, secrets("API_TOKEN", "canary-two")...)
	spawn.Expect(t, w.out, fmt.Sprintf("term %d", first))
	// The restart waits for the command now.
	w.cmd.Process.Signal(syscall.SIGTERM)
	spawn.Expect(t, w.out, fmt.Sprintf("term %d", first))
	if code := w.wait(); code != 5 {
		t.Errorf("exit code %d; want the command's 5", code)
	}
	if rest := spawn.Rest(w.out); rest != "" {
		t.Errorf("after SIGTERM the commands printed %q; want nothing started", rest)
	}
}

// TestWatchCommandExits checks that a command that exits by itself ends
// secretexec with its status, and is not started again.
func TestWatchCommandExits(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	w := startWatch(t, api, 200*time.Millisecond, nil, rotate(t, 7, 0)...)
	first := w.started()
	w.polls(2)
	syscall.Kill(first, syscall.SIGUSR1) // from outside: it exits 7
	spawn.Expect(t, w.out, fmt.Sprintf("usr1 %d", first))
	if code := w.wait(); code != 7 {
		t.Errorf("exit code %d; want the command's 7", code)
	}
	if rest := spawn.Rest(w.out); rest != "" {
		t.Errorf("after the exit the commands printed %q; want nothing started", rest)
	}
}

// TestWatchSplay checks, over several rotations, that the stop comes a
// random time within --splay after the poll that saw the change.
func TestWatchSplay(t *testing.T) {
	const splay = time.Second
	api := newWatchAPI(t, "API_TOKEN", "canary-0")
	w := startWatch(t, api, 200*time.Millisecond, []string{"--splay", splay.String()}, rotate(t, 0, 0)...)
	pid := w.started()
	var delays []time.Duration
	for i := 1; i <= 6; i++ {
		changed := time.Now()
		api.SetSecrets(watchApp, secrets("API_TOKEN", fmt.Sprintf("canary-%d", i))...)
		spawn.Expect(t, w.out, fmt.Sprintf("term %d", pid))
		stopped := time.Now()
		var seen time.Time
		for _, r := range api.Requests() {
			if r.At.After(changed) {
				seen = r.At
				break
			}
		}
		delay := stopped.Sub(seen)
		// Room for a loaded machine above the window.
		if delay < 0 || delay > splay+time.Second {
			t.Errorf("rotation %d: stopped %s after the poll that saw the change; want within the %s splay", i, delay, splay)
		}
		delays = append(delays, delay)
		pid = w.started()
	}
	// Six draws all in the first quarter of the window: one in 4096.
	if slices.Max(delays) < splay/4 {
		t.Errorf("every stop came within %s of its poll: %v; want them spread over the %s splay", splay/4, delays, splay)
	}
	t.Logf("delays: %v", delays)
}

// TestWatchStopsWholeGroup checks that a restart waits for the whole of
// the old command's process group, not only the process it started: here
// a shell that dies of SIGTERM at once, and its child, which ignores it
// and gets SIGKILL at the stop timeout.
func TestWatchStopsWholeGroup(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	child := strings.Join(rotate(t, 0, -1), " ")
	w := startWatch(t, api, 200*time.Millisecond, []string{"--stop-timeout", "500ms"}, "sh", "-c", child+" & wait")
	first := w.started()
	api.SetSecrets(watchApp, secrets("API_TOKEN", "canary-two")...)
	spawn.Expect(t, w.out, fmt.Sprintf("term %d", first))
	termed := time.Now()
	second := w.started()
	if took := time.Since(termed); took < 500*time.Millisecond-20*time.Millisecond {
		t.Errorf("the new command started %s after SIGTERM, with the old group's %d still running; want the 500ms stop timeout first", took, first)
	}
	gone(t, first)
	w.wantEnv(second, "API_TOKEN", "canary-two")
}

// TestWatchMask checks that a restarted command's output is masked with
// the new values, and with the ones rotated away (a cache, or a log line
// replayed, may still print them), one rotation deep. The first value
// holds no canary: it is printed once no longer masked.
func TestWatchMask(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "rotated-one-0123")
	child := strings.Join(rotate(t, 0, 0), " ")
	echo := `echo "token $API_TOKEN old rotated-one-0123 older never-a-secret"; exec ` + child
	w := startWatch(t, api, 200*time.Millisecond, []string{"--mask"}, "sh", "-c", echo)
	spawn.Expect(t, w.out, "token [masked:API_TOKEN] old [masked:API_TOKEN] older never-a-secret")
	first := w.started()
	api.SetSecrets(watchApp, secrets("API_TOKEN", "canary-two-4567")...)
	spawn.Expect(t, w.out, fmt.Sprintf("term %d", first))
	spawn.Expect(t, w.out, "token [masked:API_TOKEN] old [masked:API_TOKEN] older never-a-secret")
	second := w.started()
	w.wantEnv(second, "API_TOKEN", "canary-two-4567")
	// Two rotations on, rotated-one-0123 is no longer masked.
	api.SetSecrets(watchApp, secrets("API_TOKEN", "canary-three-890")...)
	spawn.Expect(t, w.out, fmt.Sprintf("term %d", second))
	spawn.Expect(t, w.out, "token [masked:API_TOKEN] old rotated-one-0123 older never-a-secret")
	w.started()
}

// TestWatchFallback checks that a poll never stands in with the fallback
// copy: an outage while watching is reported as one, and the command
// keeps its set.
func TestWatchFallback(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	w, _, first := startWithCopy(t, api, 250*time.Millisecond)
	api.SetFault("503")
	spawn.Await(t, w.errs, "secretexec: warning: cannot check the secrets for a change")
	api.SetFault("ok")
	spawn.Await(t, w.errs, "secretexec: the secrets can be fetched again")
	if lines := w.stderrLines("fallback copy"); len(lines) > 0 {
		t.Errorf("a poll used the fallback copy: %q", lines)
	}
	w.quiet()
	alive(t, first)
}

// TestWatchStartsFromFallback checks a start during an outage: the command
// runs with the fallback copy's secrets, and the first poll that reaches
// the store replaces the copy, without a restart when the store holds
// what the copy did.
func TestWatchStartsFromFallback(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	w, copy, _ := startWithCopy(t, api, 250*time.Millisecond, "--timeout", "1s")
	w.stop()

	api.SetFault("503")
	written, err := os.ReadFile(copy)
	if err != nil {
		t.Fatal(err)
	}
	w = startWatch(t, api, 250*time.Millisecond, []string{"--fallback", copy, "--timeout", "1s"}, rotate(t, 0, 0)...)
	first := w.started()
	w.wantEnv(first, "API_TOKEN", "canary-one")
	if len(w.stderrLines("using the fallback copy")) != 1 {
		t.Fatalf("no line says the fallback copy was used")
	}
	api.SetFault("ok")
	eventually(t, "the fallback copy replaced once the store came back", func() bool {
		b, err := os.ReadFile(copy)
		return err == nil && !bytes.Equal(b, written)
	})
	w.polls(1)
	w.quiet()
	alive(t, first)
}
