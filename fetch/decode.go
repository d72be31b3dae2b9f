package fetch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Decode reads secrets in either shape the store and files use: the envelope
// {"secrets":[{"key":"K","value":"V","description":"D"}, …]} or a flat
// object {"K":"V", …}. An object with a "secrets" member holding an array
// is the envelope, and its other members are metadata (a total, a cursor),
// ignored; any other object must be flat, with string values only.
// source names the input in errors and in each Secret.
//
// Errors never quote the input: a malformed document is reported by byte
// offset only, since the text around the error may be a secret value.
//
// It reads strings as encoding/json does (invalid UTF-8 and unpaired
// surrogates become U+FFFD; the envelope's member names match regardless
// of case), but it decodes as the input arrives rather than after, keeps
// every string in one allocation, and uses no reflection: a response of
// 10,000 secrets takes a few milliseconds less than encoding/json would.
func Decode(r io.Reader, source string) ([]Secret, error) {
	return decodeSized(r, source, 0)
}

// decodeSized is Decode for input of a known size, such as a file's or a
// response's Content-Length, or of unknown size when size is 0 or less.
// The size only presizes buffers.
func decodeSized(r io.Reader, source string, size int64) ([]Secret, error) {
	n := defaultBuffer
	if size > 0 && size < maxBuffer {
		n = max(int(size)+1, minBuffer) // +1: the read that finds the end
	} else if size >= maxBuffer {
		n = maxBuffer
	}
	plainOnce.Do(fillPlain)
	d := &decoder{r: r, source: source, buf: make([]byte, n), guess: minGuess}
	if size > 0 {
		d.arena.Grow(int(min(size, MaxSize)))
		d.guess = max(int(min(size, MaxSize)/bytesPerSecret), minGuess)
	}
	return d.decode()
}

// Buffer sizes of a decoder: it starts at defaultBuffer (or the input's
// size) and doubles, up to maxBuffer, while reads fill it.
const (
	minBuffer     = 512
	defaultBuffer = 4 << 10
	maxBuffer     = 64 << 10
)

// The entries of a decoder are allocated once for guess secrets, the
// input's size over bytesPerSecret, rather than grown by doubling: each
// step of that is an object of a new size class, whose first use costs a
// fresh span and a page fault, a few microseconds each on a cold start.
const (
	minGuess       = 16
	bytesPerSecret = 40 // a flat member of a short key and value; an item is longer
)

// maxItemDepth is how deep values may nest inside an item of the
// envelope, as encoding/json allows.
const maxItemDepth = 10000 - 1

// A decoder is one streaming pass over a JSON document.
type decoder struct {
	r      io.Reader
	source string

	buf      []byte // buf[pos:end] is read and not yet consumed
	pos, end int
	off      int64 // input offset of buf[0]
	err      error // the reader's error once it returned one: io.EOF at the end
	filled   bool  // the last read filled buf: grow it

	// arena holds every string kept, unescaped, end to end: the secrets
	// are cut from the one string it builds, without a copy.
	arena   strings.Builder
	scratch []byte // a member name being matched
	flat    []entry
	items   []entry // the envelope's
	guess   int     // how many secrets the input may hold
}

// add appends e to list, allocating it for d.guess entries first.
func (d *decoder) add(list []entry, e entry) []entry {
	if list == nil {
		list = make([]entry, 0, d.guess)
	}
	return append(list, e)
}

// An entry is one secret as spans of the arena.
type entry struct {
	key, value, desc span
}

type span struct{ start, end int32 }

func (d *decoder) mark() int32 { return int32(d.arena.Len()) }

func (d *decoder) since(start int32) span { return span{start, int32(d.arena.Len())} }

// Where str puts a string.
const (
	toNowhere = iota // only check it
	toArena
	toScratch
)

// put appends b to the string str is reading.
func (d *decoder) put(to int, b []byte) {
	switch to {
	case toArena:
		d.arena.Write(b)
	case toScratch:
		d.scratch = append(d.scratch, b...)
	}
}

func (d *decoder) putRune(to int, r rune) {
	switch to {
	case toArena:
		d.arena.WriteRune(r)
	case toScratch:
		d.scratch = utf8.AppendRune(d.scratch, r)
	}
}

