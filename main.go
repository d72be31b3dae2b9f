// Command secretexec fetches an app's secrets, checks them against the
// secrets the app requires, and replaces itself with the app, the secrets in
// its environment:
//
//	secretexec [flags] -- node backend
//
// See the README for the flags, variables, manifest and exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/inject"
	"github.com/secretexec/secretexec/internal/logging"
	"github.com/secretexec/secretexec/manifest"
)

// Exit codes, from BSD's sysexits.h, as the README lists them.
const (
	exitUsage       = 64 // EX_USAGE
	exitValidation  = 65 // EX_DATAERR
	exitUnavailable = 69 // EX_UNAVAILABLE
	exitProtocol    = 76 // EX_PROTOCOL
	exitPermission  = 77 // EX_NOPERM
	exitConfig      = 78 // EX_CONFIG
	exitNotExec     = 126
	exitNotFound    = 127
)

// interruptSignals cancel a fetch; secretexec then exits 128+n.
var interruptSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

func main() {
	os.Exit(main1())
}

// main1 runs secretexec and returns its exit code; nothing below it exits.
func main1() int {
	noGC()
	intr := newInterrupts()
	defer intr.stop()
	c := &cli{
		stdout:         os.Stdout,
		stderr:         os.Stderr,
		environ:        os.Environ(),
		log:            logging.New(os.Stderr, "text", slog.LevelInfo),
		startSignals:   func() { intr.start() },
		armSignals:     intr.arm,
		stopSignals:    intr.stop,
		handOffSignals: intr.handOff,
	}
	c.exit = func(err error) { os.Exit(c.fail(err)) }
	err := c.run(intr.ctx, os.Args[1:])
	if err == nil {
		return 0
	}
	return c.fail(err)
}

// noGC turns the garbage collector off up to a heap of gcLimit.
//
// secretexec allocates what a run needs and then execs, which frees it
// all: a collection before then is wasted, and at 10,000 secrets one cycle
// (it starts threads for its workers) costs more than the decoding. The
// limit, far above what a run of 10,000 secrets needs, lets the collector
// run after all should huge sources grow the heap that far. It overrides
// GOGC and GOMEMLIMIT, which the command inherits and is meant to read.
// A supervisor (--init), which outlives the start, turns it back on.
func noGC() {
	gcPercent = debug.SetGCPercent(-1)
	gcMemoryLimit = debug.SetMemoryLimit(gcLimit)
}

// gcPercent and gcMemoryLimit are the collector's settings before noGC:
// the runtime's defaults, or what GOGC and GOMEMLIMIT asked for.
var (
	gcPercent     = 100
	gcMemoryLimit = int64(math.MaxInt64)
)

// gcOn turns the collector back on as it was before noGC.
func gcOn() {
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(gcMemoryLimit)
}

// gcLimit is the heap size at which the collector runs after all.
const gcLimit = 64 << 20

// interrupts cancels a context, with a *signalError as its cause, on the
// first interrupt signal once armed.
//
// Arming is dear: signal.Notify takes a round trip, per signal, to a
// thread the runtime starts for the purpose, and signal.Reset another:
// about 0.45 ms for the four signals, as much as a whole run from a local
// file. So a run arms them only when it must: before it sends a request,
// and, for local sources, only once a fetch has taken armDelay, as a FIFO
// or a hung mount may. Until then they have their default effect. Network
// runs start arming in the background while they read the manifest, and
// stop gives back the dispositions without the runtime's round trips.
type interrupts struct {
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu      sync.Mutex    // arming may start on a watchdog's goroutine
	ready   chan struct{} // closed once armed; nil until arming starts
	stopped bool
	ch      chan os.Signal
	done    chan struct{} // closed by stop
	exited  chan struct{} // closed when the listening goroutine returns
	ignored []bool        // each signal's disposition before arming
	armed   []os.Signal   // the signals listened to: those not ignored
}

// armDelay is how long a fetch of local sources may take before the
// signals are armed: far more than a file or dir takes, far less than
// anyone waits before pressing Ctrl-C.
const armDelay = 5 * time.Millisecond

func newInterrupts() *interrupts {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &interrupts{ctx: ctx, cancel: cancel}
}

// start starts arming the signals in the background, unless that has
// started or stopped already. It returns a channel closed once they are
// armed, or nil after stop.
func (i *interrupts) start() <-chan struct{} {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.ready != nil || i.stopped {
		return i.ready
	}
	// An ignored signal (nohup) must stay ignored for the command; Notify
	// forgets that, so note it first.
	// A signal ignored when secretexec started (nohup, or `cmd &` in a
	// script) is not listened to at all: it interrupts nothing, and stays
	// ignored for the command.
	i.ignored = make([]bool, len(interruptSignals))
	for k, sig := range interruptSignals {
		if i.ignored[k] = signal.Ignored(sig); !i.ignored[k] {
			i.armed = append(i.armed, sig)
		}
	}
	ready := make(chan struct{})
	i.ready, i.done, i.exited = ready, make(chan struct{}), make(chan struct{})
	i.ch = make(chan os.Signal, 1)
	go func() {
		defer close(i.exited)
		if len(i.armed) > 0 {
			signal.Notify(i.ch, i.armed...)
		}
		close(ready)
		select {
		case sig := <-i.ch:
			i.cancel(&signalError{sig: sig.(syscall.Signal)})
		case <-i.done:
		}
	}()
	return ready
}

