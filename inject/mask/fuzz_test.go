package mask

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// FuzzStream compares a Stream, written to in random pieces and flushed
// at random points as its timer would, with the reference on the whole
// stream. The secrets come from the input too.
//
// values: the first byte picks the minimum length (1 to 8), the rest is
// the values, separated by 0x00 (at most 8). script: the stream, where
// 0xFF i puts in pattern i, 0xFE i n the first n bytes of pattern i, 0xFD b
// the byte b, 0xFC flushes (the timer), and any other byte stands for
// itself. sizes: the sizes of the writes, one byte each (1 to 32, or for
// 0xE0 and up, (b-0xDF)×4 KiB); what is left goes in one write.
func FuzzStream(f *testing.F) {
	f.Add([]byte("\x06canary-pw\x00postgres://app:canary-pw@db"), []byte("url=\xff\x01 pw=\xff\x00 \xfe\x01\x20\xfccanary"), []byte{3, 1, 7})
	f.Add([]byte("\x03abcabc\x00bcab\x00\n\nx"), []byte("abcabcabcab\xff\x02\xff\x03\xff\x04"), []byte{1, 1, 1, 1, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, values, script, sizes []byte) {
		if len(values) == 0 {
			return
		}
		minLen := 1 + int(values[0]%8)
		var secrets []Secret
		for i, v := range bytes.Split(values[1:], []byte{0}) {
			if i == 8 {
				break
			}
			secrets = append(secrets, Secret{Name: fmt.Sprint("S", i), Value: string(v)})
		}
		m, _ := New(secrets, minLen)
		pats := m.m.pats

		// The stream, cut at the flushes.
		var parts [][]byte
		var cur []byte
		for i := 0; i < len(script); i++ {
			c := script[i]
			switch {
			case c == 0xFF && i+1 < len(script) && len(pats) > 0:
				cur = append(cur, pats[int(script[i+1])%len(pats)].text...)
				i++
			case c == 0xFE && i+2 < len(script) && len(pats) > 0:
				p := pats[int(script[i+1])%len(pats)].text
				cur = append(cur, p[:int(script[i+2])%len(p)]...)
				i += 2
			case c == 0xFD && i+1 < len(script):
				cur = append(cur, script[i+1])
				i++
			case c == 0xFC:
				parts = append(parts, cur)
				cur = nil
			default:
				cur = append(cur, c)
			}
		}
		parts = append(parts, cur)

		var want []byte
		for _, p := range parts {
			want = append(want, reference(pats, p)...)
		}

		var out bytes.Buffer
		s := m.Writer(&out)
		s.delay = time.Hour // the flushes above stand for the timer
		for k, p := range parts {
			if k > 0 {
				s.mu.Lock()
				s.flush()
				s.mu.Unlock()
			}
			for len(p) > 0 {
				n := len(p)
				if len(sizes) > 0 {
					if b := sizes[0]; b >= 0xE0 {
						n = int(b-0xDF) << 12
					} else {
						n = 1 + int(b%32)
					}
					sizes = sizes[1:]
				}
				n = min(n, len(p))
				if w, err := s.Write(p[:n]); w != n || err != nil {
					t.Fatalf("Write = %d, %v", w, err)
				}
				p = p[n:]
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := out.Bytes(); !bytes.Equal(got, want) {
			t.Fatalf("patterns %q\nstream %q\ngot  %q\nwant %q", patTexts(pats), parts, got, want)
		}
	})
}

func patTexts(pats []pattern) []string {
	var s []string
	for _, p := range pats {
		s = append(s, p.text)
	}
	return s
}
