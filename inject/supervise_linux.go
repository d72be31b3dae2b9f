package inject

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"unsafe"

	"github.com/secretexec/secretexec/inject/mask"
)

// forwarded are the signals Supervise passes on to the child's group. They
// are named one by one: an unfiltered signal.Notify would also pass on
// SIGURG, which the Go runtime sends itself for preemption, and SIGCHLD,
// which is about secretexec's children and means nothing to the child.
var forwarded = []os.Signal{
	syscall.SIGTERM,
	syscall.SIGINT,
	syscall.SIGHUP,
	syscall.SIGQUIT,
	syscall.SIGUSR1,
	syscall.SIGUSR2,
	syscall.SIGWINCH,
	syscall.SIGCONT,
}

// faults are the signals the kernel sends a program for a fault of its
// own. The Go runtime crashes on them, with a stack dump and exit 2,
// unless the program listens to them: then it still crashes on a fault of
// its own, but hands over those another process sent with kill or tgkill
// (si_code SI_USER or SI_TKILL; SIGABRT whatever the code). Supervise
// listens to them and passes them on, as dumb-init does, so that "kill
// -SEGV 1" in a container reaches the command instead of killing the
// container. One sent with sigqueue (SI_QUEUE) still crashes it: the
// runtime takes it for a fault.
var faults = append([]os.Signal{
	syscall.SIGABRT,
	syscall.SIGILL,
	syscall.SIGTRAP,
	syscall.SIGBUS,
	syscall.SIGFPE,
	syscall.SIGSEGV,
	syscall.SIGSYS,
}, stackFault...)

// credentials are the variables Supervise wipes from the process's initial
// environment block before the child starts: the store credential, which
// the command never gets (see DESIGN, environment assembly), must not be
// readable in the supervisor's /proc/PID/environ either.
var credentials = []string{"FUSEBASE_API_KEY"}

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER from <linux/prctl.h>.
const prSetChildSubreaper = 36

// Supervise runs the program at path as a child and stays its parent until
// it exits, the way an init process does in a container. argv is the
// child's whole argument list, argv[0] included; env is its environment.
//
// The child starts in a process group of its own, and the signals in
// forwarded and faults sent to secretexec are passed on to that group
// (SIGTERM followed by SIGCONT, so that a stopped group acts on it). When
// secretexec is PID 1 it reaps every orphan the kernel hands it; elsewhere
// it registers as a child subreaper, so the child's orphans are handed to
// it and reaped too.
//
// Before the child starts, Supervise wipes the store credential from the
// process's environment block and makes the process non-dumpable, so the
// child cannot read the credential in /proc/PPID/environ or
// /proc/PPID/mem. Strings read from that variable before (os.Getenv,
// os.Environ, a parsed configuration) read as NUL bytes afterwards; a
// caller that needs the credential later must strings.Clone it first (see
// ScrubEnv).
//
// Supervise returns the child's exit code, or 128+n when signal n killed
// it. The error is not nil only when no child ran: a *CommandError, as
// from Exec, when it could not start; the error of ready; or an error
// when the credential could not be wiped or the process made
// non-dumpable.
//
// Supervise never stops listening to the signals it forwards, not even
// when it returns: a signal that arrives after the child's exit is dropped
// and cannot kill the process or change its status. So the caller must
// exit with the code right after Supervise returns, and nothing in between
// may call signal.Stop, signal.Reset or restore a signal's disposition.
//
// Supervise waits for any child of the process, so nothing else in the
// process may start or wait for children while it runs.
func Supervise(path string, argv, env []string, log *slog.Logger) (code int, err error) {
	return SuperviseAfter(path, argv, env, log, nil)
}

// SuperviseAfter is Supervise with a hook: ready, if not nil, runs once
// Supervise listens to the signals it forwards and before the child
// starts. A caller that listened to some of them itself stops there, with
// nothing lost in between; if ready returns an error, no child is started
// and that error is returned.
func SuperviseAfter(path string, argv, env []string, log *slog.Logger, ready func() error) (code int, err error) {
	return SuperviseWatch(path, argv, env, log, ready, nil, Watch{})
}

// SuperviseMasked is SuperviseAfter with the command's output masked by m,
// when m is not nil: its stdout and stderr go through secretexec, each
// value replaced by its label (see package mask), on a pseudo-terminal
// when secretexec's stdout is a terminal, else through two pipes (see
// output). Signals, reaping and the returned code are as without m; once
// the command has exited, SuperviseMasked returns when its output has
// been written (see drainIdle) and the terminal restored.
func SuperviseMasked(path string, argv, env []string, log *slog.Logger, ready func() error, m *mask.Masker) (code int, err error) {
	return SuperviseWatch(path, argv, env, log, ready, m, Watch{})
}

