package fetch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/secretexec/secretexec/internal/redact"
)

// Decode reads secrets in either shape the store and files use: the envelope
// {"secrets":[{"key":"K","value":"V","description":"D"}, …]} or a flat
// object {"K":"V", …}. An object with a "secrets" member holding an array
// is the envelope, and its other members are metadata (a total, a cursor),
// ignored; any other object must be flat, with string values only. Keys
// appear in the result as often and in the order the input holds them.
// source names the input in errors and in each Secret.
//
// In the envelope, an item's "value" may be null or missing (a key
// registered without a value), its "key" may not, and the member names
// match regardless of case, as encoding/json matches struct fields. An
// object made only of "message", "error" and "statusCode" members is an
// error sent with a success status, not secrets.
//
// Errors never quote the input, since the text around a fault may be a
// secret value: a malformed document is reported by byte offset, and only
// a key name may be shown, as redact.Key cuts it. r is read as the value
// is decoded, never further than the end of the document and what follows
// it; the caller bounds how much that may be.
func Decode(r io.Reader, source string) ([]Secret, error) {
	in := &input{r: r}
	d := &decoder{json: json.NewDecoder(in), in: in, source: source}
	d.json.UseNumber() // metadata such as 1e999 is skipped, not refused
	secrets, err := d.document()
	if err != nil {
		return nil, err
	}
	return secrets, nil
}

// An input records the first error its reader returned other than io.EOF,
// to tell a reader that failed from a document that is malformed or cut
// short: json.Decoder reports both as they come.
type input struct {
	r   io.Reader
	err error
}

func (in *input) Read(p []byte) (int, error) {
	n, err := in.r.Read(p)
	if err != nil && err != io.EOF && in.err == nil {
		in.err = err
	}
	return n, err
}

// A decoder is one pass over a document.
type decoder struct {
	json   *json.Decoder
	in     *input
	source string
}

// item is one element of the envelope's "secrets" array. The pointers
// tell a missing or null key or value from an empty one.
type item struct {
	Key         *string `json:"key"`
	Value       *string `json:"value"`
	Description string  `json:"description"`
}

// skipped is a JSON value that is checked and dropped.
type skipped struct{}

func (*skipped) UnmarshalJSON([]byte) error { return nil }

// errorFields are the members of an error body, as an API gateway or a
// proxy sends it, sometimes with a success status.
var errorFields = []string{"message", "error", "statusCode"}

