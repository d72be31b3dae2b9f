package startup

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Signals are the interrupts: one that arrives while a run fetches cancels
// it, and the run exits 128+n without starting the command.
var Signals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// ArmDelay is how long a fetch of local sources may take before the
// interrupts are armed: far more than a file or dir takes, far less than
// anyone waits before pressing Ctrl-C.
const ArmDelay = 5 * time.Millisecond

// Interrupts cancels a context, with a *SignalError as its cause, on the
// first interrupt once armed.
//
// Arming is dear: signal.Notify takes a round trip, per signal, to a thread
// the runtime starts for the purpose: about 0.45 ms for the four signals,
// as much as a whole run from a local file. So a run arms them only when it
// must: before it sends a request, under --init, as PID 1, and, for local
// sources, once a fetch has taken ArmDelay, as a FIFO or a hung mount may.
// Until then they have their default effect: the process dies of the signal
// and nothing starts. For SIGQUIT that needs help, since the Go runtime
// answers it with a goroutine dump and exit 2: New gives SIGQUIT the
// kernel's default action until arming (see holdQuit).
type Interrupts struct {
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu      sync.Mutex    // arming may start on a watchdog's goroutine
	ready   chan struct{} // closed once armed; nil until arming starts
	stopped bool
	ch      chan os.Signal
	done    chan struct{} // closed by Stop
	exited  chan struct{} // closed when the listening goroutine returns
	ignored []bool        // each signal's disposition before arming
	armed   []os.Signal   // the signals listened to: those not ignored
	quit    *sigaction    // the runtime's SIGQUIT handler, set aside by holdQuit

	// OnArmed, if set before arming starts, is called once the signals
	// are armed: for a debug line that tests wait for.
	OnArmed func()
}

// New returns the interrupts of a run that is starting, and the context
// they cancel. As PID 1 they are armed already (see pid1); elsewhere they
// are armed by Start or Arm.
func New() *Interrupts {
	if pid1 != nil {
		i := pid1
		pid1 = nil
		return i
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	i := &Interrupts{ctx: ctx, cancel: cancel, quit: heldQuit}
	heldQuit = nil
	return i
}

// heldQuit is the runtime's SIGQUIT handler, set aside while the packages
// initialise (see holdQuit), unless SIGQUIT was ignored or this is PID 1.
// That early, because a process spends much of its start there.
var heldQuit = holdQuitEarly()

func holdQuitEarly() *sigaction {
	if os.Getpid() == 1 || signal.Ignored(syscall.SIGQUIT) {
		return nil
	}
	return holdQuit()
}

// pid1 is, as PID 1, the interrupts armed while the packages initialise.
//
// PID 1 gets no signal it does not catch: the kernel drops it. The Go
// runtime catches SIGTERM from its start, but until signal.Notify it
// answers it by re-raising it at its default, which as PID 1 does nothing,
// and then exits 2. So `docker stop` right after `docker run` would end
// the container with 2, or not at all. Arming them here, the earliest Go
// code runs, leaves only the runtime's own start-up unguarded.
var pid1 = armIfPID1()

func armIfPID1() *Interrupts {
	if os.Getpid() != 1 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	i := &Interrupts{ctx: ctx, cancel: cancel}
	i.Arm()
	return i
}

// Context returns the context an interrupt cancels.
func (i *Interrupts) Context() context.Context { return i.ctx }

// Start starts arming the signals in the background, unless that has
// started or they were stopped already. It returns a channel closed once
// they are armed, or nil after Stop.
func (i *Interrupts) Start() <-chan struct{} {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.ready != nil || i.stopped {
		return i.ready
	}
	// A signal ignored when secretexec started (nohup, or `cmd &` in a
	// script) is not listened to at all: it interrupts nothing, and stays
	// ignored for the command.
	i.ignored = make([]bool, len(Signals))
	for k, sig := range Signals {
		if i.ignored[k] = signal.Ignored(sig); !i.ignored[k] {
			i.armed = append(i.armed, sig)
		}
	}
	ready := make(chan struct{})
	i.ready, i.done, i.exited = ready, make(chan struct{}), make(chan struct{})
	i.ch = make(chan os.Signal, 1)
	quit, onArmed := i.quit, i.OnArmed
	i.quit = nil
	go func() {
		defer close(i.exited)
		if len(i.armed) > 0 {
			signal.Notify(i.ch, i.armed...)
		}
		if quit != nil {
			// Give SIGQUIT back to the runtime, which must catch it for
			// Notify to deliver it: the runtime installed its handler at
			// start and will not install it again. Only now that Notify
			// wants SIGQUIT: before, the runtime would answer it with its
			// goroutine dump.
			quit.set(syscall.SIGQUIT)
		}
		close(ready)
		if onArmed != nil {
			onArmed()
		}
		select {
		case sig := <-i.ch:
			i.cancel(&SignalError{Signal: sig.(syscall.Signal)})
		case <-i.done:
		}
	}()
	return ready
}

// Armed reports whether the signals are armed (and not stopped).
func (i *Interrupts) Armed() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.ready == nil || i.stopped {
		return false
	}
	select {
	case <-i.ready:
		return true
	default:
		return false
	}
}

// Arm arms the signals, and returns once they are.
func (i *Interrupts) Arm() {
	if ready := i.Start(); ready != nil {
		<-ready
	}
}

// Stop disarms the signals before the command is exec'd, so that one that
// arrives from then on has its default effect instead of being swallowed.
// A signal caught before then cancels the context before Stop returns, so
// the caller's check of the context cannot miss it.
//
// The order matters. The signals first get the dispositions the command
// must start with (the default, or ignored if they were ignored), while
// they are still listened to: from then on none is caught by a handler on
// another thread, which execve would end before it passed the signal on.
// A handler already running on another thread is waited for
// (awaitHandlers). Then signal.Stop hands over whatever was caught before.
func (i *Interrupts) Stop() { i.disarm(true) }

// HandOff stops listening without touching the signals' dispositions, for
// a supervisor that has started listening to them itself. A signal caught
// before then still cancels the context.
func (i *Interrupts) HandOff() { i.disarm(false) }

func (i *Interrupts) disarm(restore bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.stopped {
		return
	}
	i.stopped = true
	if i.ready == nil {
		return // never armed: every signal still has its default effect
	}
	<-i.ready
	if restore {
		restoreSignals(Signals, i.ignored)
		awaitHandlers(i.armed)
	}
	signal.Stop(i.ch) // returns once no signal is on its way to ch
	close(i.done)
	<-i.exited
	select {
	case sig := <-i.ch:
		i.cancel(&SignalError{Signal: sig.(syscall.Signal)})
	default:
	}
}

// SignalError is an interrupt that arrived before the command started.
type SignalError struct{ Signal syscall.Signal }

func (e *SignalError) Error() string {
	return fmt.Sprintf("interrupted by %s before starting the command", SignalName(e.Signal))
}

// SignalName returns the conventional name of sig, such as "SIGTERM".
func SignalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return sig.String()
}
