package inject

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/secretexec/secretexec/inject/mask"
)

// After the command has exited, its output is read on for as long as more
// keeps coming: until the end (every copy of its stdout and stderr
// closed), or until none has come for drainIdle, or drainMax was spent
// waiting for it in all. The end comes at once unless something the
// command left running (a process in the background) still holds them.
const (
	drainIdle = 100 * time.Millisecond
	drainMax  = time.Second
)

// output takes a command's stdout and stderr through a masker under
// --mask: the command writes to pipes, or to a pseudo-terminal when
// secretexec's stdout is a terminal (see terminal), and a goroutine for
// each copies what it reads, masked, to secretexec's stdout or stderr. A
// nil *output is the command writing to secretexec's own stdout and
// stderr, and its methods do nothing.
type output struct {
	files  []uintptr  // the command's fds 0, 1 and 2
	ends   []*os.File // the command's ends, closed here once it started
	reads  []*os.File // what the command writes is read from these
	writes []*mask.Stream
	pty    *terminal // nil with pipes
	exited atomic.Bool
	done   sync.WaitGroup
}

// newOutput sets up the command's output through m: a pseudo-terminal
// for stdout when secretexec's stdout is a terminal, and for stdin and
// stderr too when those are terminals; a pipe for each of stdout and
// stderr that is not on it. stdin is otherwise the command's own. When
// no pseudo-terminal can be had, pipes do, with a warning.
func newOutput(m *mask.Masker, log *slog.Logger) (*output, error) {
	// A write to a stdout or stderr whose reader went away then fails
	// with EPIPE instead of killing secretexec: copy then closes the pipe
	// the command writes to, and the command gets the SIGPIPE, as it
	// would without --mask. The command starts with the default action,
	// since a caught signal is reset by execve.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	o := &output{files: []uintptr{0, 1, 2}}
	if isTerminal(1) {
		var err error
		if o.pty, err = openTerminal(); err != nil {
			log.Warn(fmt.Sprintf("%v; the command writes to pipes instead and sees no terminal", err))
		}
	}
	if t := o.pty; t != nil {
		o.files[1] = t.slave.Fd()
		for _, fd := range []int{0, 2} {
			if isTerminal(uintptr(fd)) {
				o.files[fd] = o.files[1]
			}
		}
		o.ends = append(o.ends, t.slave)
		o.reads = append(o.reads, t.master)
		o.writes = append(o.writes, m.Writer(os.Stdout))
	}
	for fd, to := range []*os.File{1: os.Stdout, 2: os.Stderr} {
		if fd == 0 || o.files[fd] != uintptr(fd) {
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			o.abort()
			return nil, err
		}
		o.files[fd] = w.Fd() // and blocking, as the command expects
		o.ends = append(o.ends, w)
		o.reads = append(o.reads, r)
		o.writes = append(o.writes, m.Writer(to))
	}
	return o, nil
}

// started closes secretexec's copies of the command's ends, so that the
// reads end when the command and what it started have closed theirs, and
// starts copying. On a pseudo-terminal it also puts stdin's terminal in
// raw mode.
func (o *output) started() {
	if o == nil {
		return
	}
	for _, f := range o.ends {
		f.Close()
	}
	o.ends = nil
	for i, r := range o.reads {
		o.done.Add(1)
		go o.copy(r, o.writes[i])
	}
	if o.pty != nil && o.files[0] != 0 {
		o.pty.raw()
	}
}

// abort closes everything when the command did not start.
func (o *output) abort() {
	if o == nil {
		return
	}
	for _, f := range append(o.ends, o.reads...) {
		f.Close()
	}
}

// copy copies what the command writes to r through s until the end, or
// until s cannot write; then it closes r, so that a command that goes on
// writing gets SIGPIPE (or, on a pseudo-terminal, a hangup).
func (o *output) copy(r *os.File, s *mask.Stream) {
	defer o.done.Done()
	s.ReadFrom(&tail{f: r, exited: &o.exited})
	s.Close()
	r.Close()
}

// resize follows a SIGWINCH on a pseudo-terminal, and reports whether it
// changed the size there (the kernel then signals the command's
// foreground group, and the signal need not be forwarded).
func (o *output) resize() bool {
	return o != nil && o.pty != nil && o.pty.resize()
}

// drain waits, once the command has exited, for its output to be
// copied, masked and written (see drainIdle), and restores the terminal.
// A SIGTERM, SIGINT, SIGHUP or SIGQUIT from sigs meanwhile ends the wait,
// and what is not written yet is lost: a reader of secretexec's stdout
// that stopped reading must not keep it from exiting. drain returns that
// signal, for a supervisor that would start the command again (--watch)
// to start nothing. Any other signal from sigs is dropped, as after the
// command's exit without --mask.
func (o *output) drain(sigs <-chan os.Signal) (interrupt os.Signal) {
	if o == nil {
		return nil
	}
	o.exited.Store(true)
	for _, r := range o.reads {
		// A read under way has no deadline yet; tail gives each next one
		// its own.
		r.SetReadDeadline(time.Now().Add(drainIdle))
	}
	done := make(chan struct{})
	go func() {
		o.done.Wait()
		close(done)
	}()
wait:
	for {
		select {
		case <-done:
			break wait
		case s := <-sigs:
			switch s {
			case syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT:
				interrupt = s
				break wait
			}
		}
	}
	if o.pty != nil {
		o.pty.restore()
	}
	return interrupt
}

// tail reads f until its end: EOF, EIO from a pseudo-terminal's master
// once no slave is open, or once the command has exited, a pause of
// drainIdle or drainMax spent waiting in all.
type tail struct {
	f      *os.File
	exited *atomic.Bool
	waited time.Duration
}

func (t *tail) Read(p []byte) (int, error) {
	if !t.exited.Load() {
		return ended(t.f.Read(p))
	}
	if t.waited >= drainMax {
		return 0, io.EOF
	}
	t.f.SetReadDeadline(time.Now().Add(drainIdle))
	start := time.Now()
	n, err := t.f.Read(p)
	t.waited += time.Since(start)
	return ended(n, err)
}

func ended(n int, err error) (int, error) {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, syscall.EIO) {
		err = io.EOF
	}
	return n, err
}
