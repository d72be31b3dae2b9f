//go:build linux && !(mips || mipsle || mips64 || mips64le)

// Command testchild is the command the tests run under secretexec. It is
// built with CGO_ENABLED=0, so it is static and also runs in an empty root.
//
//	testchild exit N            exit with code N
//	testchild kill SIGNAL       kill itself with SIGNAL (KILL, TERM, …)
//	testchild pids              print "pid=N ppid=N pgid=N"
//	testchild env KEY...        exit 0 if each KEY holds the value of
//	                            WANT_KEY, else 1, naming the keys only
//	                            (values stay off the command line, which
//	                            secretexec logs)
//	testchild unset KEY...      exit 0 if no KEY is set, else 1
//	testchild tty               print "foreground" when its process group
//	                            is the terminal's foreground, else
//	                            "background" (or "no terminal")
//	testchild signals CODE      print "ready", then the name of each signal
//	                            it receives; exit CODE after SIGTERM
//	testchild orphan            leave an orphan that exits at once, then
//	                            wait until its parent reaps it (exit 0) or
//	                            it stays a zombie for 10s (exit 1)
//	testchild spawn             start "testchild exit 0", print its pid and
//	                            exit without waiting for it
//	testchild jobshell CMD...   run CMD in the terminal's foreground as a
//	                            job-control shell does; when it stops,
//	                            print "jobshell: stopped" and continue it
//	                            in the foreground (fg); print
//	                            "jobshell: exit N" at the end
//	testchild sigconf IGN BLK CMD...
//	                            ignore the signals in the comma list IGN
//	                            and block those in BLK ("-" for none),
//	                            as tini's signal-configuration test does,
//	                            then exec CMD
//	testchild rotate DIR CODE IGNORE
//	                            write its environment, one variable a
//	                            line, to DIR/PID, then print "start PID";
//	                            on SIGTERM print "term PID" and exit CODE,
//	                            but for the first IGNORE of them (-1: all);
//	                            on SIGUSR1 print "usr1 PID" and exit CODE
//	testchild lastword SIG CODE EVERY
//	                            start a helper that sends SIG to this
//	                            process's parent, the supervisor, every
//	                            EVERY (a duration) until the supervisor is
//	                            gone; exit CODE once it has sent a few
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// names are the signals the tests send, by the names they print.
var names = map[syscall.Signal]string{
	syscall.SIGHUP:   "HUP",
	syscall.SIGINT:   "INT",
	syscall.SIGQUIT:  "QUIT",
	syscall.SIGKILL:  "KILL",
	syscall.SIGUSR1:  "USR1",
	syscall.SIGUSR2:  "USR2",
	syscall.SIGTERM:  "TERM",
	syscall.SIGCHLD:  "CHLD",
	syscall.SIGURG:   "URG",
	syscall.SIGWINCH: "WINCH",
	syscall.SIGCONT:  "CONT", // not reported by signals
	// The faults, when another process sends them with kill.
	syscall.SIGABRT:   "ABRT",
	syscall.SIGILL:    "ILL",
	syscall.SIGTRAP:   "TRAP",
	syscall.SIGBUS:    "BUS",
	syscall.SIGFPE:    "FPE",
	syscall.SIGSEGV:   "SEGV",
	syscall.SIGSTKFLT: "STKFLT",
	syscall.SIGSYS:    "SYS",
	// Set only by sigconf.
	syscall.SIGPIPE: "PIPE",
	syscall.SIGALRM: "ALRM",
	syscall.SIGTSTP: "TSTP",
	syscall.SIGTTIN: "TTIN",
	syscall.SIGTTOU: "TTOU",
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: testchild MODE [ARG...]")
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "exit":
		os.Exit(atoi(arg(args, 0)))
	case "kill":
		sig := signalNamed(arg(args, 0))
		syscall.Kill(os.Getpid(), sig)
		time.Sleep(10 * time.Second)
		fail("still alive after SIG" + arg(args, 0))
	case "pids":
		fmt.Printf("pid=%d ppid=%d pgid=%d\n", os.Getpid(), os.Getppid(), syscall.Getpgrp())
	case "env":
		bad := false
		for _, k := range args {
			want, ok := os.LookupEnv("WANT_" + k)
			if !ok {
				fail("WANT_" + k + " is not set")
			}
			if got, ok := os.LookupEnv(k); !ok || got != want {
				fmt.Fprintf(os.Stderr, "testchild: %s does not hold the expected value\n", k)
				bad = true
			}
		}
		if bad {
			os.Exit(1)
		}
	case "unset":
		bad := false
		for _, k := range args {
			if _, ok := os.LookupEnv(k); ok {
				fmt.Fprintf(os.Stderr, "testchild: %s is set\n", k)
				bad = true
			}
		}
		if bad {
			os.Exit(1)
		}
	case "tty":
		var pgrp int32
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, 0, syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp)))
		switch {
		case errno != 0:
			fmt.Println("no terminal")
		case int(pgrp) == syscall.Getpgrp():
			fmt.Println("foreground")
		default:
			fmt.Println("background")
		}
	case "signals":
		signals(atoi(arg(args, 0)))
	case "orphan":
		orphan()
	case "jobshell":
		jobshell(args)
	case "sigconf":
		sigconf(arg(args, 0), arg(args, 1), args[2:])
	case "rotate":
		rotate(arg(args, 0), atoi(arg(args, 1)), atoi(arg(args, 2)))
	case "lastword":
		lastword(arg(args, 0), arg(args, 1), arg(args, 2))
	case "avenge":
		avenge(arg(args, 0), arg(args, 1), arg(args, 2))
	case "spawn":
		cmd := exec.Command(os.Args[0], "exit", "0")
		if err := cmd.Start(); err != nil {
			fail(err.Error())
		}
		fmt.Println(cmd.Process.Pid)
	default:
		fail("unknown mode " + os.Args[1])
	}
}

