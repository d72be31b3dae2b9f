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
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/secretexec/secretexec/internal/redact"
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
		{"flat null", `{"A":null}`, nil, Protocol},
		{"flat boolean", `{"A":true}`, nil, Protocol},
		{"flat array", `{"A":["x"]}`, nil, Protocol},
		{"flat duplicates kept", `{"A":"1","B":"2","A":"3"}`, []Secret{{Key: "A", Value: "1"}, {Key: "B", Value: "2"}, {Key: "A", Value: "3"}}, 0},
		{"flat null after a string", `{"A":"1","B":null,"C":"3"}`, nil, Protocol},
		{"secrets null", `{"secrets":null}`, nil, Protocol},
		{"secrets object then envelope", `{"secrets":{"a":[1]},"secrets":[{"key":"A"}]}`, []Secret{{Key: "A"}}, 0},
		{"envelope item string", `{"secrets":["A"]}`, nil, Protocol},
		{"envelope item array", `{"secrets":[["A"]]}`, nil, Protocol},
		{"envelope description number", `{"secrets":[{"key":"A","description":1}]}`, nil, Protocol},
		{"envelope nested too deeply", `{"secrets":[{"key":"A","x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}]}`, nil, Protocol},
		{"metadata nested deeply", `{"secrets":[],"x":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `}`, nil, 0},
		{"trailing white space", "{\"A\":\"1\"} \t\r\n", []Secret{{Key: "A", Value: "1"}}, 0},
		{"trailing null", `{"A":"1"}null`, nil, Protocol},
		{"trailing brace", `{"A":"1"}}`, nil, Protocol},
		// An error sent with a success status is not secrets.
		{"error body message", `{"message":"rate limited"}`, nil, Protocol},
		{"error body all three", `{"statusCode":429,"error":"Too Many Requests","message":"slow down"}`, nil, Protocol},
		{"error body error object", `{"error":{"code":1}}`, nil, Protocol},
		{"message among secrets", `{"message":"hi","A":"1"}`, []Secret{{Key: "message", Value: "hi"}, {Key: "A", Value: "1"}}, 0},
		{"message in envelope", `{"secrets":[{"key":"A"}],"message":"ok"}`, []Secret{{Key: "A"}}, 0},
		{"message as a key in envelope", `{"secrets":[{"key":"message","value":"v"}]}`, []Secret{{Key: "message", Value: "v"}}, 0},
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
// and checks that no error repeats it, and that a key name is shown only
// as redact.Key cuts it.
func TestDecodeErrorsQuoteNothing(t *testing.T) {
	long := strings.Repeat("K", 500)
	for _, tt := range []struct {
		in   string
		want string // in the error, if not ""
	}{
		{`{"A":"canary-x`, ""},
		{`{"A":"canary-x" "B"}`, ""},
		{`{"A":canary-x}`, ""},
		{`{"secrets":[{"key":"A","value":"canary-x"},{"key":canary}]}`, ""},
		{`{"secrets":[{"key":"A","value":["canary-x"]}]}`, "secrets[0]: value at byte"},
		{`canary-x`, ""},
		{`{"PIN": 31415e99999}`, `member "PIN": want a string value, got a number`},
		{`{"secrets":[{"key":"PIN","value":31415e99999}]}`, "want a string, got a number"},
		{`{"secrets":[{"key":"PIN","value":{"canary":1}}]}`, "got an object"},
		{`{"secrets":[31415e99999]}`, "secrets[0]: want an object, got a number"},
		{"{\"A\":\"canary-x\xff\"}garbage", "unexpected data after the JSON object at byte 17"},
		{`{"message":"canary-x","error":"canary-y"}`, "an error body"},
		{`{"A=canary-x":1}`, `member "A=…"`},
		{`{"=canary-x":1}`, `member "=…"`},
		{`{"A\u001b]0;canary\u0007\n":1}`, `member "A\x1b]0;canary\a\n"`},
		{`{"` + long + `=canary-x":1}`, `member "` + long[:64] + `…=…"`},
		{`{"` + long + `":1}`, `member "` + long[:64] + `…"`},
		{`{"\u2028A":1}`, `member "\u2028A"`},
	} {
		_, err := Decode(strings.NewReader(tt.in), "src")
		if err == nil {
			t.Errorf("Decode(%.60q): no error", tt.in)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) {
			t.Errorf("Decode(%.60q) error = %q; want it to hold %q", tt.in, msg, tt.want)
		}
		// A canary may show only inside a key name, escaped; never in
		// a value, after '=' or beyond the cut.
		if strings.Contains(msg, "canary-") || strings.Contains(msg, "31415") || strings.Contains(msg, long[:65]) {
			t.Errorf("Decode(%.60q) error quotes the input: %v", tt.in, err)
		}
		if p := redact.Printable(msg); p != msg {
			t.Errorf("Decode(%.60q) error holds a control character: %q", tt.in, msg)
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

// TestDecodeLarge decodes documents far larger than the decoder's
// buffers, in both shapes, from memory and from a file.
func TestDecodeLarge(t *testing.T) {
	for _, doc := range [][]byte{envelopeDoc(5000), flatDoc(5000)} {
		path := filepath.Join(t.TempDir(), "secrets.json")
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		fromFile, err := (&File{Path: path}).Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range [][]Secret{mustDecode(t, doc), fromFile} {
			if len(got) != 5000 {
				t.Fatalf("%d secrets; want 5000", len(got))
			}
			if got[4321].Key != "SECRET_04321" || got[4321].Value != fmt.Sprintf("v%08x-%030x", 4321, 4321*7919) {
				t.Fatalf("secret 4321 = %+v", got[4321])
			}
		}
	}
}

func mustDecode(t *testing.T, doc []byte) []Secret {
	t.Helper()
	secrets, err := Decode(bytes.NewReader(doc), "src")
	if err != nil {
		t.Fatal(err)
	}
	return secrets
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
	if got, want := (&TooBigError{Limit: MaxSize}).Error(), "larger than the 16 MiB limit"; got != want {
		t.Errorf("error = %q; want %q", got, want)
	}
	if got, want := (&TooBigError{Limit: MaxSize, AllSources: true}).Error(), "larger than the 16 MiB limit on all sources together"; got != want {
		t.Errorf("error = %q; want %q", got, want)
	}
}

// TestBudget checks that the sources of one fetch share one limit: each
// fits on its own, together they do not.
func TestBudget(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	doc := `{"A":"` + strings.Repeat("x", 40) + `"}` // 48 bytes
	a, b := write("a.json", doc), write("b.json", doc)
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	write("d/K1", strings.Repeat("y", 30))
	write("d/K2", strings.Repeat("y", 30))
	withLimit := func(n int64) context.Context {
		return context.WithValue(context.Background(), budgetKey{}, newBudget(n))
	}
	tests := []struct {
		name    string
		limit   int64
		sources []Source
		all     bool // the error is about all sources together
	}{
		{"two files", 80, []Source{&File{Path: a}, &File{Path: b}}, true},
		{"one file too big alone", 40, []Source{&File{Path: a}}, false},
		{"file and dir", 100, []Source{&File{Path: a}, &Dir{Path: filepath.Join(dir, "d")}}, true},
		{"dir alone", 50, []Source{&Dir{Path: filepath.Join(dir, "d")}}, true},
		{"pipe", 80, []Source{&File{Path: a}, &File{Path: "/dev/stdin"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "pipe" {
				// A file of unknown size is cut off while read.
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				go func() { w.WriteString(doc); w.Close() }()
				tt.sources[1] = &File{Path: fmt.Sprintf("/dev/fd/%d", r.Fd())}
				defer r.Close()
			}
			_, err := All(withLimit(tt.limit), tt.sources)
			var fe *Error
			var big *TooBigError
			if !errors.As(err, &fe) || fe.Kind != Protocol || !errors.As(err, &big) || big.AllSources != tt.all {
				t.Fatalf("error = %v; want a Protocol *TooBigError, AllSources %v", err, tt.all)
			}
			if big.Limit != tt.limit {
				t.Errorf("limit = %d; want %d", big.Limit, tt.limit)
			}
		})
	}
	// The same sources within the limit.
	got, err := All(withLimit(200), []Source{&File{Path: a}, &File{Path: b}, &Dir{Path: filepath.Join(dir, "d")}})
	if err != nil || len(got) != 3 {
		t.Fatalf("within the limit: %+v, %v", got, err)
	}
}

// TestAllSharesMaxSize fetches two files that each fit in MaxSize and
// together do not: the second is refused, rather than both held in memory.
func TestAllSharesMaxSize(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 20 MiB")
	}
	dir := t.TempDir()
	var sources []Source
	for _, name := range []string{"a.json", "b.json"} {
		path := filepath.Join(dir, name)
		doc := `{"A":"` + strings.Repeat("x", 10<<20) + `"}`
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		sources = append(sources, &File{Path: path})
	}
	if _, err := All(context.Background(), sources[:1]); err != nil {
		t.Fatalf("one file: %v", err)
	}
	_, err := All(context.Background(), sources)
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != Protocol || fe.Source != sources[1].Name() ||
		!strings.HasSuffix(err.Error(), "larger than the 16 MiB limit on all sources together") {
		t.Fatalf("error = %v; want the second file over the limit of all sources", err)
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

// decodeError matches every error Decode returns for a malformed document:
// fixed words, numbers, and at most one key name, in the group.
var decodeError = regexp.MustCompile(`^src: (?:` +
	`(?:malformed JSON|JSON nested too deeply|JSON ends early|unexpected data after the JSON object) at byte \d+` +
	`|want a JSON object, got (?:an array|a string|a number|a boolean|null)` +
	`|member "(.*)": want a string value, got (?:an array|an object|a number|a boolean|null)` +
	`|secrets\[\d+\]: (?:no key|want an object, got (?:an array|a string|a number|a boolean)` +
	`|(?:key|value|description) at byte \d+: want a string, got (?:an array|an object|a number|a boolean))` +
	`|an error body \(only message, error or statusCode members\), not secrets` +
	`)$`)

// FuzzDecode checks that Decode never panics, that its errors say only
// what decodeError allows, a key name shown only as redact.Key shows it,
// and that reading a byte at a time changes nothing.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"A":"1"}`, `{}`, `{"secrets":[]}`, `{"secrets":[{"key":"A","value":"v","description":"d"}]}`,
		`{"secrets":[{"key":"A","value":null}],"total":1}`, `{"secrets":"x"}`, `[1]`, `{"A":1}`,
		`{"A":"\u0000"}`, `{"A=B":"v"}`, `{"secrets":[{"key":"A"},{"key":"B","value":"2"}]}`,
		`{"A=canary-v":1}`, `{"K\u001bE\nY":null}`, `{"message":"canary-m"}`, `{"secrets":[{"key":"A","value":1e999}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		secrets, err := Decode(strings.NewReader(in), "src")
		secrets1, err1 := Decode(iotest.OneByteReader(strings.NewReader(in)), "src")
		if fmt.Sprint(err) != fmt.Sprint(err1) || !reflect.DeepEqual(secrets, secrets1) {
			t.Fatalf("Decode(%q) = %v, %v; a byte at a time %v, %v", in, secrets, err, secrets1, err1)
		}
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Kind != Protocol {
				t.Fatalf("Decode(%q) error %v is not a Protocol *fetch.Error", in, err)
			}
			m := decodeError.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("Decode(%q) error %q says more than it may", in, err)
			}
			if key := m[1]; key != "" && !shownKey(key) {
				t.Fatalf("Decode(%q) error %q shows a key as redact.Key would not", in, err)
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

// shownKey reports whether s could be what redact.Key returns: printable,
// cut, and with nothing after an '='.
func shownKey(s string) bool {
	if redact.Printable(s) != s {
		return false
	}
	name, _ := strings.CutSuffix(s, "=…")
	return !strings.Contains(name, "=") && utf8.RuneCountInString(name) <= 6*redact.MaxKey+1
}
