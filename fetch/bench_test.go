package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sizes are the numbers of secrets every benchmark runs at; the limits of
// the start-up benchmark are set at 100 and 10,000.
var sizes = []int{10, 100, 1000, 10000}

// envelopeDoc returns n secrets in the envelope, as the Fusebase API
// answers: a 40-character value and a description each.
func envelopeDoc(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"secrets":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"key":"SECRET_%05d","value":"v%08x-%030x","description":"benchmark secret %d"}`, i, i, i*7919, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// flatDoc returns n secrets as a flat object, as a JSON file holds them.
func flatDoc(n int) []byte {
	var b strings.Builder
	b.WriteString("{\n")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `  "SECRET_%05d": "v%08x-%030x"`, i, i, i*7919)
	}
	b.WriteString("\n}\n")
	return []byte(b.String())
}

func BenchmarkDecode(b *testing.B) {
	for _, shape := range []struct {
		name string
		doc  func(int) []byte
	}{{"envelope", envelopeDoc}, {"flat", flatDoc}} {
		for _, n := range sizes {
			doc := shape.doc(n)
			b.Run(shape.name+"/"+strconv.Itoa(n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(doc)))
				for i := 0; i < b.N; i++ {
					secrets, err := Decode(bytes.NewReader(doc), "src")
					if err != nil || len(secrets) != n {
						b.Fatalf("Decode: %d secrets, %v", len(secrets), err)
					}
				}
			})
		}
	}
}

// BenchmarkFile reads secrets from a JSON file, as a file: source does.
func BenchmarkFile(b *testing.B) {
	for _, n := range sizes {
		doc := flatDoc(n)
		path := filepath.Join(b.TempDir(), "secrets.json")
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			b.Fatal(err)
		}
		f := &File{Path: path}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for i := 0; i < b.N; i++ {
				secrets, err := f.Fetch(context.Background())
				if err != nil || len(secrets) != n {
					b.Fatalf("Fetch: %d secrets, %v", len(secrets), err)
				}
			}
		})
	}
}

// BenchmarkFloor decodes the envelope as bench/floor-fetch does, one
// json.Decoder.Decode into a struct, for BenchmarkDecode/envelope to be
// read against.
func BenchmarkFloor(b *testing.B) {
	for _, n := range sizes {
		doc := envelopeDoc(n)
		b.Run("envelope/"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for i := 0; i < b.N; i++ {
				var body struct {
					Secrets []struct {
						Key         string `json:"key"`
						Value       string `json:"value"`
						Description string `json:"description"`
					} `json:"secrets"`
				}
				if err := json.NewDecoder(bytes.NewReader(doc)).Decode(&body); err != nil || len(body.Secrets) != n {
					b.Fatalf("Decode: %d secrets, %v", len(body.Secrets), err)
				}
			}
		})
	}
}