func (d *decoder) decode() ([]Secret, error) {
	c, ok := d.next()
	if !ok {
		return nil, d.endError()
	}
	if c != '{' {
		if what := describe(c); what != "" {
			return nil, errorf(Protocol, d.source, "want a JSON object, got %s", what)
		}
		return nil, d.syntaxError()
	}
	d.pos++
	var (
		envelope bool
		badShape error // a non-string member, fatal unless this is an envelope
	)
	c, ok = d.next()
	if ok && c == '}' {
		d.pos++
	} else {
		for {
			if !ok {
				return nil, d.endError()
			}
			if c != '"' {
				return nil, d.syntaxError()
			}
			d.pos++
			keyStart := d.mark()
			to := toArena // a key of the flat shape, until there is an envelope
			if envelope {
				to = toNowhere
			}
			if err := d.str(to); err != nil {
				return nil, err
			}
			key := d.since(keyStart)
			if err := d.colon(); err != nil {
				return nil, err
			}
			c, ok = d.next()
			if !ok {
				return nil, d.endError()
			}
			switch {
			case !envelope && c == '[' && d.arena.String()[key.start:key.end] == "secrets":
				d.pos++
				if err := d.envelope(); err != nil {
					return nil, err
				}
				envelope = true
			case envelope:
				// Other members of an envelope are metadata.
				if err := d.skip(-1); err != nil {
					return nil, err
				}
			case c == '"':
				d.pos++
				valueStart := d.mark()
				if err := d.str(toArena); err != nil {
					return nil, err
				}
				d.flat = d.add(d.flat, entry{key: key, value: d.since(valueStart)})
			default:
				if badShape == nil {
					badShape = errorf(Protocol, d.source, "member %q: want a string value, got %s",
						shorten(d.arena.String()[key.start:key.end]), describe(c))
				}
				if err := d.skip(-1); err != nil {
					return nil, err
				}
			}
			if c, ok = d.next(); ok && c == ',' {
				d.pos++
				c, ok = d.next()
				continue
			}
			if ok && c == '}' {
				d.pos++
				break
			}
			if !ok {
				return nil, d.endError()
			}
			return nil, d.syntaxError()
		}
	}
	if _, ok := d.next(); ok {
		return nil, errorf(Protocol, d.source, "unexpected data after the JSON object at byte %d", d.offset())
	}
	if d.err != io.EOF {
		return nil, d.endError()
	}
	entries := d.flat
	if envelope {
		entries = d.items
	} else if badShape != nil {
		return nil, badShape
	}
	if len(entries) == 0 {
		return nil, nil
	}
	all := d.arena.String()
	secrets := make([]Secret, len(entries))
	for i, e := range entries {
		secrets[i] = Secret{
			Key:         all[e.key.start:e.key.end],
			Value:       all[e.value.start:e.value.end],
			Description: all[e.desc.start:e.desc.end],
			Source:      d.source,
		}
	}
	return secrets, nil
}

// envelope reads the elements of the "secrets" array, whose opening
// bracket has been consumed, and its closing bracket.
func (d *decoder) envelope() error {
	c, ok := d.next()
	if ok && c == ']' {
		d.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := d.item(i); err != nil {
			return err
		}
		c, ok = d.next()
		switch {
		case !ok:
			return d.endError()
		case c == ',':
			d.pos++
		case c == ']':
			d.pos++
			return nil
		default:
			return d.syntaxError()
		}
	}
}

// Fields of an envelope item.
const (
	otherField = iota
	keyField
	valueField
	descField
)

// field names an item's member, matching the way encoding/json matches
// struct fields: exactly, else regardless of case.
func field(name []byte) int {
	for i, f := range [...]string{keyField: "key", valueField: "value", descField: "description"} {
		if f != "" && (string(name) == f || bytes.EqualFold(name, []byte(f))) {
			return i
		}
	}
	return otherField
}

