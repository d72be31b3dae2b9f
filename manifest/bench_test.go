package manifest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// sizes are the numbers of secrets every benchmark runs at.
var sizes = []int{10, 1000, 10000}

// manifestText returns a manifest of n keys, each with a description, and
// a comment every ten lines.
func manifestText(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i%10 == 0 {
			fmt.Fprintf(&b, "# group %d\n", i/10)
		}
		fmt.Fprintf(&b, "SECRET_%05d: benchmark secret %d\n", i, i)
	}
	return b.String()
}

func BenchmarkParse(b *testing.B) {
	for _, n := range sizes {
		text := manifestText(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			for i := 0; i < b.N; i++ {
				m, err := Parse(strings.NewReader(text), "secrets.manifest")
				if err != nil || len(m.Keys) != n {
					b.Fatalf("Parse: %d keys, %v", len(m.Keys), err)
				}
			}
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	for _, n := range sizes {
		m, err := Parse(strings.NewReader(manifestText(n)), "secrets.manifest")
		if err != nil {
			b.Fatal(err)
		}
		values := make([]Value, n)
		for i := range values {
			values[n-1-i] = Value{Key: fmt.Sprintf("SECRET_%05d", i), Value: "benchmark-value", Source: "file:secrets.json"}
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if r, _ := Check(m, values); r.Err() != nil {
					b.Fatal(r.Err())
				}
			}
		})
	}
}