func (d *decoder) document() ([]Secret, error) {
	tok, err := d.json.Token()
	if err != nil {
		return nil, d.fail(err)
	}
	if tok != json.Delim('{') {
		return nil, errorf(Protocol, d.source, "want a JSON object, got %s", describe(tok))
	}
	var (
		flat, items []Secret
		envelope    bool
		badShape    error // a member that is not a string, fatal unless this is an envelope
		members     int
		onlyErrors  = true // every member so far is one of errorFields
		// value is decoded into, not replaced, by every string value;
		// null sets it to nil.
		value *string
	)
	for d.json.More() {
		tok, err := d.json.Token()
		if err != nil {
			return nil, d.fail(err)
		}
		key := tok.(string) // json.Decoder returns member names as strings
		members++
		onlyErrors = onlyErrors && slices.Contains(errorFields, key)
		if envelope {
			// Other members of an envelope are metadata.
			if err := d.skip(); err != nil {
				return nil, err
			}
			continue
		}
		if key == "secrets" {
			// The one member whose value's type decides the shape.
			tok, err := d.json.Token()
			if err != nil {
				return nil, d.fail(err)
			}
			switch tok {
			case json.Delim('['):
				if items, err = d.envelope(); err != nil {
					return nil, err
				}
				envelope, flat = true, nil
			case json.Delim('{'):
				if err := d.skipRest(); err != nil {
					return nil, err
				}
			}
			if s, ok := tok.(string); ok {
				flat = add(flat, Secret{Key: key, Value: s, Source: d.source})
			} else if !envelope && badShape == nil {
				badShape = d.shapeError(key, describe(tok))
			}
			continue
		}
		if value == nil {
			value = new(string)
		}
		if err := d.json.Decode(&value); err != nil {
			var typ *json.UnmarshalTypeError
			if !errors.As(err, &typ) {
				return nil, d.fail(err)
			}
			if badShape == nil {
				badShape = d.shapeError(key, kind(typ))
			}
			continue
		}
		if value == nil {
			if badShape == nil {
				badShape = d.shapeError(key, "null")
			}
			continue
		}
		flat = add(flat, Secret{Key: key, Value: *value, Source: d.source})
	}
	if _, err := d.json.Token(); err != nil { // the closing brace
		return nil, d.fail(err)
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	switch {
	case envelope:
		return items, nil
	case members > 0 && onlyErrors:
		return nil, errorf(Protocol, d.source, "an error body (only message, error or statusCode members), not secrets")
	case badShape != nil:
		return nil, badShape
	}
	return flat, nil
}

// envelope reads the items of the "secrets" array, whose opening bracket
// has been read, and its closing bracket.
func (d *decoder) envelope() ([]Secret, error) {
	var (
		secrets []Secret
		it      item
	)
	for i := 0; d.json.More(); i++ {
		it = item{}
		start := d.json.InputOffset()
		if err := d.json.Decode(&it); err != nil {
			var typ *json.UnmarshalTypeError
			if !errors.As(err, &typ) {
				return nil, d.fail(err)
			}
			if field := typ.Field; field == "key" || field == "value" || field == "description" {
				return nil, errorf(Protocol, d.source, "secrets[%d]: %s at byte %d: want a string, got %s",
					i, field, start+typ.Offset, kind(typ))
			}
			return nil, errorf(Protocol, d.source, "secrets[%d]: want an object, got %s", i, kind(typ))
		}
		if it.Key == nil {
			return nil, errorf(Protocol, d.source, "secrets[%d]: no key", i)
		}
		s := Secret{Key: *it.Key, Description: it.Description, Source: d.source}
		if it.Value != nil {
			s.Value = *it.Value
		}
		secrets = add(secrets, s)
	}
	if _, err := d.json.Token(); err != nil { // the closing bracket
		return nil, d.fail(err)
	}
	return secrets, nil
}

// add appends s to list, doubling its capacity when full. append grows a
// long slice by a quarter at a time, and every step is a copy that stays
// allocated until the collector runs, which a run may never do: at 16 MiB
// of input that was several times the input in dropped copies.
func add(list []Secret, s Secret) []Secret {
	if len(list) == cap(list) {
		list = slices.Grow(list, max(len(list), 8))
	}
	return append(list, s)
}

// skip reads and drops one value, checking its syntax.
func (d *decoder) skip() error {
	if err := d.json.Decode(&skipped{}); err != nil {
		return d.fail(err)
	}
	return nil
}

// skipRest reads and drops the members of an object whose opening brace
// has been read, and its closing brace.
func (d *decoder) skipRest() error {
	for d.json.More() {
		if _, err := d.json.Token(); err != nil {
			return d.fail(err)
		}
		if err := d.skip(); err != nil {
			return err
		}
	}
	if _, err := d.json.Token(); err != nil {
		return d.fail(err)
	}
	return nil
}

// end checks that nothing but white space follows the document, and
// that the reader did not fail after the decoder had what it needed.
func (d *decoder) end() error {
	offset := d.json.InputOffset()
	rest := io.MultiReader(d.json.Buffered(), d.in)
	var buf [512]byte
	for d.in.err == nil {
		n, err := rest.Read(buf[:])
		for _, c := range buf[:n] {
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				return errorf(Protocol, d.source, "unexpected data after the JSON object at byte %d", offset)
			}
			offset++
		}
		if err == io.EOF {
			return nil
		}
	}
	return readError(d.source, d.in.err, offset)
}

// shapeError reports a flat member whose value is not a string.
func (d *decoder) shapeError(key, got string) error {
	return errorf(Protocol, d.source, "member \"%s\": want a string value, got %s", redact.Key(key), got)
}

// fail turns an error of json.Decoder into an *Error that quotes nothing
// from the input: a *json.SyntaxError's message quotes the character it
// stopped at, so only its offset is kept.
func (d *decoder) fail(err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		// The offset of a value that json.Decoder.Decode read counts
		// from where Token last left off; the decoder's own is past the
		// last token read. The larger is the nearer.
		offset := max(syntax.Offset, d.json.InputOffset()+1)
		if strings.Contains(syntax.Error(), "exceeded max depth") {
			return errorf(Protocol, d.source, "JSON nested too deeply at byte %d", offset)
		}
		return errorf(Protocol, d.source, "malformed JSON at byte %d", offset)
	}
	if d.in.err != nil && (errors.Is(err, d.in.err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		// The reader failed, not the document. Its error's text comes
		// from the reader, not the data.
		return readError(d.source, d.in.err, d.json.InputOffset())
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errorf(Protocol, d.source, "JSON ends early at byte %d", d.json.InputOffset())
	}
	return readError(d.source, err, d.json.InputOffset())
}

// readError reports a reader that failed at offset: over the budget (76),
// cut short (69, worth a retry), or failing otherwise (69).
func readError(source string, err error, offset int64) error {
	var tooBig *TooBigError
	switch {
	case errors.As(err, &tooBig):
		return &Error{Kind: Protocol, Source: source, Err: tooBig}
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The reader, not the document, ended early: an HTTP body shorter
		// than its Content-Length, a chunked body cut off.
		return errorf(Unavailable, source, "the answer broke off near byte %d", offset)
	}
	return &Error{Kind: Unavailable, Source: source, Err: fmt.Errorf("reading: %w", err)}
}

// describe names the type of a JSON token without quoting its content.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// kind names the JSON type an *json.UnmarshalTypeError found. Its Value
// may go on to quote a number, so only the first word is read.
func kind(e *json.UnmarshalTypeError) string {
	word, _, _ := strings.Cut(e.Value, " ")
	switch word {
	case "array":
		return "an array"
	case "object":
		return "an object"
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "a boolean"
	}
	return "another type"
}