// item reads one element of the envelope: an object whose "key" is a
// string, and whose "value" and "description" are strings or null. A null
// or missing value is a key registered without one. Other members are
// skipped.
func (d *decoder) item(i int) error {
	c, ok := d.next()
	switch {
	case !ok:
		return d.endError()
	case c == 'n':
		if err := d.literal("null"); err != nil {
			return err
		}
		return errorf(Protocol, d.source, "secrets[%d]: no key", i)
	case c != '{':
		if what := describe(c); what != "" {
			return errorf(Protocol, d.source, "secrets[%d]: want an object, got %s", i, what)
		}
		return d.syntaxError()
	}
	d.pos++
	var (
		e      entry
		hasKey bool
	)
	c, ok = d.next()
	if ok && c == '}' {
		d.pos++
		return errorf(Protocol, d.source, "secrets[%d]: no key", i)
	}
	for {
		if !ok {
			return d.endError()
		}
		if c != '"' {
			return d.syntaxError()
		}
		d.pos++
		d.scratch = d.scratch[:0]
		if err := d.str(toScratch); err != nil {
			return err
		}
		f := field(d.scratch)
		if err := d.colon(); err != nil {
			return err
		}
		c, ok = d.next()
		switch {
		case !ok:
			return d.endError()
		case f == otherField:
			if err := d.skip(maxItemDepth); err != nil {
				return err
			}
		case c == '"':
			d.pos++
			start := d.mark()
			if err := d.str(toArena); err != nil {
				return err
			}
			switch s := d.since(start); f {
			case keyField:
				e.key, hasKey = s, true
			case valueField:
				e.value = s
			case descField:
				e.desc = s
			}
		case c == 'n':
			if err := d.literal("null"); err != nil {
				return err
			}
			// As with encoding/json: null empties a pointer (key, value)
			// and leaves a string (description) as it was.
			switch f {
			case keyField:
				hasKey = false
			case valueField:
				e.value = span{}
			}
		default:
			if describe(c) == "" {
				return d.syntaxError()
			}
			name := [...]string{keyField: "key", valueField: "value", descField: "description"}[f]
			return errorf(Protocol, d.source, "secrets[%d]: %s at byte %d: want a string, got %s", i, name, d.offset(), describe(c))
		}
		c, ok = d.next()
		if ok && c == ',' {
			d.pos++
			c, ok = d.next()
			continue
		}
		if ok && c == '}' {
			d.pos++
			break
		}
		if !ok {
			return d.endError()
		}
		return d.syntaxError()
	}
	if !hasKey {
		return errorf(Protocol, d.source, "secrets[%d]: no key", i)
	}
	d.items = d.add(d.items, e)
	return nil
}

// colon consumes the colon after a member name.
func (d *decoder) colon() error {
	c, ok := d.next()
	if !ok {
		return d.endError()
	}
	if c != ':' {
		return d.syntaxError()
	}
	d.pos++
	return nil
}

// plain marks the bytes a string holds as they are: not the quote, the
// backslash, a control character or the start of a multi-byte sequence.
// A table is a twentieth faster than comparisons; it is filled by the first
// decode rather than at start-up, which every run pays for.
var (
	plain     [256]bool
	plainOnce sync.Once
)

func fillPlain() {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
	}
}

// str reads the rest of a string whose opening quote has been consumed,
// and puts it, unescaped, where to says. Like encoding/json, it
// turns each byte of invalid UTF-8 and each unpaired surrogate into U+FFFD.
func (d *decoder) str(to int) error {
	for {
		run := d.buf[d.pos:d.end]
		i := 0
		for i < len(run) && plain[run[i]] {
			i++
		}
		if to != toNowhere {
			d.put(to, run[:i])
		}
		d.pos += i
		if i == len(run) {
			if !d.more(1) {
				return d.endError()
			}
			continue
		}
		switch c := run[i]; {
		case c == '"':
			d.pos++
			if d.arena.Len() > math.MaxInt32 { // spans are int32
				return &Error{Kind: Protocol, Source: d.source, Err: &TooBigError{Limit: math.MaxInt32}}
			}
			return nil
		case c == '\\':
			if err := d.escape(to); err != nil {
				return err
			}
		case c < 0x20:
			return d.syntaxError()
		default:
			d.more(utf8.UTFMax)
			r, size := utf8.DecodeRune(d.buf[d.pos:d.end])
			if r == utf8.RuneError && size == 1 {
				d.putRune(to, utf8.RuneError)
			} else {
				d.put(to, d.buf[d.pos:d.pos+size])
			}
			d.pos += size
		}
	}
}

