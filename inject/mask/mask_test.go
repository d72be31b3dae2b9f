package mask

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// reference masks in by the rule the package states, the slow and obvious
// way: at each byte, the longest pattern that begins there, else the byte.
func reference(pats []pattern, in []byte) []byte {
	var byFirst [256][]pattern // only to make it fast enough for megabytes
	for _, p := range pats {
		byFirst[p.text[0]] = append(byFirst[p.text[0]], p)
	}
	var out []byte
	for i := 0; i < len(in); {
		// The cluster of occurrences from here: each one that starts
		// before its end joins it; the longest, or the first of the
		// longest, names it.
		var best *pattern
		end := i
		for j := i; j < len(in) && (j == i || j < end); j++ {
			for k, p := range byFirst[in[j]] {
				if !bytes.HasPrefix(in[j:], []byte(p.text)) {
					continue
				}
				end = max(end, j+len(p.text))
				if best == nil || len(p.text) > len(best.text) {
					best = &byFirst[in[j]][k]
				}
			}
			if best == nil {
				break // nothing starts at i
			}
		}
		if best == nil {
			out = append(out, in[i])
			i++
			continue
		}
		out = append(out, best.label...)
		i = end
	}
	return out
}

// maskChunks writes in to a Stream in writes of the given sizes (the rest
// in one write), closes it and returns what came out.
func maskChunks(t testing.TB, m *Masker, in []byte, sizes ...int) []byte {
	t.Helper()
	var out bytes.Buffer
	s := m.Writer(&out)
	s.delay = time.Hour // however slow the machine, only Close flushes
	for _, n := range sizes {
		n = min(n, len(in))
		if n, err := s.Write(in[:n]); n != len(in[:n]) || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(in[:n]))
		}
		in = in[n:]
	}
	if len(in) > 0 {
		if _, err := s.Write(in); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out.Bytes()
}

// chunkings returns the ways of cutting n bytes into writes that the tests
// try: one write, a byte at a time, random sizes, and every two-way cut (for
// short inputs).
func chunkings(n int) map[string][]int {
	c := map[string][]int{"whole": nil}
	ones := make([]int, n)
	for i := range ones {
		ones[i] = 1
	}
	c["bytes"] = ones
	r := rand.New(rand.NewPCG(1, uint64(n)))
	var random []int
	for sum := 0; sum < n; {
		k := 1 + r.IntN(13)
		random = append(random, k)
		sum += k
	}
	c["random"] = random
	if n <= 200 {
		for i := 1; i < n; i++ {
			c[fmt.Sprintf("cut%d", i)] = []int{i}
		}
	}
	return c
}

var canaries = []Secret{
	{Name: "API_KEY", Value: "canary-sk-9f8e7d6c5b4a"},
	{Name: "DB_PASSWORD", Value: "canary-pw"},
	{Name: "DATABASE_URL", Value: "postgres://app:canary-pw@db:5432/app"},
	{Name: "PEM", Value: "-----BEGIN KEY-----\ncanary-line-one\ncanary-line-two\nab\n-----END KEY-----"},
	{Name: "ODD", Value: "canary <&> \"quoted\" 50% a+b/c\t\u2028"},
	{Name: "PORT", Value: "8080"},
}

