package lint

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A hostile input is one file whose content repeats a unit on one long
// line: each makes a scan that looks back or ahead from every match cost
// time in proportion to the line, and so the whole file quadratic time.
type hostile struct {
	name string
	file string // path of the one file, relative to the root
	head string // written once before the repeated unit
	unit string
	tail string // written once after it
}

var hostileInputs = []hostile{
	// Each slash after = guesses a regular expression whose class never
	// closes on the line.
	{name: "regex class", file: "backend/a.js", unit: "=/["},
	// Each string is a dotenv module after "from"; no import to look
	// back to.
	{name: "dotenv from", file: "backend/a.js", unit: `from"dotenv"`},
	// A finding for every word, all on one line.
	{name: "credential findings", file: "backend/a.js", unit: "process.env.X_KEY;"},
	{name: "browser findings", file: "src/a.js", unit: `"SECRET_KEY",`},
	{name: "string findings", file: "backend/a.js", unit: `process.env["X_TOKEN"];`},
	{name: "destructured", file: "backend/a.js", head: "const {", unit: "a_key,", tail: "} = process.env"},
	{name: "script findings", file: "backend/package.json", head: `{"scripts": {"a": "`, unit: "--env-file ", tail: `"}}`},
	// Each object names dotenv with an escape, so its key's text is
	// not found where the decoder passed it.
	{name: "escaped dependencies", file: "backend/package.json", head: `{"a": 1`, unit: `,"dependencies":{"dot\u0065nv":1}`, tail: "}"},
	{name: "browser env file", file: "src/.env", unit: "SECRET_KEY=x "},
	// Many lines hold no danger, but keep them as a control.
	{name: "lines", file: "backend/a.js", unit: "x = process.env.X_KEY / 2 / [y]\n"},
}

var hostileKeys = []Key{{Name: "SECRET_KEY", Origin: "--require"}}

// writeHostile writes h with about size bytes under a new root and returns
// the root.
func writeHostile(tb testing.TB, h hostile, size int) string {
	tb.Helper()
	root := tb.TempDir()
	n := (size - len(h.head) - len(h.tail)) / len(h.unit)
	src := h.head + strings.Repeat(h.unit, n) + h.tail
	p := filepath.Join(root, filepath.FromSlash(h.file))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	return root
}

// TestLinearTime checks that lint's time grows linearly with the input: for
// each hostile input, the time per byte at 512 KiB must stay under 16 times
// that at 8 KiB. Quadratic time makes it about 64 times, linear time about
// once, and the bound lies far from both: the two sizes are timed by turns,
// after a garbage collection, and the fastest of six runs counts, so that a
// busy machine does not make it fail.
func TestLinearTime(t *testing.T) {
	for _, h := range hostileInputs {
		t.Run(h.name, func(t *testing.T) {
			sizes := []int{8 << 10, 512 << 10}
			roots := []string{writeHostile(t, h, sizes[0]), writeHostile(t, h, sizes[1])}
			best := []time.Duration{time.Hour, time.Hour}
			for i := 0; i < 12; i++ {
				k := i % 2
				runtime.GC()
				start := time.Now()
				if _, err := Run(roots[k], Options{Keys: hostileKeys}); err != nil {
					t.Fatal(err)
				}
				best[k] = min(best[k], time.Since(start))
			}
			small := best[0] * 1024 / time.Duration(sizes[0])
			large := best[1] * 1024 / time.Duration(sizes[1])
			t.Logf("per KiB: %v at 8 KiB, %v at 512 KiB", small, large)
			if large > 16*small {
				t.Errorf("time per KiB grew from %v at 8 KiB to %v at 512 KiB: not linear", small, large)
			}
		})
	}
}

// BenchmarkHostile lints each hostile input at 1 MiB, the largest file lint
// reads.
func BenchmarkHostile(b *testing.B) {
	for _, h := range hostileInputs {
		b.Run(h.name, func(b *testing.B) {
			root := writeHostile(b, h, MaxFileSize)
			b.SetBytes(MaxFileSize)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Run(root, Options{Keys: hostileKeys}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