// escape reads one escape sequence in a string, the backslash included.
func (d *decoder) escape(to int) error {
	if !d.more(2) {
		return d.endError()
	}
	var b byte
	switch c := d.buf[d.pos+1]; c {
	case '"', '\\', '/':
		b = c
	case 'b':
		b = '\b'
	case 'f':
		b = '\f'
	case 'n':
		b = '\n'
	case 'r':
		b = '\r'
	case 't':
		b = '\t'
	case 'u':
		if !d.more(6) {
			return d.endError()
		}
		r := hex4(d.buf[d.pos+2 : d.pos+6])
		if r < 0 {
			return d.syntaxError()
		}
		d.pos += 6
		if utf16.IsSurrogate(r) {
			// A high surrogate followed by a low one is one character;
			// anything else is U+FFFD, and what follows is read on its own.
			r2 := rune(-1)
			if d.more(6) && d.buf[d.pos] == '\\' && d.buf[d.pos+1] == 'u' {
				r2 = hex4(d.buf[d.pos+2 : d.pos+6])
			}
			if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
				r = pair
				d.pos += 6
			} else {
				r = utf8.RuneError
			}
		}
		d.putRune(to, r)
		return nil
	default:
		return d.syntaxError()
	}
	d.put(to, []byte{b})
	d.pos += 2
	return nil
}

