package inject

import (
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"unsafe"
)

// forwarded are the signals Supervise passes on to the child. They are
// named one by one: an unfiltered signal.Notify would also pass on SIGURG,
// which the Go runtime sends itself for preemption, and SIGCHLD, which is
// about secretexec's children and means nothing to the child.
var forwarded = []os.Signal{
	syscall.SIGTERM,
	syscall.SIGINT,
	syscall.SIGHUP,
	syscall.SIGQUIT,
	syscall.SIGUSR1,
	syscall.SIGUSR2,
	syscall.SIGWINCH,
}

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER from <linux/prctl.h>.
const prSetChildSubreaper = 36

// Supervise runs the program at path as a child and stays its parent until
// it exits, the way an init process does in a container. argv is the
// child's whole argument list, argv[0] included; env is its environment.
//
// The child starts in a process group of its own, and signals sent to
// secretexec are passed on to that group. When secretexec is PID 1 it reaps
// every orphan the kernel hands it; elsewhere it registers as a child
// subreaper, so the child's orphans are handed to it and reaped too.
//
// Supervise returns the child's exit code, or 128+n when signal n killed
// it. The error is not nil only when the child could not start; it is then
// a *CommandError, as from Exec.
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
	// Listen before the child exists, so that nothing sent between the
	// fork and the loop below is lost. A signal ignored when secretexec
	// started (nohup) is left alone: it stays ignored for the child, as it
	// would without --init, and is not passed on.
	var listen []os.Signal
	for _, sig := range forwarded {
		if !signal.Ignored(sig) {
			listen = append(listen, sig)
		}
	}
	sigs := make(chan os.Signal, 32)
	if len(listen) > 0 {
		signal.Notify(sigs, listen...)
	}
	defer signal.Stop(sigs)
	if ready != nil {
		if err := ready(); err != nil {
			return 0, err
		}
	}
	// One buffered slot is enough: each wake-up reaps until nothing is
	// left, so a SIGCHLD dropped while one is pending loses no child.
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	defer signal.Stop(chld)

	pid1 := os.Getpid() == 1
	if !pid1 {
		if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
			log.Warn("cannot become a child subreaper; orphans of the command will not be reaped here", "err", errno)
		}
	}

	// A child in a group of its own is in the background of the terminal,
	// if there is one: reading from it would stop the child with SIGTTIN,
	// and Ctrl-C would reach secretexec only. So when secretexec holds
	// the terminal's foreground, it hands it on to the child's group (the
	// kernel's job control then sends Ctrl-C and Ctrl-Z to the child
	// directly, as it would without secretexec) and takes it back when the
	// child is gone. Stops are followed (see stopped) whenever stdin is
	// the session's terminal, even from the background.
	fg := foregroundPgrp(0)
	tty := fg > 0
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Foreground: fg == syscall.Getpgrp(), Ctty: 0},
	}
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		// With Foreground, the child took the terminal before its execve
		// failed: take it back, or the shell is left with a foreground
		// group that no longer exists.
		if attr.Sys.Foreground && foregroundPgrp(0) != syscall.Getpgrp() {
			setForeground(0, syscall.Getpgrp())
		}
		return 0, startError(argv[0], err)
	}
	// The fetch's memory is garbage now; give it back to the system, since
	// the supervisor lives as long as the command.
	debug.FreeOSMemory()
	log.Debug("supervising", "pid", pid, "pid1", pid1, "terminal", tty, "foreground", attr.Sys.Foreground)

	for {
		select {
		case s := <-sigs:
			forward(pid, s.(syscall.Signal), log)
		case <-chld:
			if code, done := reap(pid, tty, log); done {
				if tty && foregroundPgrp(0) == pid {
					setForeground(0, syscall.Getpgrp())
				}
				return code, nil
			}
		}
	}
}

// forward sends sig to the child's process group rather than to the child
// alone. That is what a terminal does with Ctrl-C, so programs are written
// for it, and it reaches the processes a wrapper leaves in the group: with
// "sh -c 'migrate && node server.js'" or "npm start", the shell or npm is
// the child and often does not pass SIGTERM on, while node, in the same
// group, now gets it too. A child that moved to a group of its own (setsid)
// still gets the signal itself.
func forward(pid int, sig syscall.Signal, log *slog.Logger) {
	log.Debug("forwarding signal", "signal", sig.String(), "pgid", pid)
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
