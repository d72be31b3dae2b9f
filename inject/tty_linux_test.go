package inject

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY opens a new pseudo-terminal and returns its two ends.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	if err := ioctl(master, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	var n uint32
	if err := ioctl(master, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// onTerminal runs cmd as the leader of a new session whose controlling
// terminal is slave, as a login shell is, and returns the terminal's
// output line by line, carriage returns removed.
func onTerminal(t *testing.T, cmd *exec.Cmd, master, slave *os.File) <-chan string {
	t.Helper()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	slave.Close() // the child holds it; EOF (EIO) on master once it exits
	ch := make(chan string, 16)
	go func() {
		s := bufio.NewScanner(master)
		for s.Scan() {
			ch <- strings.TrimRight(s.Text(), "\r")
		}
		close(ch)
	}()
	return ch
}

// expectContains reads lines from ch until one holds want.
func expectContains(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	var seen []string
	for {
		select {
		case line, ok := <-ch:
			if !ok {
				t.Fatalf("output ended; want a line with %q; got %q", want, seen)
			}
			if strings.Contains(line, want) {
				return
			}
			seen = append(seen, line)
		case <-timeout:
			t.Fatalf("no line with %q after 10s; got %q", want, seen)
		}
	}
}

// TestSuperviseTerminalForeground checks that the child, though in a group
// of its own, holds the terminal's foreground, so it can read the terminal
// and gets Ctrl-C from it as it would without secretexec.
func TestSuperviseTerminalForeground(t *testing.T) {
	master, slave := openPTY(t)
	out := onTerminal(t, supervisor(testChild, "tty"), master, slave)
	expectContains(t, out, "foreground")
}

// TestSuperviseTerminalRestored checks that the terminal's foreground goes
// back to secretexec's group when the child is done, so that what runs
// after it in the same group (here a script's next line) can use it.
func TestSuperviseTerminalRestored(t *testing.T) {
	master, slave := openPTY(t)
	script := `"$0" "$1" exit 0; "$1" tty`
	sh := exec.Command("/bin/sh", "-c", script, os.Args[0], testChild)
	sh.Env = supervisor().Env
	out := onTerminal(t, sh, master, slave)
	expectContains(t, out, "foreground")
}

// TestSuperviseTerminalRestoredAfterFailedStart checks the same when the
// child took the terminal but its execve failed (a script whose
// interpreter is missing): the terminal must not be left to a group that
// no longer exists.
func TestSuperviseTerminalRestoredAfterFailedStart(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.sh")
	if err := os.WriteFile(bad, []byte("#!/no/such/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	master, slave := openPTY(t)
	script := `"$0" "$2"; "$1" tty`
	sh := exec.Command("/bin/sh", "-c", script, os.Args[0], testChild, bad)
	sh.Env = supervisor().Env
	out := onTerminal(t, sh, master, slave)
	expectContains(t, out, "foreground")
}

// TestSuperviseTerminalKeys types Ctrl-C and Ctrl-Z. Ctrl-Z stops the
// child; secretexec's group here has no parent in the session to continue
// it (it is orphaned, as in a container started with a terminal), so the
// stop does not take and the child must be continued, not left frozen: the
// second Ctrl-C proves it runs and still holds the foreground.
func TestSuperviseTerminalKeys(t *testing.T) {
	master, slave := openPTY(t)
	cmd := supervisor(testChild, "signals", "7")
	out := onTerminal(t, cmd, master, slave)
	expectContains(t, out, "ready")
	for _, key := range []struct{ key, want string }{
		{"\x03", "INT"},
		{"\x1a", ""},
		{"\x03", "INT"},
	} {
		if _, err := io.WriteString(master, key.key); err != nil {
			t.Fatal(err)
		}
		if key.want != "" {
			expectContains(t, out, key.want)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expectContains(t, out, "TERM")
	for range out {
	}
	cmd.Wait()
	if got := cmd.ProcessState.ExitCode(); got != 7 {
		t.Errorf("exit code %d; want 7", got)
	}
}

// TestSuperviseTerminalStop types Ctrl-Z under a job-control shell: the
// child stops, and secretexec must stop too so that the shell sees its job
// stop; when the shell continues it in the foreground (fg), the child must
// run again and hold the terminal.
func TestSuperviseTerminalStop(t *testing.T) {
	master, slave := openPTY(t)
	shell := exec.Command(testChild, "jobshell", os.Args[0], "/bin/cat")
	shell.Env = supervisor().Env
	out := onTerminal(t, shell, master, slave)
	// Each line typed comes back twice, echoed by the terminal and then
	// written by cat: the second proves that cat runs and reads.
	for _, step := range []struct {
		keys string
		want []string
	}{
		{"hello\n", []string{"hello", "hello"}},
		{"\x1a", []string{"jobshell: stopped"}},
		{"again\n", []string{"again", "again"}},
		{"\x04", []string{"jobshell: exit 0"}},
	} {
		if _, err := io.WriteString(master, step.keys); err != nil {
			t.Fatal(err)
		}
		for _, want := range step.want {
			expectContains(t, out, want)
		}
	}
}