// SuperviseWatch is SuperviseMasked that also acts on the changes w
// delivers: it stops the command's process group and starts the command
// again with the new environment (and the new masker, under --mask), or
// with w.Exit returns ErrChanged once the group is stopped, with the code
// of the command it stopped. See supervision for how a restart goes.
func SuperviseWatch(path string, argv, env []string, log *slog.Logger, ready func() error, m *mask.Masker, w Watch) (code int, err error) {
	sigs, chld := listen()
	if ready != nil {
		if err := ready(); err != nil {
			return 0, err
		}
	}
	if err := hideCredentials(); err != nil {
		return 0, err
	}
	pid1 := adoptOrphans(log)
	s := &supervision{argv: argv, log: log, w: w}
	if err := s.start(path, env, m); err != nil {
		return 0, err
	}
	log.Debug("supervising", "pid", s.pid, "pid1", pid1, "terminal", s.tty)
	return s.loop(sigs, chld)
}

// listen starts listening to the signals Supervise forwards, and to
// SIGCHLD, before the child exists, so that nothing sent between the fork
// and the loop is lost. It never stops listening (see Supervise).
//
// A signal ignored when secretexec started (nohup) is left alone: it stays
// ignored for the child and is not passed on. signal.Ignored can tell
// only for SIGHUP, SIGINT and SIGCONT: the Go runtime keeps those ignores
// (and those of SIGTSTP, SIGTTIN and SIGTTOU, which are never listened to
// here), but puts its own handler over every other before any code of
// secretexec runs, and does not keep a record that a program could read.
func listen() (sigs, chld chan os.Signal) {
	var want []os.Signal
	for _, set := range [][]os.Signal{forwarded, faults} {
		for _, sig := range set {
			if !signal.Ignored(sig) {
				want = append(want, sig)
			}
		}
	}
	sigs = make(chan os.Signal, 32)
	signal.Notify(sigs, want...)
	// One buffered slot is enough: each wake-up reaps until nothing is
	// left, so a SIGCHLD dropped while one is pending loses no child.
	chld = make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	return sigs, chld
}

// adoptOrphans makes sure the orphans of the child's tree are handed to
// this process, to be reaped: PID 1 gets them anyway; elsewhere it
// registers as a child subreaper. It reports whether this is PID 1.
func adoptOrphans(log *slog.Logger) (pid1 bool) {
	if os.Getpid() == 1 {
		return true
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		log.Warn("cannot become a child subreaper; orphans of the command will not be reaped here", "err", errno)
	}
	return false
}

// hideCredentials wipes the credentials from the environment block, then
// makes the process non-dumpable (in that order: ScrubEnv writes through
// /proc/self/mem, which a non-dumpable process of another user than root
// may not open). Both must hold. Non-dumpable keeps processes of the same
// user out of the supervisor's memory and environ; the wipe is the wall
// for environ against a child with CAP_SYS_PTRACE and, on some kernels
// (Linux 6.18 was seen doing it), against root without it.
//
// When none of the credentials is set there is nothing to wipe, and
// when no /proc is mounted (a bare chroot) there is no environ to read
// them from; a failure to wipe them otherwise starts no command.
func hideCredentials() error {
	for _, name := range credentials {
		if _, set := os.LookupEnv(name); set {
			err := ScrubEnv(credentials...)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%w; the command could read %s there, so it is not started", err, name)
			}
			break
		}
	}
	return nonDumpable()
}

// startChild starts the child with its output set up: secretexec's own
// stdout and stderr when m is nil (and out is nil), else through m (see
// output).
func startChild(path string, argv, env []string, m *mask.Masker, log *slog.Logger) (pid int, tty bool, out *output, err error) {
	if m != nil {
		if out, err = newOutput(m, log); err != nil {
			return 0, false, nil, err
		}
	}
	if pid, tty, err = start(path, argv, env, out); err != nil {
		out.abort()
		return 0, false, nil, err
	}
	out.started()
	return pid, tty, out, nil
}

// start forks and execs the child in a process group of its own and
// returns its pid, and whether stdin is the session's terminal. Its
// stdin, stdout and stderr are secretexec's, or those out holds; on
// out's pseudo-terminal it starts a session of its own instead, and that
// terminal is its controlling terminal.
//
// A child in a group of its own is in the background of the terminal, if
// there is one: reading from it would stop the child with SIGTTIN, and
// Ctrl-C would reach secretexec only. So when secretexec holds the
// terminal's foreground, it hands it on to the child's group (the kernel's
// job control then sends Ctrl-C and Ctrl-Z to the child directly, as it
// would without secretexec) and takes it back when the child is gone.
// Stops are followed (see stopped) whenever stdin is the session's
// terminal, even from the background.
//
// The child inherits the signal mask of the thread that forks it, which
// the Go runtime keeps as it was at start for every signal it does not
// need itself, and the dispositions the runtime left ignored.
func start(path string, argv, env []string, out *output) (pid int, tty bool, err error) {
	fg := foregroundPgrp(0)
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Foreground: fg == syscall.Getpgrp(), Ctty: 0},
	}
	if out != nil {
		attr.Files = out.files
		if out.pty != nil {
			fg = -1 // the real terminal stays secretexec's
			attr.Sys = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 1}
		}
	}
	pid, err = syscall.ForkExec(path, argv, attr)
	if err != nil {
		// With Foreground, the child took the terminal before its execve
		// failed: take it back, or the shell is left with a foreground
		// group that no longer exists.
		if attr.Sys.Foreground && foregroundPgrp(0) != syscall.Getpgrp() {
			setForeground(0, syscall.Getpgrp())
		}
		return 0, false, startError(argv[0], err)
	}
	return pid, fg > 0, nil
}

