package fetch

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(strings.NewReader(tt.in), "src")
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
