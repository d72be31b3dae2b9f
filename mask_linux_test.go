package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/creack/pty"
	"github.com/secretexec/secretexec/internal/spawn"
)

// The tests in this file run the built binary with --mask: the command's
// output on pipes, written in pieces of every size, and on a
// pseudo-terminal. Every value starts with the canary, so an output that
// holds "canary" after masking holds a value.

// maskSecrets are the secrets the tests register: a token, a password
// with the characters that JSON and URLs escape, and a key of several
// lines.
var maskSecrets = map[string]string{
	"API_TOKEN":   "canary-tok-5f2c9a0e71b34d68e9",
	"PASSWORD":    `canary-p"w/d&x<y> z`,
	"PRIVATE_KEY": "canary-key-AAAA1111\ncanary-key-BBBB2222\ncanary-key-CCCC3333",
}

// maskArgs are secretexec's arguments for running argv with --mask,
// quietly, with the secrets in a file.
func maskArgs(t *testing.T, secrets map[string]string, argv ...string) []string {
	t.Helper()
	b, err := json.Marshal(secrets)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return append([]string{"--mask", "-q", "--from", "file:" + path, "--"}, argv...)
}

// maskedStream builds a stream of log lines with secrets in it, and what
// the masked stream must be: the same bytes, each secret's form replaced
// by its label.
type maskedStream struct {
	in, want []byte
}

func (s *maskedStream) text(t string) {
	s.in = append(s.in, t...)
	s.want = append(s.want, t...)
}

func (s *maskedStream) secret(form, key string) {
	s.in = append(s.in, form...)
	s.want = append(s.want, "[masked:"+key+"]"...)
}

// fill adds log lines up to n bytes before the end of offset, so that a
// secret written next straddles it.
func (s *maskedStream) fill(offset, n int) {
	const line = "INFO served GET /api/v1/items status=200 bytes=5120 took=3ms\n"
	for len(s.in) < offset-n {
		s.text(line[:min(len(line), offset-n-len(s.in))])
	}
}

// secretForms returns a stream with every form of the secrets: each
// value, each line of the key, the password JSON-escaped (with and
// without the HTML escapes), percent-encoded both ways and in base64, at
// the start, in the middle, across each of the boundaries and at the end
// of the stream.
func secretForms(boundaries ...int) *maskedStream {
	s := &maskedStream{}
	pw := maskSecrets["PASSWORD"]
	key := maskSecrets["PRIVATE_KEY"]
	jsonHTML, _ := json.Marshal(pw)
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	enc.Encode(pw)
	jsonPlain := bytes.TrimSpace(plain.Bytes())
	keyJSON, _ := json.Marshal(key)

	s.secret(maskSecrets["API_TOKEN"], "API_TOKEN")
	s.text(" at the start\npassword=")
	s.secret(pw, "PASSWORD")
	s.text("\n{\"password\":\"")
	s.secret(string(jsonHTML[1:len(jsonHTML)-1]), "PASSWORD")
	s.text("\",\"again\":\"")
	s.secret(string(jsonPlain[1:len(jsonPlain)-1]), "PASSWORD")
	s.text("\"}\nGET /login?pw=")
	s.secret(url.QueryEscape(pw), "PASSWORD")
	s.text(" /login/")
	s.secret(url.PathEscape(pw), "PASSWORD")
	s.text("\nAuthorization: Basic ")
	s.secret(base64.StdEncoding.EncodeToString([]byte(pw)), "PASSWORD")
	s.text("\nkey:\n")
	s.secret(key, "PRIVATE_KEY")
	s.text("\n{\"key\":\"")
	s.secret(string(keyJSON[1:len(keyJSON)-1]), "PRIVATE_KEY")
	s.text("\"}\none line: ")
	s.secret(strings.Split(key, "\n")[1], "PRIVATE_KEY")
	s.text("\n")
	for _, at := range boundaries {
		s.fill(at, 9)
		s.secret(maskSecrets["API_TOKEN"], "API_TOKEN")
		s.fill(at+4096, 3)
		s.secret(pw, "PASSWORD")
	}
	s.text("\nat the end: ")
	s.secret(maskSecrets["API_TOKEN"], "API_TOKEN")
	return s
}

