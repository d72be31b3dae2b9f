package mask

import (
	"errors"
	"io"
	"slices"
	"sync"
	"time"
)

// Delay is the longest a byte is held back: a tail that could be the start
// of a secret waits this long for the bytes that would decide it, and is
// then written as it is.
const Delay = 50 * time.Millisecond

// ErrClosed is returned by a Write after Close.
var ErrClosed = errors.New("mask: write to a closed stream")

// chunk is how much of a write is masked and passed on at once; with the
// longest pattern's length on top, it bounds the buffers of a Stream.
const chunk = 64 << 10

// Stream masks what is written to it and writes the result to an
// underlying writer. See Masker.Writer.
type Stream struct {
	m     *matcher
	w     io.Writer
	max   int           // bytes masked at once, ahead of the held tail
	delay time.Duration // Delay, but for tests

	mu     sync.Mutex
	held   []byte    // a tail that could be the start of a pattern
	since  time.Time // when the oldest byte of held arrived
	timer  *time.Timer
	armed  bool
	closed bool
	err    error // the first error of the underlying writer

	// Scratch, kept between writes.
	out  []byte
	occs []occ
	part []int
	rbuf []byte // ReadFrom's
}

// Writer returns a Stream that writes what is written to it to w, each
// occurrence of a pattern replaced by its label. Bytes that are no part of
// a pattern pass through unchanged and in order, whatever they are (binary
// output too). A Write passes on at once everything but a tail that could
// be the start of a pattern; that tail is held until the bytes that decide
// it arrive, or for at most Delay, after which a timer writes it as it is
// (so a prompt without a newline appears, and a value written in two parts
// further apart than Delay goes unmasked; on a terminal, a typed character
// echoed back that could start a value shows up to Delay late). The timer
// runs only while a tail is held.
//
// A Stream is safe for one writing goroutine; its timer writes to w from
// its own goroutine, never at the same time as a Write. Close writes what is
// held and stops the timer; it does not close w.
//
// Once w returns an error, that error is returned by every later Write and
// by Close, and nothing more is written to w.
func (m *Masker) Writer(w io.Writer) *Stream {
	return &Stream{m: &m.m, w: w, max: chunk + m.m.maxLen, delay: Delay}
}

// Write masks p and writes it on, all but a tail that could be the start of
// a pattern. It returns len(p) and nil, or 0 and the underlying writer's
// error.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	if s.err != nil {
		return 0, s.err
	}
	n := len(p)
	old := len(s.held) // bytes at the front of held that came before this write
	for len(p) > 0 && s.err == nil {
		if len(s.held) == 0 {
			// Mask p where it lies; only a tail goes to held.
			c := min(len(p), s.max)
			k := s.step(p[:c], false)
			if c == len(p) {
				s.held = append(s.held, p[k:]...)
				p = nil
			} else {
				p = p[k:]
			}
			old = 0
			continue
		}
		c := min(len(p), s.max-len(s.held))
		s.held = append(s.held, p[:c]...)
		p = p[c:]
		k := s.step(s.held, false)
		s.held = s.held[:copy(s.held, s.held[k:])]
		old = max(0, old-k)
	}
	if s.err != nil {
		s.held = s.held[:0]
		s.disarm()
		return 0, s.err
	}
	if len(s.held) == 0 {
		s.disarm()
		return n, nil
	}
	if old == 0 || !s.armed {
		// The oldest byte held is from this write; one held from an
		// earlier write keeps that write's deadline.
		if old == 0 {
			s.since = time.Now()
		}
		s.arm()
	}
	return n, nil
}

