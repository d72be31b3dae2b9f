package inject

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"syscall"
	"time"
	"unsafe"

	"github.com/secretexec/secretexec/inject/mask"
)

// A supervision runs the command as a child, one process group at a time,
// and restarts it when Watch delivers a change. Its loop is the one
// place that decides between forwarding, reaping, stopping and
// starting, and it alone touches its fields.
//
// A restart goes: StopSignal (and SIGCONT, so that a stopped group acts
// on it) to the command's group; a timer of StopTimeout; then SIGKILL
// to the group if anything of it is left. Once the command has exited
// and been reaped, and nothing of its group is left (its orphans are
// reparented to secretexec, a subreaper or PID 1, and reaped too), the
// command starts again with the latest change: changes that arrive
// during a restart are applied once, after it.
//
// The command's own exit, outside a restart, ends the supervision with
// its status: a crash is the orchestrator's to act on, never restarted
// here. An interrupt during a restart (SIGTERM, SIGINT, SIGHUP or
// SIGQUIT) is forwarded to whatever runs and ends the supervision with
// that command's status once it exits: nothing new starts after it. So
// do SIGTERM and SIGINT at any time, since the command may take a while
// to shut down, and a change in that while must not start it again.
type supervision struct {
	argv []string
	log  *slog.Logger
	w    Watch

	pid    int          // the command, also its process group
	tty    bool         // stdin is the session's terminal
	out    *output      // the command's output under --mask, else nil
	mask   *mask.Masker // what masks it, nil without --mask
	exited bool         // the command at pid has exited and been reaped
	code   int          // its status, once exited
	halt   bool         // an interrupt was forwarded: nothing new starts

	restart *restart // the restart under way, nil when none
}

// restart is the state of one restart.
type restart struct {
	next   Change      // the environment to start with
	kill   *time.Timer // the stop timeout
	killed bool        // SIGKILL was sent
	// check looks for the group to be gone after SIGKILL, in case its
	// members are not reparented here (no subreaper); it gives up after
	// checks ticks.
	check  *time.Ticker
	checks int
}

// killChecks bounds how long, after SIGKILL, a restart waits for the rest
// of the old group before it starts the new command anyway: at
// killCheckEvery, one second.
const (
	killCheckEvery = 10 * time.Millisecond
	killChecks     = 100
)

// start starts the command with env, its output masked by m if not nil.
func (s *supervision) start(path string, env []string, m *mask.Masker) error {
	pid, tty, out, err := startChild(path, s.argv, env, m, s.log)
	if err != nil {
		return err
	}
	s.pid, s.tty, s.out, s.exited, s.code, s.mask = pid, tty, out, false, 0, m
	// The fetch's memory is garbage now; give it back to the system, since
	// the supervisor lives as long as the command.
	debug.FreeOSMemory()
	return nil
}

// loop supervises until the command exits, outside a restart or after an
// interrupt, and returns its status; with Watch.Exit, until a change has
// stopped it (ErrChanged).
func (s *supervision) loop(sigs, chld <-chan os.Signal) (int, error) {
	for {
		var kill, check <-chan time.Time
		if r := s.restart; r != nil {
			if !r.killed {
				kill = r.kill.C
			}
			if r.check != nil {
				check = r.check.C
			}
		}
		select {
		case sig := <-sigs:
			if sig == syscall.SIGWINCH && !s.exited && s.out.resize() {
				continue
			}
			s.forward(sig.(syscall.Signal))
		case c := <-s.w.Changes:
			s.change(c)
		case <-kill:
			s.killGroup()
		case <-check:
			r := s.restart
			if r.checks++; r.checks >= killChecks {
				r.check.Stop()
				r.check = nil
			}
		case <-chld:
			s.reap()
		}
		if !s.exited {
			continue
		}
		r := s.restart
		if r != nil && !s.halt && !groupGone(s.pid) {
			if !r.killed || r.check != nil {
				continue
			}
			s.log.Warn(fmt.Sprintf("processes of the command's group %d are left after SIGKILL; going on without them", s.pid))
		}
		// The command's own exit ends the supervision, and so does an
		// interrupt, also one queued behind the old command's exit:
		// nothing new starts.
		if r == nil || s.takeQueued(sigs) {
			s.endRestart()
			s.out.drain(sigs)
			return s.code, nil
		}
		s.endRestart()
		// What is left of the old command's output is written before the
		// new one starts. An interrupt meanwhile (with nothing left of the
		// group to forward it to) ends the supervision.
		if s.out.drain(sigs) != nil {
			return s.code, nil
		}
		if s.w.Exit {
			return s.code, ErrChanged
		}
		s.log.Debug("command stopped", "code", s.code)
		// The values rotated away stay masked too (see
		// mask.WithPrevious).
		m := r.next.Mask
		if m != nil {
			m = m.WithPrevious(s.mask)
		}
		if err := s.start(r.next.Path, r.next.Env, m); err != nil {
			return 0, err
		}
		s.log.Info(fmt.Sprintf("started the command again with the new secrets (pid %d)", s.pid))
	}
}

