package mask

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMain makes the test binary a filter when testOnlyFilter is set in
// its environment: stdin to stdout through a Stream with the benchmarks'
// 100 secrets ("mask"), or straight ("copy"), so that BenchmarkFilter can
// put a masking process where secretexec --mask would be, and compare it
// with cat and with a Go program that only copies.
func TestMain(m *testing.M) {
	switch os.Getenv("testOnlyFilter") {
	case "copy":
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, "filter:", err)
			os.Exit(1)
		}
		os.Exit(0)
	case "mask":
		masker, _ := New(benchSecrets(100), 6)
		s := masker.Writer(os.Stdout)
		if _, err := s.ReadFrom(os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, "filter:", err)
			os.Exit(1)
		}
		if err := s.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "filter:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// benchSecrets returns n secrets of the lengths an app's have: tokens of
// 24 to 64 characters, every tenth a 12-character password, and two
// multi-line keys, from a fixed seed.
func benchSecrets(n int) []Secret {
	r := rand.New(rand.NewPCG(7, 7))
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	word := func(k int) string {
		b := make([]byte, k)
		for i := range b {
			b[i] = alnum[r.IntN(len(alnum))]
		}
		return string(b)
	}
	secrets := make([]Secret, n)
	for i := range secrets {
		v := word(24 + r.IntN(41))
		switch {
		case i < 2:
			var lines []string
			for range 10 {
				lines = append(lines, word(64))
			}
			v = "-----BEGIN PRIVATE KEY-----\n" + strings.Join(lines, "\n") + "\n-----END PRIVATE KEY-----"
		case i%10 == 0:
			v = word(12)
		}
		secrets[i] = Secret{Name: fmt.Sprintf("SECRET_%03d", i), Value: v}
	}
	return secrets
}

// benchLog returns size bytes of a backend's log, one line in 2,000
// holding one of the secrets.
func benchLog(size int, secrets []Secret) []byte {
	r := rand.New(rand.NewPCG(8, 8))
	paths := []string{"/api/v1/users", "/api/v1/orders", "/healthz", "/api/v1/files/upload", "/static/app.js"}
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		t := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
		fmt.Fprintf(&b, "%s INFO request method=GET path=%s/%d status=%d duration=%.1fms user=%x",
			t.Format(time.RFC3339Nano), paths[r.IntN(len(paths))], r.IntN(10000), 200+r.IntN(4)*100, r.Float64()*50, r.Uint32())
		if r.IntN(2000) == 0 {
			b.WriteString(" token=" + secrets[r.IntN(len(secrets))].Value)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()[:size]
}

// writeAll writes in to w in writes of n bytes, as a pipe would deliver it.
func writeAll(b *testing.B, w io.Writer, in []byte, n int) {
	for len(in) > 0 {
		k := min(n, len(in))
		if _, err := w.Write(in[:k]); err != nil {
			b.Fatal(err)
		}
		in = in[k:]
	}
}

// BenchmarkStream measures the masking alone, with 100 secrets: 16 MiB of
// log, or of random bytes, in 64 KiB writes to io.Discard; "copy" is the
// same writes straight to io.Discard.
func BenchmarkStream(b *testing.B) {
	secrets := benchSecrets(100)
	log := benchLog(16<<20, secrets)
	random := make([]byte, 16<<20)
	rr := rand.New(rand.NewPCG(9, 9))
	for i := range random {
		random[i] = byte(rr.Uint32())
	}
	short := slices.Clone(secrets)
	for i := range short {
		short[i].Value = short[i].Value[:6]
	}
	for _, bc := range []struct {
		name    string
		secrets []Secret
		in      []byte
	}{
		{"copy", nil, log},
		{"log", secrets, log},
		{"random", secrets, random},
		{"log-6-byte-values", short, log},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var w io.Writer = io.Discard
			if bc.secrets != nil {
				m, _ := New(bc.secrets, 6)
				s := m.Writer(io.Discard)
				defer s.Close()
				w = s
			}
			b.SetBytes(int64(len(bc.in)))
			b.ReportAllocs()
			for b.Loop() {
				writeAll(b, w, bc.in, 64<<10)
			}
		})
	}
}

// BenchmarkLine measures what masking one short line costs: a Write of a
// log line that holds nothing.
func BenchmarkLine(b *testing.B) {
	m, _ := New(benchSecrets(100), 6)
	s := m.Writer(io.Discard)
	defer s.Close()
	line := []byte("2025-01-02T03:04:05.123Z INFO request method=GET path=/healthz status=200\n")
	b.ReportAllocs()
	for b.Loop() {
		s.Write(line)
	}
}

// BenchmarkNew measures building the patterns of 100 secrets.
func BenchmarkNew(b *testing.B) {
	secrets := benchSecrets(100)
	b.ReportAllocs()
	for b.Loop() {
		New(secrets, 6)
	}
}