// signals reports every signal it receives, one name a line. The Go
// runtime's own preemption signal (SIGURG) is turned off through GODEBUG by
// the tests, so a SIGURG seen here came from outside.
func signals(code int) {
	ch := make(chan os.Signal, 16)
	var all []os.Signal
	for s := range names {
		switch s {
		// SIGCONT is not reported: it follows each SIGTERM the supervisor
		// forwards, and may overtake it.
		case syscall.SIGKILL, syscall.SIGCONT, syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:
		default:
			all = append(all, s)
		}
	}
	signal.Notify(ch, all...)
	fmt.Println("ready")
	for s := range ch {
		name := names[s.(syscall.Signal)]
		fmt.Println(name)
		if name == "TERM" {
			os.Exit(code)
		}
	}
}

// orphan starts "testchild spawn", which starts a grandchild and exits at
// once, so the grandchild is reparented to the nearest subreaper or PID 1.
// The grandchild exits straight away; orphan then watches /proc until the
// zombie is gone.
func orphan() {
	out, err := exec.Command(os.Args[0], "spawn").Output()
	if err != nil {
		fail("spawn: " + err.Error())
	}
	pid := strings.TrimSpace(string(out))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		state, err := procState(pid)
		if os.IsNotExist(err) {
			fmt.Printf("orphan %s reaped\n", pid)
			return
		}
		if err != nil {
			fail(err.Error())
		}
		_ = state // running at first, then Z until someone reaps it
		time.Sleep(10 * time.Millisecond)
	}
	state, _ := procState(pid)
	fmt.Printf("orphan %s left in state %s\n", pid, state)
	os.Exit(1)
}

// jobshell does what an interactive shell does with a foreground job,
// so that a test can watch a command stop and continue from a terminal.
func jobshell(argv []string) {
	if len(argv) == 0 {
		fail("jobshell: no command")
	}
	attr := &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Foreground: true, Ctty: 0},
	}
	pid, err := syscall.ForkExec(argv[0], argv, attr)
	if err != nil {
		fail("jobshell: " + err.Error())
	}
	// A shell takes the terminal back from the background; it ignores
	// SIGTTOU to do so (after the start, so the job does not inherit it).
	signal.Ignore(syscall.SIGTTOU)
	for {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil); err != nil {
			fail("jobshell: " + err.Error())
		}
		if ws.Stopped() {
			setForeground(syscall.Getpgrp())
			fmt.Println("jobshell: stopped")
			setForeground(pid)
			syscall.Kill(-pid, syscall.SIGCONT)
			continue
		}
		code := ws.ExitStatus()
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		fmt.Printf("jobshell: exit %d\n", code)
		return
	}
}

func setForeground(pgrp int) {
	p := int32(pgrp)
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, 0, syscall.TIOCSPGRP, uintptr(unsafe.Pointer(&p))); errno != 0 {
		fail("jobshell: tcsetpgrp: " + errno.Error())
	}
}

// procState returns the state letter of /proc/PID/stat (R, S, Z, …).
func procState(pid string) (string, error) {
	f, err := os.Open("/proc/" + pid + "/stat")
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	// The command name in parentheses may hold spaces; the state follows
	// the last ')'.
	i := strings.LastIndexByte(line, ')')
	fields := strings.Fields(line[i+1:])
	if len(fields) == 0 {
		return "", fmt.Errorf("short /proc/%s/stat", pid)
	}
	return fields[0], nil
}