// hex4 returns the value of four hex digits, or -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// skip consumes one value, checking its syntax. maxDepth bounds how deeply
// arrays and objects nest in it, or does not when negative.
func (d *decoder) skip(maxDepth int) error {
	var stack []byte // the open '{' and '['
	for {
		// A value.
		c, ok := d.next()
		if !ok {
			return d.endError()
		}
		switch {
		case c == '{' || c == '[':
			if maxDepth >= 0 && len(stack) >= maxDepth {
				return errorf(Protocol, d.source, "JSON nested too deeply at byte %d", d.offset())
			}
			d.pos++
			stack = append(stack, c)
			end := byte('}')
			if c == '[' {
				end = ']'
			}
			if c, ok = d.next(); ok && c == end {
				d.pos++
				stack = stack[:len(stack)-1]
				break
			}
			if stack[len(stack)-1] == '{' {
				if err := d.name(); err != nil {
					return err
				}
			}
			continue
		case c == '"':
			d.pos++
			if err := d.str(toNowhere); err != nil {
				return err
			}
		case c == 't':
			if err := d.literal("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := d.literal("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := d.literal("null"); err != nil {
				return err
			}
		case c == '-' || '0' <= c && c <= '9':
			if err := d.number(); err != nil {
				return err
			}
		default:
			return d.syntaxError()
		}
		// The end of a value: of the whole, or followed by a comma or by
		// the end of the array or object holding it.
		for {
			if len(stack) == 0 {
				return nil
			}
			c, ok := d.next()
			if !ok {
				return d.endError()
			}
			top := stack[len(stack)-1]
			if c == ',' {
				d.pos++
				if top == '{' {
					if err := d.name(); err != nil {
						return err
					}
				}
				break
			}
			if top == '{' && c == '}' || top == '[' && c == ']' {
				d.pos++
				stack = stack[:len(stack)-1]
				continue
			}
			return d.syntaxError()
		}
	}
}

// name consumes a member name and its colon, in a skipped object.
func (d *decoder) name() error {
	c, ok := d.next()
	if !ok {
		return d.endError()
	}
	if c != '"' {
		return d.syntaxError()
	}
	d.pos++
	if err := d.str(toNowhere); err != nil {
		return err
	}
	return d.colon()
}

// literal consumes true, false or null.
func (d *decoder) literal(word string) error {
	have := d.more(len(word))
	for k := 0; k < len(word); k++ {
		if d.pos >= d.end {
			if have {
				break
			}
			return d.endError()
		}
		if d.buf[d.pos] != word[k] {
			return d.syntaxError()
		}
		d.pos++
	}
	return nil
}

// number consumes a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() error {
	if d.peek() == '-' {
		d.pos++
	}
	switch c := d.peek(); {
	case c == '0':
		d.pos++
	case '1' <= c && c <= '9':
		d.digits()
	default:
		return d.numberError()
	}
	if d.peek() == '.' {
		d.pos++
		if !d.digits() {
			return d.numberError()
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.pos++
		if c := d.peek(); c == '+' || c == '-' {
			d.pos++
		}
		if !d.digits() {
			return d.numberError()
		}
	}
	return nil
}

// digits consumes digits and reports whether there was one.
func (d *decoder) digits() bool {
	n := 0
	for c := d.peek(); '0' <= c && c <= '9'; c = d.peek() {
		d.pos++
		n++
	}
	return n > 0
}

func (d *decoder) numberError() error {
	if d.pos >= d.end {
		return d.endError()
	}
	return d.syntaxError()
}

// peek returns the byte at pos, reading if need be, or 0 at the end.
func (d *decoder) peek() byte {
	if d.pos < d.end || d.more(1) {
		return d.buf[d.pos]
	}
	return 0
}

// next skips white space and returns the byte that follows, unconsumed;
// ok is false at the end of the input.
func (d *decoder) next() (c byte, ok bool) {
	for {
		for d.pos < d.end {
			switch c := d.buf[d.pos]; c {
			case ' ', '\t', '\n', '\r':
				d.pos++
			default:
				return c, true
			}
		}
		if !d.more(1) {
			return 0, false
		}
	}
}

// more makes at least n bytes available at pos unless the input ends or
// fails first, and reports whether they are.
func (d *decoder) more(n int) bool {
	for zeros := 0; d.end-d.pos < n; {
		if d.err != nil {
			return false
		}
		if d.pos > 0 {
			d.off += int64(d.pos)
			d.end = copy(d.buf, d.buf[d.pos:d.end])
			d.pos = 0
		}
		if d.end == len(d.buf) || d.filled && len(d.buf) < maxBuffer {
			buf := make([]byte, 2*len(d.buf))
			copy(buf, d.buf[:d.end])
			d.buf = buf
		}
		m, err := d.r.Read(d.buf[d.end:])
		d.filled = d.end+m == len(d.buf)
		d.end += m
		d.err = err
		if m == 0 && err == nil {
			if zeros++; zeros == 100 {
				d.err = io.ErrNoProgress
			}
		}
	}
	return true
}

// offset is the input offset of pos.
func (d *decoder) offset() int64 { return d.off + int64(d.pos) }

func (d *decoder) syntaxError() error {
	return errorf(Protocol, d.source, "malformed JSON at byte %d", d.offset()+1)
}

// endError reports input that ended or failed where more was needed. A
// read error keeps its text, which comes from the reader, not the data.
func (d *decoder) endError() error {
	var tooBig *TooBigError
	switch err := d.err; {
	case err == nil:
		// Only for a bug: more returned false without an error.
		return errorf(Protocol, d.source, "JSON ends early at byte %d", d.offset())
	case errors.Is(err, io.EOF):
		return errorf(Protocol, d.source, "JSON ends early at byte %d", d.offset())
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The reader, not the document, ended early: an HTTP body shorter
		// than its Content-Length, a chunked body cut off. Worth a retry.
		return errorf(Unavailable, d.source, "the answer broke off at byte %d", d.offset())
	case errors.As(err, &tooBig):
		return &Error{Kind: Protocol, Source: d.source, Err: tooBig}
	default:
		return &Error{Kind: Unavailable, Source: d.source, Err: fmt.Errorf("reading: %w", err)}
	}
}

// shorten cuts a key for a message: keys may be logged, but one of any
// length from a malformed document must not flood the log.
func shorten(key string) string {
	const most = 64
	if len(key) <= most {
		return key
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return key[:cut] + "…"
}

// describe names the type of the JSON value starting with c, without
// quoting its content, or returns "" if no value starts with c.
func describe(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == '-' || '0' <= c && c <= '9':
		return "a number"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	}
	return ""
}

// TooBigError reports input over MaxSize.
type TooBigError struct{ Limit int64 }

func (e *TooBigError) Error() string {
	return fmt.Sprintf("larger than the %d MiB limit", e.Limit>>20)
}

// limitReader returns r cut off after n bytes: reading byte n+1 fails with
// *TooBigError instead of returning a truncated document.
func limitReader(r io.Reader, n int64) io.Reader {
	return &limited{r: r, n: n, limit: n}
}

type limited struct {
	r     io.Reader
	n     int64 // bytes left
	limit int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, &TooBigError{Limit: l.limit}
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n + int(l.n), &TooBigError{Limit: l.limit}
	}
	return n, err
}
