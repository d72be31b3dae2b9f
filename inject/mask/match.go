package mask

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
)

// The matcher finds every occurrence of every pattern in a buffer without
// looking at most of its bytes. Every pattern is at least minLen bytes
// long, so an occurrence covers gram bytes starting at one of step
// consecutive positions, wherever it lies: it is enough to read one gram
// every step bytes. Each pattern's grams at its first step offsets are put
// in a set (a bit per hash, then the exact grams); a sampled gram in the set
// names the patterns and offsets it could be, and each is compared in full.
// With the 6-byte shortest pattern the design allows by default, that is a
// 4-byte read every 3 bytes; with 40-byte values one every 32.
//
// The same samples find the occurrences that the end of the buffer cuts
// short, if at least gram+step-1 bytes of them are there; shorter tails are
// looked up in the sorted patterns directly (a few bytes at the end).

// maxStep bounds the sampling step, and so the set's size (patterns × step).
const maxStep = 32

// hashMul is a multiplier with well-mixed bits, for hashing 4-byte grams.
const hashMul = 0x9E3779B1

type pattern struct {
	text  string
	label string
}

// cand is a pattern that holds a gram at an offset.
type cand struct {
	pat, off int32
}

// occ is an occurrence of pattern pat at start.
type occ struct {
	start, pat int32
}

type matcher struct {
	pats           []pattern
	minLen, maxLen int
	gram, step     int // bytes per sampled gram (1, 2 or 4), and sampling step
	shift          uint32
	set            []uint64          // bit per hashed gram
	cands          map[uint32][]cand // exact gram to the patterns holding it
	sorted         []string          // pattern texts, sorted
	first          [4]uint64         // bit per first byte of a pattern
	first2         []uint64          // bit per first two bytes of a pattern
}

func newMatcher(pats []pattern) matcher {
	m := matcher{pats: pats}
	if len(pats) == 0 {
		return m
	}
	m.minLen = len(pats[0].text)
	for _, p := range pats {
		m.minLen = min(m.minLen, len(p.text))
		m.maxLen = max(m.maxLen, len(p.text))
	}
	switch {
	case m.minLen >= 4:
		m.gram = 4
	case m.minLen >= 2:
		m.gram = 2
	default:
		m.gram = 1
	}
	m.step = min(m.minLen-m.gram+1, maxStep)
	entries := len(pats) * m.step
	// 64 bits a gram: a gram of ordinary text lands on a set bit about one
	// time in 64, to be looked up in the map. Fewer bits meant more lookups,
	// more meant more cache misses; both measured slower with 100 secrets.
	logBits := max(12, min(20, bits.Len(uint(entries*64-1))))
	m.shift = 32 - uint32(logBits)
	m.set = make([]uint64, 1<<logBits/64)
	m.cands = make(map[uint32][]cand, entries)
	m.first2 = make([]uint64, 65536/64)
	for i, p := range pats {
		for off := 0; off < m.step; off++ {
			g := m.load(p.text[off:])
			h := (g * hashMul) >> m.shift
			m.set[h>>6] |= 1 << (h & 63)
			m.cands[g] = append(m.cands[g], cand{pat: int32(i), off: int32(off)})
		}
		b0 := p.text[0]
		m.first[b0>>6] |= 1 << (b0 & 63)
		if len(p.text) >= 2 {
			k := uint16(b0)<<8 | uint16(p.text[1])
			m.first2[k>>6] |= 1 << (k & 63)
		}
		m.sorted = append(m.sorted, p.text)
	}
	slices.Sort(m.sorted)
	return m
}

// load reads the gram at the start of s (at least m.gram bytes).
func (m *matcher) load(s string) uint32 {
	switch m.gram {
	case 4:
		return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
	case 2:
		return uint32(s[0]) | uint32(s[1])<<8
	}
	return uint32(s[0])
}

// scan appends to occs every occurrence of a pattern that lies wholly in b,
// and to part the start of every occurrence that b's end cuts off, for those
// of which at least gram+step-1 bytes are in b (tails adds the others).
// Occurrences come nearly in order of their start; the caller sorts them.
func (m *matcher) scan(b []byte, occs []occ, part []int) ([]occ, []int) {
	if len(m.pats) == 0 {
		return occs, part
	}
	if m.gram == 4 {
		for t := m.next(b, 0); t >= 0; t = m.next(b, t+m.step) {
			occs, part = m.verify(b, t, binary.LittleEndian.Uint32(b[t:]), occs, part)
		}
		return occs, part
	}
	set, shift := m.set, m.shift&31
	for t := 0; t+m.gram <= len(b); t += m.step {
		g := uint32(b[t])
		if m.gram == 2 {
			g |= uint32(b[t+1]) << 8
		}
		h := (g * hashMul) >> shift
		if set[h>>6]&(1<<(h&63)) != 0 {
			occs, part = m.verify(b, t, g, occs, part)
		}
	}
	return occs, part
}

// next returns the first sample at or after t whose 4-byte gram is in the
// set, or -1. It is the loop that reads the stream: kept apart, so that what
// it needs stays in registers (inlined into scan, it would not).
//
//go:noinline
func (m *matcher) next(b []byte, t int) int {
	set, shift, step := m.set, m.shift&31, m.step
	for ; t < len(b)-3; t += step {
		g := binary.LittleEndian.Uint32(b[t : t+4])
		h := (g * hashMul) >> shift
		if set[h>>6]&(1<<(h&63)) != 0 {
			return t
		}
	}
	return -1
}

// verify compares the patterns that hold gram g at b[t:] in full.
func (m *matcher) verify(b []byte, t int, g uint32, occs []occ, part []int) ([]occ, []int) {
	for _, c := range m.cands[g] {
		p := t - int(c.off)
		if p < 0 {
			continue
		}
		text := m.pats[c.pat].text
		if end := p + len(text); end <= len(b) {
			if string(b[p:end]) == text {
				occs = append(occs, occ{start: int32(p), pat: c.pat})
			}
		} else if strings.HasPrefix(text, string(b[p:])) {
			part = append(part, p)
		}
	}
	return occs, part
}

// tails appends to part the start of each suffix of b shorter than
// gram+step-1 bytes that is the beginning of a longer pattern.
func (m *matcher) tails(b []byte, part []int) []int {
	if len(m.pats) == 0 {
		return part
	}
	n := len(b)
	for j := max(0, n-(m.gram+m.step-2)); j < n; j++ {
		c := b[j]
		if m.first[c>>6]&(1<<(c&63)) == 0 {
			continue
		}
		if j+1 < n {
			k := uint16(c)<<8 | uint16(b[j+1])
			if m.first2[k>>6]&(1<<(k&63)) == 0 {
				continue
			}
		}
		if m.startsPattern(b[j:]) {
			part = append(part, j)
		}
	}
	return part
}

// startsPattern reports whether some pattern longer than s begins with s.
func (m *matcher) startsPattern(s []byte) bool {
	// The first pattern not less than s; if one longer begins with s, it is
	// this one or, when this one is s itself, the next.
	lo, hi := 0, len(m.sorted)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if m.sorted[h] < string(s) {
			lo = h + 1
		} else {
			hi = h
		}
	}
	for i := lo; i < len(m.sorted) && i <= lo+1; i++ {
		if p := m.sorted[i]; len(p) > len(s) && p[:len(s)] == string(s) {
			return true
		}
	}
	return false
}
