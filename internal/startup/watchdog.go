package startup

import (
	"context"
	"sync"
	"time"
)

// fetchGrace is how long a stuck fetch gets, once the deadline has passed,
// to return its own, more precise error.
const fetchGrace = 200 * time.Millisecond

// TimeoutError is the cause of a fetch that ran out of time. It formats its
// message only when asked: fmt on a run's first use costs some 12 µs every
// run to say something that is rarely read.
type TimeoutError time.Duration

func (t TimeoutError) Error() string {
	return "fetching took longer than the " + time.Duration(t).String() + " timeout"
}

// Fetch runs fetch within timeout on the calling goroutine: a fetch on a
// goroutine of its own costs a handoff between threads, some 60 µs. A
// source can be stuck in a call that no context cancels, such as opening a
// FIFO that nobody writes, so a fetch that takes ArmDelay gets a watchdog:
// it calls arm, if not nil, and should the time run out or ctx be
// cancelled while fetch is still stuck, it ends the run itself by calling
// exit with the cause: ctx's (an interrupt) or a TimeoutError. exit must
// not return.
//
// An interrupt wins over the error it caused: when ctx was cancelled,
// Fetch returns its cause.
func Fetch(ctx context.Context, timeout time.Duration, fetch func(context.Context) error, arm func(), exit func(error)) error {
	fetchCtx, cancel := context.WithTimeoutCause(ctx, timeout, TimeoutError(timeout))
	defer cancel()
	w := &watchdog{returned: make(chan struct{})}
	timer := time.AfterFunc(ArmDelay, func() { w.watch(ctx, fetchCtx, arm, exit) })
	err := fetch(fetchCtx)
	timer.Stop()
	w.finish()
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return err
}

// A watchdog ends a run whose fetch is stuck.
type watchdog struct {
	mu       sync.Mutex // held for good once the watchdog ends the run
	returned chan struct{}
}

// finish tells the watchdog that the fetch returned. Should the watchdog be
// ending the run, it never returns.
func (w *watchdog) finish() {
	w.mu.Lock()
	close(w.returned)
	w.mu.Unlock()
}

func (w *watchdog) watch(ctx, fetchCtx context.Context, arm func(), exit func(error)) {
	if arm != nil {
		arm()
	}
	select {
	case <-w.returned:
		return
	case <-fetchCtx.Done():
	}
	if context.Cause(ctx) == nil {
		// The time is up, and not because of an interrupt: give the
		// sources a moment to say why.
		select {
		case <-w.returned:
			return
		case <-time.After(fetchGrace):
		}
	}
	w.mu.Lock()
	select {
	case <-w.returned:
		w.mu.Unlock()
		return
	default:
	}
	err := context.Cause(ctx) // an interrupt
	if err == nil {
		err = context.Cause(fetchCtx)
	}
	exit(err)
}