// arm arms the signals, and returns once they are.
func (i *interrupts) arm() {
	if ready := i.start(); ready != nil {
		<-ready
	}
}

// stop disarms the signals before the command starts, so that one that
// arrives from then on has its default effect instead of being swallowed.
// They are not armed again.
func (i *interrupts) stop() { i.disarm(true) }

// handOff stops listening without touching the signals' dispositions, for
// a supervisor that has started listening to them itself. A signal caught
// before then still cancels the context.
func (i *interrupts) handOff() { i.disarm(false) }

// disarm stops listening. A signal already caught, even one still on its
// way to the channel or not yet acted on, cancels the context before
// disarm returns, so the caller's check of the context cannot miss it.
// With restore, the signals get back the dispositions they had before
// arming, without the runtime's round trips (see restoreSignals).
func (i *interrupts) disarm(restore bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.stopped {
		return
	}
	i.stopped = true
	if i.ready == nil {
		return
	}
	<-i.ready
	signal.Stop(i.ch) // returns once no signal is on its way to ch
	if restore {
		restoreSignals(interruptSignals, i.ignored)
	}
	close(i.done)
	<-i.exited
	select {
	case sig := <-i.ch:
		i.cancel(&signalError{sig: sig.(syscall.Signal)})
	default:
	}
}

// signalError is an interrupt that arrived before the command started.
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string {
	return fmt.Sprintf("interrupted by %s before starting the command", signalName(e.sig))
}

func signalName(sig syscall.Signal) string {
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

// usageError is a command line that does not parse (exit 64).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// configError is a setting that parses but is wrong or names something
// missing, from a flag, a variable or a file (exit 78).
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func configf(format string, args ...any) error {
	return &configError{err: fmt.Errorf(format, args...)}
}

// exitStatus carries an exit code that is not an error of secretexec's own,
// such as a supervised child's status.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// hinted attaches hints, what the user could do next, to an error.
type hinted struct {
	err   error
	hints []string
}

func (e *hinted) Error() string { return e.err.Error() }
func (e *hinted) Unwrap() error { return e.err }

func withHints(err error, hints ...string) error {
	if len(hints) == 0 {
		return err
	}
	return &hinted{err: err, hints: hints}
}

// fail reports err on stderr and returns its exit code.
func (c *cli) fail(err error) int {
	var status *exitStatus
	if errors.As(err, &status) {
		return status.code
	}
	if h := hints(err); len(h) > 0 {
		c.log.Error(err.Error(), logging.Hints(h...))
	} else {
		c.log.Error(err.Error())
	}
	return exitCode(err)
}

// hints collects every hint attached to err and the errors it wraps.
func hints(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
			return
		case *hinted:
			out = append(out, e.hints...)
		case *fetch.Error:
			out = append(out, e.Hints...)
		case *usageError:
			out = append(out, "run 'secretexec --help' for the flags and variables")
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// exitCode maps an error to the exit codes the README lists.
func exitCode(err error) int {
	var (
		sig     *signalError
		status  *exitStatus
		usage   *usageError
		conf    *configError
		fe      *fetch.Error
		syntax  *manifest.SyntaxError
		unset   *manifest.UnsetError
		invalid *inject.InvalidError
		cmd     *inject.CommandError
	)
	switch {
	case errors.As(err, &sig):
		return 128 + int(sig.sig)
	case errors.As(err, &status):
		return status.code
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &conf), errors.As(err, &syntax):
		return exitConfig
	case errors.As(err, &fe):
		switch fe.Kind {
		case fetch.Protocol:
			return exitProtocol
		case fetch.Permission:
			return exitPermission
		case fetch.Config:
			return exitConfig
		}
		return exitUnavailable
	case errors.As(err, &unset), errors.As(err, &invalid):
		return exitValidation
	case errors.As(err, &cmd):
		if errors.Is(cmd.Err, inject.ErrNotFound) {
			return exitNotFound
		}
		return exitNotExec
	}
	return exitUnavailable
}

// cli is one invocation's streams, environment and logger.
type cli struct {
	stdout, stderr io.Writer
	environ        []string
	log            *slog.Logger
	// armSignals makes the interrupt signals cancel the run's context,
	// startSignals starts that in the background, and stopSignals stops it
	// before the command starts.
	startSignals, armSignals, stopSignals func()
	// handOffSignals stops listening when a supervisor listens itself.
	handOffSignals func()
	// exit ends the run from elsewhere than main1, reporting err: only for
	// a fetch stuck in a call that nothing can cancel.
	exit func(err error)
}