// pipePath runs the path a command's output takes under --mask, less the
// processes: a writer into a pipe, a copier from it (through a Stream when
// masking) into a second pipe, and a reader of that. It returns the
// writing end, and a function that stops it all.
func pipePath(b *testing.B, m *Masker, sink func(r *os.File)) (*os.File, func()) {
	r1, w1, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		if m == nil {
			io.Copy(w2, r1)
		} else {
			s := m.Writer(w2)
			io.Copy(s, r1)
			s.Close()
		}
		w2.Close()
	}()
	sunk := make(chan struct{})
	go func() {
		defer close(sunk)
		sink(r2)
	}()
	return w1, func() {
		w1.Close()
		<-copied
		<-sunk
		r1.Close()
		r2.Close()
	}
}

// BenchmarkPipe measures throughput through two pipes, as cat would
// be measured, with and without masking (100 secrets).
func BenchmarkPipe(b *testing.B) {
	secrets := benchSecrets(100)
	log := benchLog(16<<20, secrets)
	masker, _ := New(secrets, 6)
	for _, bc := range []struct {
		name string
		m    *Masker
	}{{"copy", nil}, {"mask", masker}} {
		b.Run(bc.name, func(b *testing.B) {
			w, stop := pipePath(b, bc.m, func(r *os.File) { io.Copy(io.Discard, r) })
			defer stop()
			b.SetBytes(int64(len(log)))
			for b.Loop() {
				writeAll(b, w, log, 64<<10)
			}
		})
	}
}

// BenchmarkLatency measures how long a short line takes from the first
// pipe's writer to the second pipe's reader, with and without masking (100
// secrets); it reports the median and the 99th percentile.
func BenchmarkLatency(b *testing.B) {
	masker, _ := New(benchSecrets(100), 6)
	line := []byte("2025-01-02T03:04:05.123Z INFO request method=GET path=/healthz status=200\n")
	for _, bc := range []struct {
		name string
		m    *Masker
	}{{"copy", nil}, {"mask", masker}} {
		b.Run(bc.name, func(b *testing.B) {
			got := make(chan struct{})
			w, stop := pipePath(b, bc.m, func(r *os.File) {
				buf := make([]byte, 4096)
				for have := 0; ; {
					n, err := r.Read(buf)
					if err != nil {
						return
					}
					// One signal a whole line.
					for have += n; have >= len(line); have -= len(line) {
						got <- struct{}{}
					}
				}
			})
			defer stop()
			var lat []time.Duration
			for b.Loop() {
				t := time.Now()
				w.Write(line)
				<-got
				lat = append(lat, time.Since(t))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
}

// filters are the programs BenchmarkFilter compares: cat, the floor, and
// this test binary copying, and masking (see TestMain). Each call of a
// function makes a new command.
func filters(b *testing.B) []struct {
	name string
	cmd  func() *exec.Cmd
} {
	cat, err := exec.LookPath("cat")
	if err != nil {
		b.Skip("no cat")
	}
	return []struct {
		name string
		cmd  func() *exec.Cmd
	}{
		{"cat", func() *exec.Cmd { return exec.Command(cat) }},
		{"gocopy", func() *exec.Cmd {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "testOnlyFilter=copy")
			return cmd
		}},
		{"mask", func() *exec.Cmd {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "testOnlyFilter=mask")
			return cmd
		}},
	}
}

// BenchmarkFilter measures the whole path of a command's output through a
// process: a writer, a pipe, the filter process (cat, or masking with 100
// secrets), a pipe, a reader. It reports the filter's peak RSS.
func BenchmarkFilter(b *testing.B) {
	secrets := benchSecrets(100)
	log := benchLog(16<<20, secrets)
	for _, f := range filters(b) {
		b.Run(f.name, func(b *testing.B) {
			cmd := f.cmd()
			stdin, err := cmd.StdinPipe()
			if err != nil {
				b.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				io.Copy(io.Discard, stdout)
			}()
			b.SetBytes(int64(len(log)))
			for b.Loop() {
				writeAll(b, stdin, log, 64<<10)
			}
			// The filter's own high-water mark: its rusage would count
			// the benchmark's memory, from before the exec.
			hwm := vmHWM(b, cmd.Process.Pid)
			stdin.Close()
			<-done
			if err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(hwm)/1024, "peak-RSS-MiB")
		})
	}
}

// vmHWM returns process pid's peak resident set size in KiB, or skips
// where /proc does not tell it.
func vmHWM(b *testing.B, pid int) int {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skip(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int
			fmt.Sscan(rest, &kb)
			return kb
		}
	}
	b.Skip("no VmHWM in /proc/PID/status")
	return 0
}

// BenchmarkFilterLatency measures how long one short line takes through
// the filter process, cat or masking (100 secrets), and reports the median
// and the 99th percentile.
func BenchmarkFilterLatency(b *testing.B) {
	line := []byte("2025-01-02T03:04:05.123Z INFO request method=GET path=/healthz status=200\n")
	for _, f := range filters(b) {
		b.Run(f.name, func(b *testing.B) {
			cmd := f.cmd()
			stdin, err := cmd.StdinPipe()
			if err != nil {
				b.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			r := bufio.NewReader(stdout)
			var lat []time.Duration
			for b.Loop() {
				t := time.Now()
				if _, err := stdin.Write(line); err != nil {
					b.Fatal(err)
				}
				if _, err := r.ReadSlice('\n'); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
			}
			stdin.Close()
			io.Copy(io.Discard, r)
			cmd.Wait()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
}