func TestMask(t *testing.T) {
	m, short := New(canaries, 6)
	if want := []string{"PORT"}; !slices.Equal(short, want) {
		t.Errorf("short = %q; want %q", short, want)
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct{ name, in, want string }{
		{"none", "plain text\n", "plain text\n"},
		{"value", "key=canary-sk-9f8e7d6c5b4a\n", "key=[masked:API_KEY]\n"},
		{"twice, adjacent", "canary-pwcanary-pw", "[masked:DB_PASSWORD][masked:DB_PASSWORD]"},
		{"at the end, no newline", "pw: canary-pw", "pw: [masked:DB_PASSWORD]"},
		{"a prefix only", "canary-p and canary-sk-9f8e7d6c5b4", "canary-p and canary-sk-9f8e7d6c5b4"},
		{"short value kept", "port 8080\n", "port 8080\n"},
		{"longer contains shorter", "url=postgres://app:canary-pw@db:5432/app.", "url=[masked:DATABASE_URL]."},
		{"shorter, then the longer cut short", "postgres://app:canary-pw@db:5432/ap", "postgres://app:[masked:DB_PASSWORD]@db:5432/ap"},
		{"multi-line value", canaries[3].Value + "\n", "[masked:PEM]\n"},
		{"each line", "x canary-line-two y\n-----BEGIN KEY-----", "x [masked:PEM] y\n[masked:PEM]"},
		{"short line kept", "ab\n", "ab\n"},
		{"on a terminal", strings.ReplaceAll(canaries[3].Value, "\n", "\r\n"), "[masked:PEM]"},
		{"json", `{"url":"` + `-----BEGIN KEY-----\ncanary-line-one\ncanary-line-two\nab\n-----END KEY-----` + `"}`, `{"url":"[masked:PEM]"}`},
		{"json, html escaped", `"canary \u003c\u0026\u003e \"quoted\" 50% a+b/c\t\u2028"`, `"[masked:ODD]"`},
		{"json, plain", `"canary <&> \"quoted\" 50% a+b/c\t\u2028"`, `"[masked:ODD]"`},
		{"query", "?q=canary+%3C%26%3E+%22quoted%22+50%25+a%2Bb%2Fc%09%E2%80%A8&x", "?q=[masked:ODD]&x"},
		{"path", "/canary%20%3C&%3E%20%22quoted%22%2050%25%20a+b%2Fc%09%E2%80%A8/x", "/[masked:ODD]/x"},
		{"base64", "Authorization: Basic " + b64("canary-sk-9f8e7d6c5b4a") + "\n", "Authorization: Basic [masked:API_KEY]\n"},
		{"base64 url", b64("postgres://app:canary-pw@db:5432/app"), "[masked:DATABASE_URL]"},
		{"binary", "\x00\xff\xfe\x80canary-pw\x00\xc3", "\x00\xff\xfe\x80[masked:DB_PASSWORD]\x00\xc3"},
	}
	for _, tt := range tests {
		for how, sizes := range chunkings(len(tt.in)) {
			got := maskChunks(t, m, []byte(tt.in), sizes...)
			if string(got) != tt.want {
				t.Errorf("%s, %s: got %q; want %q", tt.name, how, got, tt.want)
			}
		}
	}
}

// TestBase64Inside checks the value base64-encoded inside a longer stream,
// at each alignment: only the characters that encode the value alone are
// masked.
func TestBase64Inside(t *testing.T) {
	m, _ := New(canaries[:1], 6)
	v := canaries[0].Value
	for k := range 6 {
		for tail := range 4 {
			plain := strings.Repeat("a", k) + v + strings.Repeat("z", tail)
			enc := base64.StdEncoding.EncodeToString([]byte(plain))
			got := string(maskChunks(t, m, []byte(enc)))
			if strings.Count(got, "[masked:API_KEY]") != 1 {
				t.Errorf("%d before, %d after: %q masks to %q", k, tail, enc, got)
				continue
			}
			// At most 3 characters before and 3 after stay (they mix
			// the value's bits with its neighbours').
			before, after, _ := strings.Cut(got, "[masked:API_KEY]")
			if len(before) > (4*k+5)/3 || len(after) > 3+(4*tail+2)/3+2 {
				t.Errorf("%d before, %d after: %q masks to %q, leaving too much", k, tail, enc, got)
			}
		}
	}
}

func TestNew(t *testing.T) {
	t.Run("forms", func(t *testing.T) {
		m, _ := New([]Secret{{Name: "K", Value: "a b/c?d&e<f\ng"}}, 6)
		var got []string
		for _, p := range m.m.pats {
			got = append(got, p.text)
			if p.label != "[masked:K]" {
				t.Errorf("label %q; want [masked:K]", p.label)
			}
		}
		want := []string{
			"a b/c?d&e<f\ng",
			"a b/c?d&e<f",              // a line; "g" is too short
			"a b/c?d&e<f\r\ng",         // on a terminal
			`a b/c?d\u0026e\u003cf\ng`, // JSON
			`a b/c?d&e<f\ng`,           // JSON, HTML left alone
			"a+b%2Fc%3Fd%26e%3Cf%0Ag",  // query
			"a%20b%2Fc%3Fd&e%3Cf%0Ag",  // path
			"YSBiL2M/ZCZlPGYKZw==",     // base64
			"YSBiL2M/ZCZlPGYKZ",        // base64 inside a stream, at each alignment
			"EgYi9jP2QmZTxmCm",
			"hIGIvYz9kJmU8Zgpn",
		}
		if !slices.Equal(got, want) {
			t.Errorf("patterns:\n%q\nwant\n%q", got, want)
		}
	})
	t.Run("short", func(t *testing.T) {
		m, short := New([]Secret{{"A", "12345"}, {"B", "123456"}, {"C", ""}}, 6)
		if want := []string{"A", "C"}; !slices.Equal(short, want) {
			t.Errorf("short = %q; want %q", short, want)
		}
		if len(m.m.pats) == 0 || m.m.pats[0].text != "123456" {
			t.Errorf("first pattern %q; want 123456", m.m.pats[0].text)
		}
	})
	t.Run("shared value", func(t *testing.T) {
		m, _ := New([]Secret{{"A", "YWJjZGVmZ2g="}, {"B", "abcdefgh"}, {"C", "abcdefgh"}}, 6)
		got := string(maskChunks(t, m, []byte("abcdefgh YWJjZGVmZ2g=")))
		if want := "[masked:B] [masked:A]"; got != want {
			t.Errorf("got %q; want %q (a value beats another's base64; the first secret names a shared value)", got, want)
		}
	})
	t.Run("no patterns", func(t *testing.T) {
		m, _ := New(nil, 6)
		in := []byte("anything \x00 at all")
		if got := maskChunks(t, m, in, 1, 2, 3); !bytes.Equal(got, in) {
			t.Errorf("got %q; want %q", got, in)
		}
	})
	t.Run("min length 1", func(t *testing.T) {
		m, short := New([]Secret{{"A", "x"}, {"B", "xy"}, {"C", ""}}, 0)
		if !slices.Equal(short, []string{"C"}) {
			t.Errorf("short = %q; want [C]", short)
		}
		for how, sizes := range chunkings(6) {
			if got, want := string(maskChunks(t, m, []byte("axyxxz"), sizes...)), "a[masked:B][masked:A][masked:A]z"; got != want {
				t.Errorf("%s: got %q; want %q", how, got, want)
			}
		}
	})
}

// TestOverlap pins the leftmost-longest rule on patterns that overlap
// without one containing the other.
func TestOverlap(t *testing.T) {
	m, _ := New([]Secret{{"A", "canary-abcdef"}, {"B", "abcdef-ghijkl"}, {"C", "canary-abc"}, {"D", "abcdef-ghijklmnop"}, {"E", "ghijkl-mnopqr"}}, 6)
	tests := []struct{ in, want string }{
		{"canary-abcdef-ghijkl", "[masked:A]"},              // A, B and C overlap: all of them, as the first of the longest
		{"xabcdef-ghijkl", "x[masked:B]"},                   // B alone
		{"canary-abcdef", "[masked:A]"},                     // A and C start together: the longer
		{"canary-abcdeX", "[masked:C]deX"},                  // A cut short: C
		{"canary-abcabcdef-ghijkl", "[masked:C][masked:B]"}, // one after the other
		{"canary-abc-ghijkl", "[masked:C]-ghijkl"},          // C alone
		{"xcanary-abcdef-ghijklmnop", "x[masked:D]"},        // the longer starts second: it names them
		{"canary-abcdef-ghijkl-mnopqr", "[masked:A]"},       // a chain of three
	}
	for _, tt := range tests {
		if got := string(reference(m.m.pats, []byte(tt.in))); got != tt.want {
			t.Errorf("reference(%q) = %q; want %q", tt.in, got, tt.want)
		}
		for how, sizes := range chunkings(len(tt.in)) {
			if got := string(maskChunks(t, m, []byte(tt.in), sizes...)); got != tt.want {
				t.Errorf("%q, %s: got %q; want %q", tt.in, how, got, tt.want)
			}
		}
	}
}

// TestBoundaries puts values across the 4 KiB and 64 KiB boundaries of
// the writes a pipe or a program's buffer would make, and across the
// Stream's own chunks.
func TestBoundaries(t *testing.T) {
	m, _ := New(canaries, 6)
	v := canaries[2].Value
	for _, at := range []int{4096, 65536, chunk + m.m.maxLen, 3 * 65536} {
		for _, shift := range []int{-len(v), -len(v) + 1, -7, -1, 0} {
			in := bytes.Repeat([]byte("0123456789abcdef"), (at+len(v)+64)/16)
			copy(in[at+shift:], v)
			want := reference(m.m.pats, in)
			if !bytes.Contains(want, []byte("[masked:DATABASE_URL]")) {
				t.Fatal("bad test: no value in the input")
			}
			for how, sizes := range map[string][]int{
				"4k":    slices.Repeat([]int{4096}, len(in)/4096+1),
				"64k":   slices.Repeat([]int{65536}, len(in)/65536+1),
				"whole": nil,
				"odd":   slices.Repeat([]int{4095, 1, 65535, 2}, len(in)/65536+1),
			} {
				if got := maskChunks(t, m, in, sizes...); !bytes.Equal(got, want) {
					t.Errorf("value at %d%+d, %s writes: output differs from the reference", at, shift, how)
				}
			}
		}
	}
}

// TestBinary passes random bytes through, with and without values in them.
func TestBinary(t *testing.T) {
	m, _ := New(canaries, 6)
	r := rand.New(rand.NewPCG(2, 3))
	in := make([]byte, 1<<20)
	for i := range in {
		in[i] = byte(r.Uint32())
	}
	if got := maskChunks(t, m, in, 1, 4096, 7, 65536, 100000); !bytes.Equal(got, in) {
		t.Fatal("random bytes changed on the way through")
	}
	for i := 0; i < len(in)-100; i += 1 + r.IntN(20000) {
		i += copy(in[i:], canaries[r.IntN(len(canaries))].Value)
	}
	want := reference(m.m.pats, in)
	if bytes.Equal(want, in) {
		t.Fatal("bad test: no value in the input")
	}
	if got := maskChunks(t, m, in, 3, 5000, 1, 70000, 31); !bytes.Equal(got, want) {
		t.Fatal("random bytes with values: output differs from the reference")
	}
}

// TestLongValue masks a value longer than the Stream's chunk, so that the
// tail held can be longer than a write.
func TestLongValue(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	v := make([]byte, 130<<10)
	for i := range v {
		v[i] = 'a' + byte(r.IntN(26))
	}
	m, _ := New([]Secret{{"CERT", string(v)}, {"TOKEN", "canary-token"}}, 6)
	var in []byte
	in = append(in, "start canary-token "...)
	in = append(in, v...)
	in = append(in, " middle "...)
	in = append(in, v[:len(v)-1]...) // cut one byte short
	in = append(in, " canary-token "...)
	in = append(in, v...)
	want := reference(m.m.pats, in)
	if bytes.Count(want, []byte("[masked:CERT]")) != 2 {
		t.Fatalf("bad test: the reference masks %d", bytes.Count(want, []byte("[masked:CERT]")))
	}
	for how, sizes := range map[string][]int{
		"whole": nil,
		"4k":    slices.Repeat([]int{4096}, len(in)/4096+1),
		"64k":   slices.Repeat([]int{65536}, len(in)/65536+1),
		"odd":   slices.Repeat([]int{1000, 1, 70000}, len(in)/71001+1),
	} {
		if got := maskChunks(t, m, in, sizes...); !bytes.Equal(got, want) {
			t.Errorf("%s writes: output differs from the reference (%d bytes, want %d)", how, len(got), len(want))
		}
	}
}

// TestEndlessOverlap writes a chain of overlapping occurrences longer than
// a Stream holds at once: it must not stall, and no whole value may pass.
func TestEndlessOverlap(t *testing.T) {
	m, _ := New([]Secret{{"A", "canary-ab-canary-ab"}}, 6)
	var out bytes.Buffer
	s := m.Writer(&out)
	s.delay = time.Hour
	s.max = 64 // as if 64 KiB of chained values had come
	in := bytes.Repeat([]byte("canary-ab-"), 1000)
	for len(in) > 0 {
		n := min(len(in), 37)
		if _, err := s.Write(in[:n]); err != nil {
			t.Fatal(err)
		}
		in = in[n:]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out.Bytes(), []byte("canary-ab-canary-ab")) {
		t.Errorf("a whole value passed: %q", out.Bytes())
	}
	if !bytes.Contains(out.Bytes(), []byte("[masked:A]")) {
		t.Errorf("nothing masked: %q", out.Bytes())
	}
}

func TestWithPrevious(t *testing.T) {
	one, _ := New([]Secret{{Name: "TOKEN", Value: "canary-one"}, {Name: "KEEP", Value: "canary-keep"}}, 3)
	two, _ := New([]Secret{{Name: "TOKEN", Value: "canary-two"}, {Name: "RENAMED", Value: "canary-keep"}}, 3)
	three, _ := New([]Secret{{Name: "TOKEN", Value: "canary-three"}}, 3)
	in := "canary-one canary-two canary-three canary-keep " + base64.StdEncoding.EncodeToString([]byte("canary-one"))
	tests := []struct {
		name string
		m    *Masker
		want string
	}{
		{"alone", two, "canary-one [masked:TOKEN] canary-three [masked:RENAMED] " + base64.StdEncoding.EncodeToString([]byte("canary-one"))},
		{"with the previous set, its forms too; the new name wins", two.WithPrevious(one), "[masked:TOKEN] [masked:TOKEN] canary-three [masked:RENAMED] [masked:TOKEN]"},
		{"one rotation deep", three.WithPrevious(two.WithPrevious(one)), "canary-one [masked:TOKEN] [masked:TOKEN] [masked:RENAMED] " + base64.StdEncoding.EncodeToString([]byte("canary-one"))},
		{"no previous", three.WithPrevious(nil), "canary-one canary-two [masked:TOKEN] canary-keep " + base64.StdEncoding.EncodeToString([]byte("canary-one"))},
	}
	for _, tt := range tests {
		if got := string(maskChunks(t, tt.m, []byte(in))); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