// ReadFrom writes what it reads from r to s until r's end, and returns the
// number of bytes read and the first error other than io.EOF. Reads go to a
// buffer of s, so io.Copy(s, r) allocates nothing per call; the timer can
// write a held tail while a read waits. On a pseudo-terminal's master,
// reading returns syscall.EIO once the command and everything it started
// have closed the terminal: for such a source that error means the end.
func (s *Stream) ReadFrom(r io.Reader) (int64, error) {
	if s.rbuf == nil {
		s.rbuf = make([]byte, chunk)
	}
	var total int64
	for {
		n, err := r.Read(s.rbuf)
		total += int64(n)
		if n > 0 {
			if _, werr := s.Write(s.rbuf[:n]); werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Close writes the held tail, masked as the end of the stream, and stops
// the timer. It returns the underlying writer's first error, if any. Later
// Writes fail with ErrClosed; a second Close does nothing more.
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.err
	}
	s.closed = true
	s.flush()
	s.disarm()
	return s.err
}

// flush writes the held tail, masked as if the stream ended there.
func (s *Stream) flush() {
	if len(s.held) > 0 && s.err == nil {
		s.step(s.held, true)
	}
	s.held = s.held[:0]
}

func (s *Stream) arm() {
	d := time.Until(s.since.Add(s.delay))
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.expire)
	} else {
		s.timer.Reset(d)
	}
	s.armed = true
}

func (s *Stream) disarm() {
	if s.armed {
		s.timer.Stop()
		s.armed = false
	}
}

// expire is the timer's: it writes the held tail once it is due.
func (s *Stream) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.armed {
		return
	}
	if d := time.Until(s.since.Add(s.delay)); d > 0 {
		// A Write re-armed the timer for a later tail while this call
		// waited for the lock.
		s.timer.Reset(d)
		return
	}
	s.armed = false
	s.flush()
}

// step masks b and writes the result on, up to the start of a tail that
// could be the start of a pattern (to the end of b if final), and returns
// how many bytes of b it consumed.
func (s *Stream) step(b []byte, final bool) int {
	occs, part := s.m.scan(b, s.occs[:0], s.part[:0])
	if !final {
		part = s.m.tails(b, part)
		if len(part) > 1 {
			slices.Sort(part)
		}
	}
	if len(occs) > 1 && !slices.IsSortedFunc(occs, s.cmpOcc) {
		slices.SortFunc(occs, s.cmpOcc)
	}
	s.occs, s.part = occs, part

	// hold returns the start of the first cut-off occurrence at or after
	// i, or len(b).
	pi := 0
	hold := func(i int) int {
		if final {
			return len(b)
		}
		for pi < len(part) && part[pi] < i {
			pi++
		}
		if pi < len(part) {
			return part[pi]
		}
		return len(b)
	}
	// Overlapping occurrences are masked as one: from the first one's start
	// to the furthest end of those that overlap it, in a chain, under the
	// label of the longest (of equals, the first). A cluster that a cut-off
	// occurrence overlaps could still grow, so it is held, unless b is all
	// a Stream holds at once: then it is masked to the end of b, which is
	// what the occurrences cover so far.
	full := !final && len(b) >= s.max
	i, held := 0, -1
	out := s.out[:0]
	masked := false
	for k := 0; k < len(occs); {
		start := int(occs[k].start)
		if start < i {
			k++
			continue
		}
		if start >= hold(i) {
			break // a longer pattern could still begin here or earlier
		}
		best := occs[k].pat
		end := start + len(s.m.pats[best].text)
		for k++; k < len(occs) && int(occs[k].start) < end; k++ {
			o := occs[k]
			end = max(end, int(o.start)+len(s.m.pats[o.pat].text))
			if len(s.m.pats[o.pat].text) > len(s.m.pats[best].text) {
				best = o.pat
			}
		}
		if hold(start) < end {
			if !full {
				held = start
				break
			}
			end = len(b)
		}
		out = append(out, b[i:start]...)
		out = append(out, s.m.pats[best].label...)
		i = end
		masked = true
	}
	end := hold(i)
	if held >= 0 {
		end = held
	}
	if masked {
		out = append(out, b[i:end]...)
		s.out = out
		s.write(out)
	} else if end > 0 {
		s.write(b[:end])
	}
	return end
}

// cmpOcc orders occurrences by start, and the longest first at one start.
func (s *Stream) cmpOcc(a, b occ) int {
	if a.start != b.start {
		return int(a.start - b.start)
	}
	return len(s.m.pats[b.pat].text) - len(s.m.pats[a.pat].text)
}

func (s *Stream) write(b []byte) {
	if s.err != nil || len(b) == 0 {
		return
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = err
	}
}