// forward passes sig on to whatever runs: the command, or during a
// restart what is left of the old one. An interrupt stops restarts (see
// supervision).
func (s *supervision) forward(sig syscall.Signal) {
	if s.exited {
		s.log.Debug("forwarding signal", "signal", sig.String(), "pgid", s.pid)
		s.signal(sig)
		if sig == syscall.SIGTERM {
			s.signal(syscall.SIGCONT)
		}
	} else {
		forward(s.pid, sig, s.log)
	}
	switch sig {
	case syscall.SIGTERM, syscall.SIGINT:
		s.halt = true
	case syscall.SIGHUP, syscall.SIGQUIT:
		if s.restart != nil {
			s.halt = true
		}
	}
}

// takeQueued forwards the signals already queued, without waiting for
// more, and reports whether one of them stopped restarts (see forward).
func (s *supervision) takeQueued(sigs <-chan os.Signal) (halt bool) {
	for {
		select {
		case sig := <-sigs:
			s.forward(sig.(syscall.Signal))
		default:
			return s.halt
		}
	}
}

// change starts a restart with c, or makes c the one a restart under way
// ends with.
func (s *supervision) change(c Change) {
	switch {
	case s.halt:
		s.log.Info("the secrets changed, but the command was interrupted: it is not started again")
		return
	case s.restart != nil:
		s.log.Debug("the secrets changed again during a restart; the command starts with the latest")
		s.restart.next = c
		return
	}
	// The command may have exited already, its SIGCHLD not taken yet:
	// on a loaded or throttled machine both wake the loop at once. Then
	// it exited on its own, and is neither stopped nor started again.
	if s.reap() {
		return
	}
	sig := s.w.StopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	s.log.Info(fmt.Sprintf("stopping the command (pid %d) with %s", s.pid, SignalName(sig)))
	s.signal(sig)
	if sig != syscall.SIGKILL {
		s.signal(syscall.SIGCONT)
	}
	s.restart = &restart{next: c, kill: time.NewTimer(s.w.StopTimeout)}
}

// reap reaps every child that has exited and reports whether the
// command has.
func (s *supervision) reap() bool {
	if code, done := reap(s.pid, s.tty, s.log); done {
		s.exited, s.code = true, code
		if s.tty && foregroundPgrp(0) == s.pid {
			setForeground(0, syscall.Getpgrp())
		}
	}
	return s.exited
}

// killGroup sends SIGKILL to what is left of the command's group once the
// stop timeout is up.
func (s *supervision) killGroup() {
	r := s.restart
	r.killed = true
	if groupGone(s.pid) {
		return
	}
	s.log.Warn(fmt.Sprintf("the command (pid %d) did not stop within %s; sending SIGKILL to its process group", s.pid, s.w.StopTimeout))
	s.signal(syscall.SIGKILL)
	r.check = time.NewTicker(killCheckEvery)
}

// signal sends sig to the command's group, and to the command itself if
// it left the group. Once the command is reaped its pid may be another
// process's: then only the group, which keeps the number from being
// reused for as long as anything is left of it, gets the signal.
func (s *supervision) signal(sig syscall.Signal) {
	if s.exited {
		syscall.Kill(-s.pid, sig)
		return
	}
	signalGroup(s.pid, sig)
}

// endRestart stops the restart's timers.
func (s *supervision) endRestart() {
	if r := s.restart; r != nil {
		r.kill.Stop()
		if r.check != nil {
			r.check.Stop()
		}
		s.restart = nil
	}
}

// groupGone reports whether no process is left in process group pgid,
// zombies included.
func groupGone(pgid int) bool {
	return syscall.Kill(-pgid, 0) == syscall.ESRCH
}

// CheckExecSize returns the error a start would return when argv and env
// are larger than execve(2) takes (E2BIG), so that a --watch poll can
// refuse such a set before it stops the command that runs. The limit is
// Linux's (fs/exec.c, bprm_stack_limits): a quarter of the stack's soft
// limit, at most three quarters of 8 MiB and at least 128 KiB, less a
// pointer for each string; the strings, each with its NUL, and path,
// which the kernel copies with them, must fit in what is left.
func CheckExecSize(path string, argv, env []string) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_STACK, &rl); err != nil {
		return nil // the start will tell
	}
	limit := max(min(uint64(8<<20)/4*3, uint64(rl.Cur)/4), 128<<10)
	ptrs := uint64(max(len(argv), 1)+len(env)) * uint64(unsafe.Sizeof(uintptr(0)))
	size := uint64(len(path) + 1)
	for _, s := range argv {
		size += uint64(len(s) + 1)
	}
	for _, s := range env {
		size += uint64(len(s) + 1)
	}
	if ptrs >= limit || size > limit-ptrs {
		return startError(argv[0], syscall.E2BIG)
	}
	return nil
}