func signalNamed(name string) syscall.Signal {
	for s, n := range names {
		if n == name {
			return s
		}
	}
	fail("unknown signal " + name)
	return 0
}

func arg(args []string, i int) string {
	if i >= len(args) {
		fail("missing argument")
	}
	return args[i]
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail(err.Error())
	}
	return n
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "testchild: "+msg)
	os.Exit(2)
}

// sigconf ignores and blocks signals, then execs argv with them so. It
// sets them with the system calls themselves: os/signal cannot block, and
// its Ignore is not what an exec'd program inherits from a shell's trap.
// The mask is the calling thread's, which execve keeps, so the thread is
// locked from the blocking to the exec.
func sigconf(ign, blk string, argv []string) {
	if len(argv) == 0 {
		fail("sigconf: no command")
	}
	for _, sig := range signalList(ign) {
		// struct sigaction on amd64 and arm64: handler, flags, restorer,
		// mask; SIG_IGN is 1.
		act := [4]uint64{1}
		if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); errno != 0 {
			fail("sigconf: rt_sigaction: " + errno.Error())
		}
	}
	runtime.LockOSThread()
	var set uint64
	for _, sig := range signalList(blk) {
		set |= 1 << (sig - 1)
	}
	const sigBlock = 0
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigBlock, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0); errno != 0 {
		fail("sigconf: rt_sigprocmask: " + errno.Error())
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fail("sigconf: " + err.Error())
	}
	fail("sigconf: " + syscall.Exec(path, argv, os.Environ()).Error())
}

// signalList parses a comma list of signal names; "-" is none.
func signalList(list string) []syscall.Signal {
	if list == "-" {
		return nil
	}
	var sigs []syscall.Signal
	for _, name := range strings.Split(list, ",") {
		sigs = append(sigs, signalNamed(name))
	}
	return sigs
}

// lastword starts "testchild avenge", which signals the supervisor over
// and over, and exits with code once a few signals went. The helper goes
// on until the supervisor is gone, so that signals land all through the
// time the supervisor collects the status and exits. Both ignore what the
// supervisor forwards to their group, so that only the supervisor's own
// exit status is at stake.
func lastword(sig, code, every string) {
	ignoreAll()
	cmd := exec.Command(os.Args[0], "avenge", sig, strconv.Itoa(os.Getppid()), every)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fail("lastword: " + err.Error())
	}
	if err := cmd.Start(); err != nil {
		fail("lastword: " + err.Error())
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "sending\n" {
		fail(fmt.Sprintf("lastword: helper said %q, %v", line, err))
	}
	os.Exit(atoi(code))
}

// avenge is lastword's helper: it sends sig to the supervisor every
// interval while its parent is lastword, and then the supervisor (a
// subreaper or PID 1, which adopts it), and says "sending" after the
// third. Once the supervisor has exited too, its parent is another
// process, and it stops.
func avenge(sig, supervisor, every string) {
	ignoreAll()
	send := signalNamed(sig)
	target := atoi(supervisor)
	interval, err := time.ParseDuration(every)
	if err != nil {
		fail(err.Error())
	}
	parent := os.Getppid()
	for n := 1; ; n++ {
		if p := os.Getppid(); p != parent && p != target {
			return
		}
		syscall.Kill(target, send)
		if n == 3 {
			fmt.Println("sending")
		}
		time.Sleep(interval)
	}
}

// ignoreAll ignores the signals the tests send, but those that stop.
func ignoreAll() {
	for s := range names {
		switch s {
		case syscall.SIGKILL, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:
		default:
			signal.Ignore(s)
		}
	}
}

// rotate is the command of the --watch tests: it tells which environment
// it got, and when it is told to stop.
func rotate(dir string, code, ignore int) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGUSR1)
	var b strings.Builder
	for _, kv := range os.Environ() {
		b.WriteString(kv)
		b.WriteByte('\n')
	}
	pid := strconv.Itoa(os.Getpid())
	tmp := filepath.Join(dir, "."+pid)
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		fail(err.Error())
	}
	if err := os.Rename(tmp, filepath.Join(dir, pid)); err != nil {
		fail(err.Error())
	}
	fmt.Println("start", pid)
	for s := range ch {
		if s == syscall.SIGUSR1 {
			fmt.Println("usr1", pid)
			os.Exit(code)
		}
		fmt.Println("term", pid)
		if ignore == 0 {
			os.Exit(code)
		}
		if ignore > 0 {
			ignore--
		}
	}
}
