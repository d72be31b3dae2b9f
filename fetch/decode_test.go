package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Secret // Source ignored
		kind Kind     // of the error, when there is one
	}{
		{"flat", `{"A":"1","B":"2"}`, []Secret{{Key: "A", Value: "1"}, {Key: "B", Value: "2"}}, 0},
		{"flat empty", `{}`, nil, 0},
		{"flat empty value", `{"A":""}`, []Secret{{Key: "A"}}, 0},
		{"flat unicode escapes", `{"A":"\u00e9\n"}`, []Secret{{Key: "A", Value: "é\n"}}, 0},
		{"envelope", `{"secrets":[{"key":"A","value":"1","description":"d"}]}`, []Secret{{Key: "A", Value: "1", Description: "d"}}, 0},
		{"envelope empty", `{"secrets":[]}`, nil, 0},
		{"envelope null value", `{"secrets":[{"key":"A","value":null}]}`, []Secret{{Key: "A"}}, 0},
		{"envelope no value", `{"secrets":[{"key":"A"}]}`, []Secret{{Key: "A"}}, 0},
		{"envelope metadata", `{"total":2,"secrets":[{"key":"A","value":"1"}],"next":null,"org":"x"}`, []Secret{{Key: "A", Value: "1"}}, 0},
		{"flat key named secrets", `{"secrets":"s","B":"b"}`, []Secret{{Key: "secrets", Value: "s"}, {Key: "B", Value: "b"}}, 0},
		{"whitespace around", " \n{\"A\":\"1\"}\n ", []Secret{{Key: "A", Value: "1"}}, 0},
		{"array", `[]`, nil, Protocol},
		{"string", `"x"`, nil, Protocol},
		{"flat number", `{"A":1}`, nil, Protocol},
		{"flat object", `{"A":{"b":"c"}}`, nil, Protocol},
		{"secrets object", `{"secrets":{"A":"1"}}`, nil, Protocol},
		{"envelope bad item", `{"secrets":[1]}`, nil, Protocol},
		{"envelope value number", `{"secrets":[{"key":"A","value":1}]}`, nil, Protocol},
		{"envelope no key", `{"secrets":[{"value":"v"}]}`, nil, Protocol},
		{"truncated", `{"A":"1"`, nil, Protocol},
		{"trailing garbage", `{"A":"1"} x`, nil, Protocol},
		{"two objects", `{"A":"1"}{"B":"2"}`, nil, Protocol},
		{"empty input", ``, nil, Protocol},
		{"html", `<html>502</html>`, nil, Protocol},
		{"bom", "\ufeff{}", nil, Protocol},
		{"escapes", `{"A":"\"\\\/\b\f\n\r\t"}`, []Secret{{Key: "A", Value: "\"\\/\b\f\n\r\t"}}, 0},
		{"escaped key", `{"\u0041":"1"}`, []Secret{{Key: "A", Value: "1"}}, 0},
		{"surrogate pair", `{"A":"\ud83d\ude00"}`, []Secret{{Key: "A", Value: "😀"}}, 0},
		{"lone high surrogate", `{"A":"\ud83dx"}`, []Secret{{Key: "A", Value: "\ufffdx"}}, 0},
		{"lone low surrogate", `{"A":"\ude00"}`, []Secret{{Key: "A", Value: "\ufffd"}}, 0},
		{"high then escape", `{"A":"\ud83d\u0041"}`, []Secret{{Key: "A", Value: "\ufffdA"}}, 0},
		{"invalid UTF-8", "{\"A\":\"a\xffb\xe2\x82\"}", []Secret{{Key: "A", Value: "a\ufffdb\ufffd\ufffd"}}, 0},
		{"multi-byte UTF-8", `{"ключ":"значение"}`, []Secret{{Key: "ключ", Value: "значение"}}, 0},
		{"envelope names ignore case", `{"secrets":[{"KEY":"A","Value":"1","DESCRIPTION":"d"}]}`, []Secret{{Key: "A", Value: "1", Description: "d"}}, 0},
		{"envelope escaped name", `{"secr\u0065ts":[{"k\u0065y":"A"}]}`, []Secret{{Key: "A"}}, 0},
		{"envelope last member wins", `{"secrets":[{"key":"A","value":"1","value":null,"description":"d","description":null}]}`, []Secret{{Key: "A", Description: "d"}}, 0},
		{"envelope key null", `{"secrets":[{"key":"A","key":null}]}`, nil, Protocol},
		{"envelope null item", `{"secrets":[null]}`, nil, Protocol},
		{"envelope other members", `{"secrets":[{"key":"A","created":{"at":[1,2.5e-3,true,false,null,"x"]},"value":"1"}]}`, []Secret{{Key: "A", Value: "1"}}, 0},
		{"envelope duplicates kept", `{"secrets":[{"key":"A","value":"1"},{"key":"A","value":"2"}]}`, []Secret{{Key: "A", Value: "1"}, {Key: "A", Value: "2"}}, 0},
		{"second secrets is metadata", `{"secrets":[{"key":"A"}],"secrets":"x"}`, []Secret{{Key: "A"}}, 0},
		{"flat before envelope dropped", `{"B":"2","secrets":[{"key":"A"}]}`, []Secret{{Key: "A"}}, 0},
		{"bad shape before envelope", `{"B":2,"secrets":[]}`, nil, 0},
		{"huge number in metadata", `{"total":1e999,"secrets":[]}`, nil, 0},
		{"bad number", `{"total":01,"secrets":[]}`, nil, Protocol},
		{"bad literal", `{"secrets":[],"next":nul}`, nil, Protocol},
		{"control character", "{\"A\":\"a\tb\"}", nil, Protocol},
		{"bad escape", `{"A":"\x"}`, nil, Protocol},
		{"bad hex", `{"A":"\u12g4"}`, nil, Protocol},
		{"bad hex after high surrogate", `{"A":"\ud83d\u12g4"}`, nil, Protocol},
		{"trailing comma", `{"A":"1",}`, nil, Protocol},
		{"missing colon", `{"A" "1"}`, nil, Protocol},
		{"truncated envelope", `{"secrets":[{"key":"A"`, nil, Protocol},
		{"truncated escape", `{"A":"\u00`, nil, Protocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(strings.NewReader(tt.in), "src")
			// A byte at a time, every value crosses a buffer boundary.
			got1, err1 := Decode(iotest.OneByteReader(strings.NewReader(tt.in)), "src")
			if !reflect.DeepEqual(got, got1) || (err == nil) != (err1 == nil) {
				t.Errorf("a byte at a time: %+v, %v; want %+v, %v", got1, err1, got, err)
			}
			if tt.kind != 0 {
				var fe *Error
				if !errors.As(err, &fe) || fe.Kind != tt.kind {
					t.Fatalf("Decode error = %v; want kind %d", err, tt.kind)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v; want %+v", got, tt.want)
			}
			for i := range got {
				if got[i].Source != "src" {
					t.Errorf("source = %q; want src", got[i].Source)
				}
				got[i].Source = ""
				if got[i] != tt.want[i] {
					t.Errorf("secret %d = %+v; want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestDecodeErrorsQuoteNothing feeds malformed documents holding a canary
// and checks that no error repeats it.
func TestDecodeErrorsQuoteNothing(t *testing.T) {
	for _, in := range []string{
		`{"A":"canary-x`,
		`{"A":"canary-x" "B"}`,
		`{"A":canary-x}`,
		`{"secrets":[{"key":"A","value":"canary-x"},{"key":canary}]}`,
		`{"secrets":[{"key":"A","value":["canary-x"]}]}`,
		`canary-x`,
		`{"PIN": 31415e99999}`,
		`{"secrets":[{"key":"PIN","value":31415e99999}]}`,
		`{"secrets":[{"key":"PIN","value":{"canary":1}}]}`,
		"{\"A\":\"canary-x\xff\"}garbage",
	} {
		_, err := Decode(strings.NewReader(in), "src")
		if err == nil {
			t.Errorf("Decode(%q): no error", in)
			continue
		}
		if strings.Contains(err.Error(), "canary") || strings.Contains(err.Error(), "31415") {
			t.Errorf("Decode(%q) error quotes the input: %v", in, err)
		}
	}
}

func TestDecodeReadErrors(t *testing.T) {
	const doc = `{"secrets":[{"key":"A","value":"1"}]}`
	tests := []struct {
		name string
		r    io.Reader
		kind Kind
	}{
		{"error with the last data", iotest.DataErrReader(strings.NewReader(doc)), 0},
		{"timeout midway", io.MultiReader(strings.NewReader(doc[:20]), iotest.ErrReader(iotest.ErrTimeout)), Unavailable},
		{"cut short", io.MultiReader(strings.NewReader(doc[:20]), iotest.ErrReader(io.ErrUnexpectedEOF)), Unavailable},
		{"document ends early", strings.NewReader(doc[:20]), Protocol},
		{"error after the end", io.MultiReader(strings.NewReader(doc), iotest.ErrReader(iotest.ErrTimeout)), Unavailable},
		{"too big", limitReader(strings.NewReader(doc), 20), Protocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.r, "src")
			if tt.kind == 0 {
				if err != nil || len(got) != 1 {
					t.Fatalf("Decode = %+v, %v; want one secret", got, err)
				}
				return
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.Kind != tt.kind {
				t.Fatalf("Decode error = %v; want kind %d", err, tt.kind)
			}
		})
	}
}

// TestDecodeLarge decodes documents larger than the buffer, of known and
// unknown size, in both shapes.
func TestDecodeLarge(t *testing.T) {
	for _, doc := range [][]byte{envelopeDoc(5000), flatDoc(5000)} {
		for _, size := range []int64{0, int64(len(doc)), 100} {
			got, err := decodeSized(bytes.NewReader(doc), "src", size)
			if err != nil || len(got) != 5000 {
				t.Fatalf("size %d: %d secrets, %v", size, len(got), err)
			}
			if got[4321].Key != "SECRET_04321" || got[4321].Value != fmt.Sprintf("v%08x-%030x", 4321, 4321*7919) {
				t.Fatalf("size %d: secret 4321 = %+v", size, got[4321])
			}
		}
	}
}

func TestLimit(t *testing.T) {
	body := `{"A":"` + strings.Repeat("x", 100) + `"}`
	_, err := Decode(limitReader(strings.NewReader(body), 50), "src")
	var fe *Error
	var big *TooBigError
	if !errors.As(err, &fe) || fe.Kind != Protocol || !errors.As(err, &big) {
		t.Fatalf("error = %v; want a Protocol *TooBigError", err)
	}
	// Exactly at the limit is fine.
	if _, err := Decode(limitReader(strings.NewReader(body), int64(len(body))), "src"); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	n, err := io.Copy(io.Discard, limitReader(strings.NewReader("12345"), 4))
	if n != 4 || !errors.As(err, &big) {
		t.Fatalf("copy = %d, %v; want 4 bytes and *TooBigError", n, err)
	}
}

func TestFileTooBig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxSize + 1); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	f.Close()
	_, err = (&File{Path: path}).Fetch(context.Background())
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != Protocol {
		t.Fatalf("error = %v; want Protocol", err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "K"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, filepath.Join(filepath.Dir(path), "BIG")); err != nil {
		t.Fatal(err)
	}
	_, err = (&Dir{Path: filepath.Dir(path)}).Fetch(context.Background())
	if !errors.As(err, &fe) || fe.Kind != Protocol {
		t.Fatalf("dir error = %v; want Protocol", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"A":"1"}`, `{}`, `{"secrets":[]}`, `{"secrets":[{"key":"A","value":"v","description":"d"}]}`,
		`{"secrets":[{"key":"A","value":null}],"total":1}`, `{"secrets":"x"}`, `[1]`, `{"A":1}`,
		`{"A":"\u0000"}`, `{"A=B":"v"}`, `{"secrets":[{"key":"A"},{"key":"B","value":"2"}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		secrets, err := Decode(strings.NewReader(in), "src")
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *fetch.Error", err)
			}
			return
		}
		for _, s := range secrets {
			if s.Source != "src" {
				t.Fatalf("secret without its source: %+v", s)
			}
		}
	})
}

// FuzzDecodeReference holds Decode to referenceDecode, the plain decoder
// built on encoding/json that it replaced: the same secrets, or an error
// of the same kind, for any input, read whole or a byte at a time.
func FuzzDecodeReference(f *testing.F) {
	for _, s := range []string{
		`{"A":"1"}`, `{}`, `{"secrets":[]}`, `{"secrets":[{"key":"A","value":"v","description":"d"}]}`,
		`{"secrets":[{"key":"A","value":null}],"total":1}`, `{"secrets":"x"}`, `[1]`, `{"A":1}`,
		`{"A":"\ud83d\ude00\ud800\u0041\udc00"}`, "{\"A\":\"\xff\xe2\x82\xed\xa0\x80\"}",
		`{"secrets":[{"KEY":"A","vAlUe":"1","description":null,"x":[{"y":[]}]}],"next":{"a":[-0.5e+3]}}`,
		`{"secrets":[{"key":"A","key":null}]}`, `{"secrets":[null]}`, `{"B":2,"secrets":[]}`,
		`{"secrets":1,"secrets":[{"key":"A"}]}`, `{"total":1e999,"secrets":[]}`, `{"A":"1"} `, `{"A":"1"} x`,
		`{"secrets":[{"key":"\u212aey"}]}`, `{"secrets":[{"\u212aey":"A"}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, wantErr := referenceDecode(strings.NewReader(in), "src")
		for _, r := range []io.Reader{strings.NewReader(in), iotest.OneByteReader(strings.NewReader(in))} {
			got, err := Decode(r, "src")
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("Decode(%q) error = %v; reference error = %v", in, err, wantErr)
			}
			if err != nil {
				var fe, wfe *Error
				if !errors.As(err, &fe) || !errors.As(wantErr, &wfe) || fe.Kind != wfe.Kind {
					t.Fatalf("Decode(%q) error = %v; reference error = %v", in, err, wantErr)
				}
				continue
			}
			if len(got) != len(want) || len(got) > 0 && !reflect.DeepEqual(got, want) {
				t.Fatalf("Decode(%q) = %+v; reference = %+v", in, got, want)
			}
		}
	})
}
