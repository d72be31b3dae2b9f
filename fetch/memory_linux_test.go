package fetch

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// TestPeakMemory decodes a file of nearly MaxSize in a process of its own,
// with the collector set as a run sets it (off, up to a heap of 64 MiB),
// and checks how far the decoding raised the peak resident size: a small
// multiple of the file, whatever its shape.
func TestPeakMemory(t *testing.T) {
	if path := os.Getenv("FETCH_PEAK_MEMORY_FILE"); path != "" {
		peakMemoryChild(path)
		return
	}
	if testing.Short() {
		t.Skip("decodes 16 MiB files in child processes")
	}
	dir := t.TempDir()
	for _, tt := range []struct {
		name   string
		member func(i int) string
		open   string
		most   float64 // peak over the file's size
	}{
		{"envelope", func(i int) string {
			return fmt.Sprintf(`{"key":"SECRET_%07d","value":"v%08x-%030x","description":"secret %d"}`, i, i, i*7919, i)
		}, `{"secrets":[`, 4},
		{"flat", func(i int) string { return fmt.Sprintf(`"SECRET_%07d":"v%08x-%030x"`, i, i, i*7919) }, "{", 4},
		{"one value", func(i int) string { return fmt.Sprintf(`"K%d":"%s"`, i, strings.Repeat("v", MaxSize-20)) }, "{", 4},
		// Members of a few bytes: each secret costs its 64-byte Secret,
		// and the slice of them grows by copying. Measured 9.5 to 10.2×,
		// as the memory limit's collections fall.
		{"tiny", func(i int) string { return fmt.Sprintf(`"%x":""`, i) }, "{", 12},
		{"large metadata", func(i int) string { return fmt.Sprintf(`"m%d":[%d,{"a":"b"}]`, i, i) }, `{"secrets":[],`, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			closing := map[string]string{"{": "}", `{"secrets":[`: "]}", `{"secrets":[],`: "}"}[tt.open]
			var b strings.Builder
			b.WriteString(tt.open)
			for i := 0; ; i++ {
				m := tt.member(i)
				if b.Len()+len(m)+1+len(closing) > MaxSize {
					break
				}
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(m)
			}
			b.WriteString(closing)
			path := filepath.Join(dir, tt.name+".json")
			if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
				t.Fatal(err)
			}
			size := b.Len()
			b = strings.Builder{}

			cmd := exec.Command(os.Args[0], "-test.run=^TestPeakMemory$")
			cmd.Env = append(os.Environ(), "FETCH_PEAK_MEMORY_FILE="+path)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			fields := strings.Fields(string(out))
			if len(fields) == 0 {
				t.Fatalf("child said nothing")
			}
			grew, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				t.Fatalf("child: %s", out)
			}
			ratio := float64(grew) / float64(size)
			t.Logf("%d bytes decoded; peak resident size up %d bytes, %.1f×", size, grew, ratio)
			if ratio > tt.most {
				t.Errorf("peak resident size grew %.1f× the input; want at most %g×", ratio, tt.most)
			}
		})
	}
}

// peakMemoryChild fetches the file at path and prints by how many bytes
// that raised the peak resident size, then how many secrets it read.
func peakMemoryChild(path string) {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(64 << 20)
	before := maxRSS()
	secrets, err := (&File{Path: path}).Fetch(context.Background())
	after := maxRSS()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(after-before, len(secrets))
	runtime.KeepAlive(secrets)
	os.Exit(0)
}

// maxRSS returns the process's peak resident size in bytes, VmHWM: the
// rusage figure would count the parent's, which it keeps across exec.
func maxRSS() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				panic(err)
			}
			return kb << 10
		}
	}
	panic("no VmHWM in /proc/self/status")
}
