package fetch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
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
func Decode(r io.Reader, source string) ([]Secret, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber() // a number is an error here; never parse one into a message
	tok, err := dec.Token()
	if err != nil {
		return nil, decodeError(source, dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errorf(Protocol, source, "want a JSON object, got %s", describe(tok))
	}
	var (
		flat     []Secret
		secrets  []Secret // the envelope's
		envelope bool
		badShape error // a non-string member, fatal unless this is an envelope
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, decodeError(source, dec, err)
		}
		key := tok.(string) // object keys are always strings
		if key == "secrets" && !envelope {
			tok, err = dec.Token()
			if err != nil {
				return nil, decodeError(source, dec, err)
			}
			if d, ok := tok.(json.Delim); ok && d == '[' {
				if secrets, err = decodeEnvelope(dec, source); err != nil {
					return nil, err
				}
				envelope = true
				continue
			}
			if err := skip(dec, tok); err != nil {
				return nil, decodeError(source, dec, err)
			}
			if v, ok := tok.(string); ok {
				flat = append(flat, Secret{Key: key, Value: v, Source: source})
			} else if badShape == nil {
				badShape = errorf(Protocol, source, "member %q: want a string value, got %s", key, describe(tok))
			}
			continue
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, decodeError(source, dec, err)
		}
		if envelope {
			// Other members of an envelope are metadata.
			if err := skip(dec, tok); err != nil {
				return nil, decodeError(source, dec, err)
			}
			continue
		}
		if v, ok := tok.(string); ok {
			flat = append(flat, Secret{Key: key, Value: v, Source: source})
			continue
		}
		if err := skip(dec, tok); err != nil {
			return nil, decodeError(source, dec, err)
		}
		if badShape == nil {
			badShape = errorf(Protocol, source, "member %q: want a string value, got %s", key, describe(tok))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, decodeError(source, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return nil, errorf(Protocol, source, "unexpected data after the JSON object at byte %d", dec.InputOffset())
		}
		return nil, decodeError(source, dec, err)
	}
	if envelope {
		// Other members of an envelope object are metadata.
		return secrets, nil
	}
	if badShape != nil {
		return nil, badShape
	}
	return flat, nil
}

// skip consumes the rest of a value whose first token was tok.
func skip(dec *json.Decoder, tok json.Token) error {
	d, ok := tok.(json.Delim)
	if !ok || d == '}' || d == ']' {
		return nil
	}
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// envelopeItem is one element of the envelope's "secrets" array.
type envelopeItem struct {
	Key         *string `json:"key"`
	Value       *string `json:"value"`
	Description string  `json:"description"`
}

// decodeEnvelope reads the elements of the "secrets" array, whose opening
// bracket has been consumed, and its closing bracket.
func decodeEnvelope(dec *json.Decoder, source string) ([]Secret, error) {
	var secrets []Secret
	for i := 0; dec.More(); i++ {
		var item envelopeItem
		if err := dec.Decode(&item); err != nil {
			return nil, decodeError(source, dec, err)
		}
		if item.Key == nil {
			return nil, errorf(Protocol, source, "secrets[%d]: no key", i)
		}
		s := Secret{Key: *item.Key, Description: item.Description, Source: source}
		if item.Value != nil { // a null value is a registered key without one
			s.Value = *item.Value
		}
		secrets = append(secrets, s)
	}
	if _, err := dec.Token(); err != nil {
		return nil, decodeError(source, dec, err)
	}
	return secrets, nil
}

// decodeError turns a JSON error into a Protocol error that quotes nothing
// from the input.
func decodeError(source string, dec *json.Decoder, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return errorf(Protocol, source, "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "value"
		}
		// Value can hold the literal ("number 1e999"): keep its first word.
		kind, _, _ := strings.Cut(typ.Value, " ")
		return errorf(Protocol, source, "%s at byte %d: want %s, got a JSON %s", field, typ.Offset, typ.Type, kind)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(Protocol, source, "JSON ends early at byte %d", dec.InputOffset())
	}
	var tooBig *TooBigError
	if errors.As(err, &tooBig) {
		return &Error{Kind: Protocol, Source: source, Err: tooBig}
	}
	// A read error: keep its text, which comes from the reader, not the data.
	return &Error{Kind: Unavailable, Source: source, Err: fmt.Errorf("reading: %w", err)}
}

// describe names a JSON token's type without quoting its content.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return "a " + string(v)
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "something else"
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