// forward sends sig to the child's process group rather than to the child
// alone. That is what a terminal does with Ctrl-C, so programs are written
// for it, and it reaches the processes a wrapper leaves in the group: with
// "sh -c 'migrate && node server.js'" or "npm start", the shell or npm is
// the child and often does not pass SIGTERM on, while node, in the same
// group, now gets it too. A child that moved to a group of its own (setsid)
// still gets the signal itself.
//
// A stopped process acts on SIGTERM only once continued, and with no
// terminal nobody else may ever continue it, so SIGTERM is followed by
// SIGCONT, as systemd does when it stops a service; to a running process
// SIGCONT does nothing.
func forward(pid int, sig syscall.Signal, log *slog.Logger) {
	log.Debug("forwarding signal", "signal", sig.String(), "pgid", pid)
	signalGroup(pid, sig)
	if sig == syscall.SIGTERM {
		signalGroup(pid, syscall.SIGCONT)
	}
}

// signalGroup sends sig to the child's process group, and to the child
// itself if it left the group.
func signalGroup(pid int, sig syscall.Signal) {
	syscall.Kill(-pid, sig)
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid != pid {
		syscall.Kill(pid, sig)
	}
}

// reap waits for every child that has exited, the supervised one and any
// orphans, and returns the supervised child's code once it has exited. It
// goes on reaping after that, so no zombie that is already there is left
// behind when secretexec exits.
func reap(pid int, tty bool, log *slog.Logger) (code int, done bool) {
	flags := syscall.WNOHANG
	if tty {
		flags |= syscall.WUNTRACED
	}
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, flags, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || wpid <= 0 {
			// ECHILD: no children left; 0: none of them has exited.
			return code, done
		}
		if wpid != pid {
			if !ws.Stopped() {
				log.Debug("reaped orphan", "pid", wpid)
			}
			continue
		}
		switch {
		case ws.Exited():
			code, done = ws.ExitStatus(), true
			log.Debug("command exited", "pid", pid, "code", code)
		case ws.Signaled():
			code, done = 128+int(ws.Signal()), true
			log.Debug("command killed", "pid", pid, "signal", ws.Signal().String())
		case ws.Stopped():
			stopped(pid)
		}
	}
}

// stopped follows the child when job control stopped it (Ctrl-Z, or
// SIGTTIN when it read the terminal from the background). The shell only
// sees secretexec, so secretexec takes the terminal back and stops too;
// once continued (fg or bg) it gives the terminal back if it is in the
// foreground again, and continues the child.
//
// secretexec stops by a SIGTSTP to the calling thread, which is acted on
// before the call returns, so the code after it runs once secretexec has
// been continued, or at once when the kernel discards the stop: for an
// orphaned process group (nobody could continue it), for PID 1, or when
// SIGTSTP was ignored from the start. Only secretexec stops, not the rest
// of its process group, as with dumb-init: a wrapper that started it (npm)
// stops at a second Ctrl-Z. SIGTSTP must never be passed to signal.Notify
// in this process, or the Go runtime would catch it and never stop.
func stopped(pid int) {
	if foregroundPgrp(0) == pid {
		setForeground(0, syscall.Getpgrp())
	}
	runtime.LockOSThread()
	syscall.Tgkill(syscall.Getpid(), syscall.Gettid(), syscall.SIGTSTP)
	runtime.UnlockOSThread()
	if foregroundPgrp(0) == syscall.Getpgrp() {
		setForeground(0, pid)
	}
	syscall.Kill(-pid, syscall.SIGCONT)
}

// foregroundPgrp returns the foreground process group of the terminal on
// fd, or -1 when fd is not a terminal (or not this session's).
func foregroundPgrp(fd int) int {
	var pgrp int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp)))
	if errno != 0 {
		return -1
	}
	return int(pgrp)
}

// setForeground makes pgrp the foreground process group of the terminal on
// fd. A background process that does this is stopped by SIGTTOU unless it
// ignores it, so SIGTTOU is ignored, and stays ignored: os/signal cannot
// give it back its default action (signal.Reset leaves this one ignored).
// That is harmless here, since it is only called once the child has
// started and no other child is started after it, so none inherits the
// ignore; it only means secretexec's own writes to the terminal from the
// background no longer stop it under "stty tostop".
func setForeground(fd, pgrp int) {
	signal.Ignore(syscall.SIGTTOU)
	p := int32(pgrp)
	syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCSPGRP, uintptr(unsafe.Pointer(&p)))
}
