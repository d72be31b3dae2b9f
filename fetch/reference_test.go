package fetch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// referenceDecode is the plain decoder Decode replaced, built on
// encoding/json's Decoder.Token and Decode: slow, but obviously right. The
// differential fuzz test holds Decode to it. It differs from the original
// in one way: numbers are json.Numbers, so that metadata such as 1e999,
// which does not fit a float64, is skipped rather than rejected.
func referenceDecode(r io.Reader, source string) ([]Secret, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, referenceError(source, dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errorf(Protocol, source, "want a JSON object, got %s", referenceDescribe(tok))
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
			return nil, referenceError(source, dec, err)
		}
		key := tok.(string) // object keys are always strings
		if key == "secrets" && !envelope {
			tok, err = dec.Token()
			if err != nil {
				return nil, referenceError(source, dec, err)
			}
			if d, ok := tok.(json.Delim); ok && d == '[' {
				if secrets, err = referenceEnvelope(dec, source); err != nil {
					return nil, err
				}
				envelope = true
				continue
			}
			if err := referenceSkip(dec, tok); err != nil {
				return nil, referenceError(source, dec, err)
			}
			if v, ok := tok.(string); ok {
				flat = append(flat, Secret{Key: key, Value: v, Source: source})
			} else if badShape == nil {
				badShape = errorf(Protocol, source, "member %q: want a string value, got %s", key, referenceDescribe(tok))
			}
			continue
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, referenceError(source, dec, err)
		}
		if envelope {
			// Other members of an envelope are metadata.
			if err := referenceSkip(dec, tok); err != nil {
				return nil, referenceError(source, dec, err)
			}
			continue
		}
		if v, ok := tok.(string); ok {
			flat = append(flat, Secret{Key: key, Value: v, Source: source})
			continue
		}
		if err := referenceSkip(dec, tok); err != nil {
			return nil, referenceError(source, dec, err)
		}
		if badShape == nil {
			badShape = errorf(Protocol, source, "member %q: want a string value, got %s", key, referenceDescribe(tok))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, referenceError(source, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return nil, errorf(Protocol, source, "unexpected data after the JSON object at byte %d", dec.InputOffset())
		}
		return nil, referenceError(source, dec, err)
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

// referenceSkip consumes the rest of a value whose first token was tok.
func referenceSkip(dec *json.Decoder, tok json.Token) error {
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

// referenceItem is one element of the envelope's "secrets" array.
type referenceItem struct {
	Key         *string `json:"key"`
	Value       *string `json:"value"`
	Description string  `json:"description"`
}

// referenceEnvelope reads the elements of the "secrets" array, whose opening
// bracket has been consumed, and its closing bracket.
func referenceEnvelope(dec *json.Decoder, source string) ([]Secret, error) {
	var secrets []Secret
	for i := 0; dec.More(); i++ {
		var item referenceItem
		if err := dec.Decode(&item); err != nil {
			return nil, referenceError(source, dec, err)
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
		return nil, referenceError(source, dec, err)
	}
	return secrets, nil
}

// referenceError turns a JSON error into a Protocol error that quotes nothing
// from the input.
func referenceError(source string, dec *json.Decoder, err error) error {
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
		return errorf(Protocol, source, "%s at byte %d: want %s, got a JSON %s", field, typ.Offset, typ.Type, typ.Value)
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

// referenceDescribe names a JSON token's type without quoting its content.
func referenceDescribe(tok json.Token) string {
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