// dataFile writes b to a new file and returns its path.
func dataFile(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data")
	writeFile(t, path, b, 0o600)
	return path
}

// ddBoth writes the file to stdout and then to stderr in writes of bs
// bytes each (dd reads a regular file in full blocks).
const ddBoth = `dd if="$1" bs="$2" status=none && dd if="$1" bs="$2" status=none >&2`

// TestMaskWriteSizes writes every form of the secrets to stdout and
// stderr, a byte at a time, in odd pieces and in pieces of 4 and 64 KiB,
// with values across 4 and 64 KiB boundaries: the output must be the
// input with each form replaced, byte for byte. (A byte at a time, the
// boundaries are left out: they take long, and a value is split at
// every byte anyway.)
func TestMaskWriteSizes(t *testing.T) {
	bin := buildSecretexec(t)
	for _, bs := range []int{1, 7, 4096, 65536, 65537} {
		s := secretForms(4096, 65536, 3*65536)
		if bs == 1 {
			s = secretForms()
		}
		data := dataFile(t, s.in)
		t.Run(strconv.Itoa(bs), func(t *testing.T) {
			cmd := exec.Command(bin, maskArgs(t, maskSecrets, "sh", "-c", ddBoth, "sh", data, strconv.Itoa(bs))...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v\nstderr:\n%s", err, stderr.Bytes())
			}
			for _, out := range []struct {
				name string
				got  []byte
			}{{"stdout", stdout.Bytes()}, {"stderr", stderr.Bytes()}} {
				if !bytes.Equal(out.got, s.want) {
					t.Errorf("%s differs from the masked input at byte %d of %d (want %d)%s",
						out.name, firstDiff(out.got, s.want), len(out.got), len(s.want), canaryAt(out.got))
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// canaryAt says where a value shows in b, if it does.
func canaryAt(b []byte) string {
	if i := bytes.Index(b, []byte(canary)); i >= 0 {
		return fmt.Sprintf("; a value shows at byte %d", i)
	}
	return ""
}

// TestMaskBinary passes random bytes, every byte value among them, with a
// value in the middle: all but the value must come through exactly.
func TestMaskBinary(t *testing.T) {
	bin := buildSecretexec(t)
	rng := rand.New(rand.NewPCG(1, 2))
	s := &maskedStream{}
	noise := func(n int) {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		s.text(string(b))
	}
	for i := range 256 {
		s.text(string([]byte{byte(i)}))
	}
	noise(100 << 10)
	s.secret(maskSecrets["API_TOKEN"], "API_TOKEN")
	noise(200 << 10)
	if bytes.Contains(s.want, []byte(canary)) {
		t.Fatal("the noise holds the canary; pick another seed")
	}
	data := dataFile(t, s.in)
	cmd := exec.Command(bin, maskArgs(t, maskSecrets, "sh", "-c", ddBoth, "sh", data, "3000")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr.Bytes())
	}
	for name, got := range map[string][]byte{"stdout": stdout.Bytes(), "stderr": stderr.Bytes()} {
		if !bytes.Equal(got, s.want) {
			t.Errorf("%s differs at byte %d: %d bytes; want %d%s", name, firstDiff(got, s.want), len(got), len(s.want), canaryAt(got))
		}
	}
}

// startMasked starts secretexec with args, stdin a pipe, and returns its
// stdout and stderr as they come. It is killed at the end of the test.
func startMasked(t *testing.T, args []string) (cmd *exec.Cmd, stdin io.WriteCloser, stdout io.Reader, stderr *strings.Builder) {
	t.Helper()
	cmd = exec.Command(buildSecretexec(t), args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, stdin, out, stderr
}

// readUntil reads r until what it read ends with want, and fails if it
// does not within spawn.Wait.
func readUntil(t *testing.T, r io.Reader, want string) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		var b []byte
		buf := make([]byte, 1)
		for !bytes.HasSuffix(b, []byte(want)) {
			if n, err := r.Read(buf); n == 0 && err != nil {
				break
			}
			b = append(b, buf[0])
		}
		got <- string(b)
	}()
	select {
	case s := <-got:
		if !strings.HasSuffix(s, want) {
			t.Fatalf("output ended with %q; want it to end with %q", s, want)
		}
		return s
	case <-time.After(spawn.Wait):
		t.Fatalf("no %q after %s", want, spawn.Wait)
		return ""
	}
}

// TestMaskPrompt checks that a prompt without a newline appears while the
// command waits for an answer, even one that could be the start of a
// value (held for at most 50 ms), and that the answer reaches it.
func TestMaskPrompt(t *testing.T) {
	script := `printf 'Password: '; read a; printf 'got %s; token %s' "$a" "${API_TOKEN%%-*}-tok"; read b; echo "$API_TOKEN"`
	cmd, stdin, stdout, stderr := startMasked(t, maskArgs(t, maskSecrets, "sh", "-c", script))
	readUntil(t, stdout, "Password: ")
	io.WriteString(stdin, "hunter2\n")
	readUntil(t, stdout, "got hunter2; token canary-tok")
	io.WriteString(stdin, "\n")
	readUntil(t, stdout, "[masked:API_TOKEN]\n")
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr)
	}
}

// TestMaskExitCodes checks the command's status as under --init: its
// code, 128+n for death by signal n, and the code it exits with after a
// SIGTERM sent to secretexec (forwarded).
func TestMaskExitCodes(t *testing.T) {
	child := buildTestChild(t)
	for _, tt := range []struct {
		argv []string
		want int
	}{
		{[]string{child, "exit", "0"}, 0},
		{[]string{child, "exit", "3"}, 3},
		{[]string{child, "kill", "KILL"}, 137},
		{[]string{child, "kill", "TERM"}, 143},
	} {
		t.Run(strings.Join(tt.argv[1:], " "), func(t *testing.T) {
			code, _, stderr := run(t, exec.Command(buildSecretexec(t), maskArgs(t, maskSecrets, tt.argv...)...))
			if code != tt.want {
				t.Errorf("exit code %d; want %d\nstderr:\n%s", code, tt.want, stderr)
			}
		})
	}
	t.Run("SIGTERM", func(t *testing.T) {
		cmd := initCommand(t, maskArgs(t, maskSecrets, child, "signals", "7")...)
		out, stderr, supervisor, _ := startChild(t, cmd, false)
		syscall.Kill(supervisor, syscall.SIGHUP)
		expectFrom(t, out, stderr, "HUP")
		endWithTERM(t, cmd, out, stderr, supervisor)
	})
}

// TestMaskReapsOrphans runs secretexec --mask as PID 1 of a namespace of
// its own: it reaps the orphans the command leaves, as under --init.
func TestMaskReapsOrphans(t *testing.T) {
	child := buildTestChild(t)
	args := append([]string{"--log-level", "debug"}, maskArgs(t, maskSecrets, child, "orphan")...)
	args = slices.DeleteFunc(args, func(a string) bool { return a == "-q" })
	code, stdout, stderr := run(t, inNamespace(t, args...))
	if code != 0 || !strings.Contains(stdout, "reaped") || !strings.Contains(stderr, "reaped orphan") || !strings.Contains(stderr, "pid1=true") {
		t.Errorf("exit code %d; want 0, the orphan reaped by secretexec as PID 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestMaskStdoutClosed covers the two ends of a pipe closing early: the
// command closing its stdout goes on and ends cleanly, its stderr still
// masked; and when secretexec's stdout closes (| head -1), the command
// gets SIGPIPE on its next write, as it would without --mask, and
// secretexec exits with its status.
func TestMaskStdoutClosed(t *testing.T) {
	bin := buildSecretexec(t)
	t.Run("by the command", func(t *testing.T) {
		cmd := exec.Command(bin, maskArgs(t, maskSecrets, "sh", "-c", `exec >&-; echo "after $API_TOKEN" >&2`)...)
		code, stdout, stderr := run(t, cmd)
		if code != 0 || stdout != "" || stderr != "after [masked:API_TOKEN]\n" {
			t.Errorf("exit code %d, stdout %q, stderr %q; want 0, nothing and the masked line", code, stdout, stderr)
		}
	})
	t.Run("by the reader", func(t *testing.T) {
		cmd := exec.Command(bin, maskArgs(t, maskSecrets, "sh", "-c", `while echo "$API_TOKEN"; do :; done`)...)
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
		readUntil(t, stdout, "[masked:API_TOKEN]\n")
		stdout.(io.Closer).Close()
		cmd.Wait()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Exited() || ws.ExitStatus() != 128+int(syscall.SIGPIPE) {
			t.Errorf("secretexec ended with %v; want exit code 141 (the command's SIGPIPE)\nstderr:\n%s", cmd.ProcessState, stderr.String())
		}
	})
}

// TestMaskLeftBehind checks that a process the command left running with
// its stdout open does not keep secretexec from exiting once the command
// has, and that what the command wrote is all there.
func TestMaskLeftBehind(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), spawn.Wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, buildSecretexec(t), maskArgs(t, maskSecrets, "sh", "-c", `sleep 600 & echo "$!"; echo "$API_TOKEN"`)...)
	code, stdout, stderr := run(t, cmd)
	lines := strings.Split(stdout, "\n")
	if pid, err := strconv.Atoi(lines[0]); err == nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if ctx.Err() != nil {
		t.Fatalf("secretexec still ran %s after the command exited", spawn.Wait)
	}
	if code != 0 || len(lines) != 3 || lines[1] != "[masked:API_TOKEN]" {
		t.Errorf("exit code %d, stdout %q; want 0 and the pid and the masked line\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestMaskStuckReader checks that a reader of secretexec's stdout that
// stopped reading does not keep secretexec from exiting on SIGTERM once
// the command has exited and secretexec holds the rest of its output.
func TestMaskStuckReader(t *testing.T) {
	// 100,000 bytes: more than the pipe to the reader holds, less than it
	// and secretexec's buffer do, so the command exits.
	// The command says its PID on stderr as it ends: it may end before
	// its PID could be found otherwise.
	cmd := exec.Command(buildSecretexec(t), maskArgs(t, maskSecrets, "sh", "-c",
		`dd if=/dev/zero bs=100000 count=1 status=none; echo "pid $$" >&2`)...)
	stdout, err := cmd.StdoutPipe() // never read
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.(io.Closer).Close()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := spawn.Await(t, spawn.Lines(stderr), "pid ")
	child, err := strconv.Atoi(strings.TrimPrefix(lines[len(lines)-1], "pid "))
	if err != nil {
		t.Fatalf("the command said %q", lines[len(lines)-1])
	}
	for deadline := time.Now().Add(spawn.Wait); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat("/proc/" + strconv.Itoa(child)); errors.Is(err, os.ErrNotExist) {
			break // exited and reaped by secretexec
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command did not exit within %s", spawn.Wait)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("secretexec: %v; want exit code 0, the command's", err)
		}
	case <-time.After(spawn.Wait):
		t.Fatalf("secretexec still runs %s after SIGTERM", spawn.Wait)
	}
}

// TestMaskShortValue checks that a value shorter than --mask-min-length
// is not masked, and that one warning names its key, never its value.
func TestMaskShortValue(t *testing.T) {
	args := maskArgs(t, maskSecrets, "sh", "-c", `echo "$API_TOKEN $PASSWORD"`)
	args = append([]string{"--mask-min-length", "25"}, args...)
	args = slices.DeleteFunc(args, func(a string) bool { return a == "-q" })
	cmd := exec.Command(buildSecretexec(t), args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
	}
	if want := "[masked:API_TOKEN] " + maskSecrets["PASSWORD"] + "\n"; stdout.String() != want {
		t.Errorf("stdout %q; want %q", stdout.String(), want)
	}
	if strings.Contains(stderr.String(), canary) {
		t.Errorf("secretexec printed a value:\n%s", stderr.String())
	}
	warning := "secretexec: warning: not masked, shorter than 25 bytes: PASSWORD\n"
	if strings.Count(stderr.String(), "warning:") != 1 || !strings.Contains(stderr.String(), warning) {
		t.Errorf("stderr:\n%s\nwant one warning, %q", stderr.String(), warning)
	}
}

// onPTY runs cmd as the leader of a new session whose controlling
// terminal is a new pseudo-terminal of rows×cols, as a login shell is,
// and returns the terminal's master and its output line by line, carriage
// returns removed.
func onPTY(t *testing.T, cmd *exec.Cmd, rows, cols uint16) (master *os.File, out <-chan string) {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := pty.Setsize(master, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	slave.Close() // the command holds it; EIO on master once it exits
	r, w := io.Pipe()
	go func() {
		io.Copy(w, master)
		w.Close()
	}()
	lines := make(chan string, 64)
	go func() {
		for line := range spawn.Lines(r) {
			lines <- strings.ReplaceAll(line, "\r", "")
		}
		close(lines)
	}()
	return master, lines
}

// termMode returns the mode of the terminal whose master is f.
func termMode(t *testing.T, f *os.File) syscall.Termios {
	t.Helper()
	var tio syscall.Termios
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&tio))); errno != 0 {
		t.Fatalf("TCGETS: %v", errno)
	}
	return tio
}

// ttyScript reports whether the command has a terminal on each of its
// streams and its size, prints a value, then echoes the lines it reads
// until "end"; a SIGWINCH makes it print the size again (and interrupts
// a read).
const ttyScript = `trap 'echo "size $(stty size)"' WINCH
for fd in 0 1 2; do test -t $fd && echo "tty $fd"; done
echo "size $(stty size)"
echo "token $API_TOKEN"
while :; do
	read line && echo "got $line"
	test "$line" = end && exit 0
done`

// TestMaskTerminal runs a command under --mask on a terminal: it sees a
// terminal on stdin, stdout and stderr, of the real terminal's size,
// follows its size changes, reads what is typed, and its output is still
// masked. The real terminal is raw while the command runs, and gets its
// mode back when the command exits.
func TestMaskTerminal(t *testing.T) {
	cmd := exec.Command(buildSecretexec(t), maskArgs(t, maskSecrets, "sh", "-c", ttyScript)...)
	master, out := onPTY(t, cmd, 24, 80)
	before := termMode(t, master)
	for _, want := range []string{"tty 0", "tty 1", "tty 2", "size 24 80", "token [masked:API_TOKEN]"} {
		spawn.Expect(t, out, want)
	}
	if mode := termMode(t, master); mode.Lflag&(syscall.ICANON|syscall.ECHO|syscall.ISIG) != 0 {
		t.Errorf("terminal not raw while the command runs: lflag %#x", mode.Lflag)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: 40, Cols: 132}); err != nil {
		t.Fatal(err)
	}
	spawn.Await(t, out, "size 40 132")
	io.WriteString(master, "typed\r")
	spawn.Await(t, out, "got typed")
	io.WriteString(master, "end\r")
	if err := cmd.Wait(); err != nil {
		t.Errorf("secretexec: %v; want exit code 0", err)
	}
	if after := termMode(t, master); after != before {
		t.Errorf("terminal mode after the command exited:\n%+v\nwant it as before:\n%+v", after, before)
	}
}

// TestMaskTerminalKilled checks that the terminal gets its mode back when
// the command is killed, by itself or by a SIGTERM to secretexec, and that
// secretexec returns 128+n as under --init; and that Ctrl-C typed reaches
// the command through its terminal.
func TestMaskTerminalKilled(t *testing.T) {
	for _, tt := range []struct {
		name   string
		script string
		kill   bool   // send secretexec SIGTERM once the command is ready
		keys   string // or type these
		want   int
	}{
		{"KILL", `echo ready; kill -KILL $$`, false, "", 137},
		{"TERM to secretexec", `echo ready; read line`, true, "", 143},
		{"Ctrl-C", `trap 'exit 5' INT; echo ready; while :; do sleep 1; done`, false, "\x03", 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(buildSecretexec(t), maskArgs(t, maskSecrets, "sh", "-c", tt.script)...)
			master, out := onPTY(t, cmd, 24, 80)
			before := termMode(t, master)
			spawn.Expect(t, out, "ready")
			if tt.kill {
				cmd.Process.Signal(syscall.SIGTERM)
			}
			io.WriteString(master, tt.keys)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tt.want {
				t.Errorf("secretexec: %v; want exit code %d", err, tt.want)
			}
			if after := termMode(t, master); after != before {
				t.Errorf("terminal mode after the command was killed:\n%+v\nwant it as before:\n%+v", after, before)
			}
		})
	}
}

// benchMaskSecrets returns a secrets file of n tokens of 24 to 64
// characters, from a fixed seed, and a MiB of a backend's log in which one
// line in 2,000 holds one of them.
func benchMaskSecrets(b *testing.B, n int) (path string, block []byte) {
	r := rand.New(rand.NewPCG(7, 7))
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	secrets := make(map[string]string, n)
	values := make([]string, 0, n)
	for i := range n {
		v := make([]byte, 24+r.IntN(41))
		for j := range v {
			v[j] = alnum[r.IntN(len(alnum))]
		}
		secrets[fmt.Sprintf("SECRET_%03d", i)] = canary + string(v)
		values = append(values, canary+string(v))
	}
	js, err := json.Marshal(secrets)
	if err != nil {
		b.Fatal(err)
	}
	path = filepath.Join(b.TempDir(), "secrets.json")
	if err := os.WriteFile(path, js, 0o600); err != nil {
		b.Fatal(err)
	}
	var log bytes.Buffer
	for i := 0; log.Len() < 1<<20; i++ {
		fmt.Fprintf(&log, "2025-01-02T03:04:05.%03dZ INFO request method=GET path=/api/v1/orders/%d status=200 duration=%.1fms user=%x",
			i%1000, r.IntN(10000), r.Float64()*50, r.Uint32())
		if r.IntN(2000) == 0 {
			log.WriteString(" token=" + values[r.IntN(len(values))])
		}
		log.WriteByte('\n')
	}
	return path, log.Bytes()[:1<<20]
}

// BenchmarkMaskThroughput has a command write 1 GiB of log (cat reading
// a MiB file 1,024 times) through cat, the floor, and through secretexec
// --mask with 100 secrets registered, reads it and reports the rate, and
// under --mask secretexec's peak RSS (VmHWM, sampled every 20 ms).
func BenchmarkMaskThroughput(b *testing.B) {
	secrets, block := benchMaskSecrets(b, 100)
	data := filepath.Join(b.TempDir(), "log")
	if err := os.WriteFile(data, block, 0o600); err != nil {
		b.Fatal(err)
	}
	files := slices.Repeat([]string{data}, 1<<10)
	for _, bc := range []struct {
		name string
		argv []string
	}{
		{"cat", append([]string{"sh", "-c", `cat "$@" | cat`, "sh"}, files...)},
		{"mask", append([]string{buildSecretexec(b), "--mask", "-q", "--from", "file:" + secrets, "--", "cat"}, files...)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(1 << 30)
			var peak int
			for b.Loop() {
				cmd := exec.Command(bc.argv[0], bc.argv[1:]...)
				stdout, err := cmd.StdoutPipe()
				if err != nil {
					b.Fatal(err)
				}
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				stop, sampled := make(chan struct{}), make(chan int)
				go func() {
					hwm := 0
					for {
						hwm = max(hwm, vmHWM(cmd.Process.Pid))
						select {
						case <-stop:
							sampled <- hwm
							return
						case <-time.After(20 * time.Millisecond):
						}
					}
				}()
				// Less under --mask, where each value's label is shorter.
				n, err := io.Copy(io.Discard, stdout)
				if err != nil || n < 1<<30-1<<20 {
					b.Fatalf("read %d bytes: %v", n, err)
				}
				close(stop)
				peak = max(peak, <-sampled)
				if err := cmd.Wait(); err != nil {
					b.Fatal(err)
				}
			}
			if bc.name == "mask" {
				b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
			}
		})
	}
}

// vmHWM returns the peak RSS of process pid in KiB, or 0 once it is gone.
func vmHWM(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}

// BenchmarkMaskLatency sends one short log line at a time through cat,
// and through cat under secretexec --mask, and waits for it to come back:
// the difference is what --mask adds to a line, as the median and the
// 99th percentile.
func BenchmarkMaskLatency(b *testing.B) {
	secrets, _ := benchMaskSecrets(b, 100)
	line := []byte("2025-01-02T03:04:05.000Z INFO request method=GET path=/healthz status=200\n")
	for _, bc := range []struct {
		name string
		argv []string
	}{
		{"cat", []string{"cat"}},
		{"mask", []string{buildSecretexec(b), "--mask", "-q", "--from", "file:" + secrets, "--", "cat"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cmd := exec.Command(bc.argv[0], bc.argv[1:]...)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				b.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() {
				stdin.Close()
				cmd.Wait()
			}()
			buf := make([]byte, len(line))
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := stdin.Write(line); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(stdout, buf); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
}
