package stages

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"sync"
	"unicode/utf8"
)

// A record embeds a JSON body as a value on one line, and every reader
// downstream pays for each byte of it, so the body loses its insignificant
// white space: an indented answer is often half padding. Checking and
// compacting are one scan. The scan validates, counts depth and notes
// where the white space lies; compacting then only moves the bytes between
// the gaps it noted, without parsing again. A body already compact, the
// common case, is scanned once and neither written nor copied. The scan
// never writes: a body that turns out not to be JSON must be kept as it
// came, to show what came instead.

// verdict is what a scan found.
type verdict uint8

const (
	jsonValid verdict = iota
	jsonEmpty         // nothing but white space
	jsonInvalid
	jsonTooDeep
)

// compactJSON checks that b is one JSON document nested at most maxDepth
// deep and returns it with no insignificant white space, with each byte
// that is not UTF-8 (which validators accept inside strings, but strict
// readers do not) replaced by U+FFFD, and with each escaped high surrogate
// that no low one follows (\ud800 alone, which jq 1.6 refuses, stopping
// the whole stream) written \ufffd, as Go's encoding/json reads it. It
// writes into b only if owned, and only when the verdict is jsonValid;
// otherwise a body that must change is a new slice. On any other verdict
// b is returned as it came, with at the offset where the scan stopped.
func compactJSON(b []byte, owned bool, maxDepth int) (out []byte, v verdict, at int) {
	s := scans.Get().(*jsonScan)
	defer s.release()
	if v = s.run(b, maxDepth); v != jsonValid {
		return b, v, s.at
	}
	return s.finish(b, owned), jsonValid, 0
}

// finish returns b, which the scan found valid, compacted, in UTF-8 and
// with no lone high surrogate. The last two are rare enough that the scan
// only notes them.
func (s *jsonScan) finish(b []byte, owned bool) []byte {
	if len(s.gaps) > 0 || s.rescan >= 0 {
		b, owned = s.compact(b, owned), true
	}
	if s.loneSurrogate {
		if !owned {
			b, owned = bytes.Clone(b), true
		}
		fixSurrogates(b)
	}
	if s.badUTF8 {
		b = validUTF8(b)
	}
	return b
}

// jsonScan is the state of one scan, pooled so that a scan of a body with
// many gaps or deep nesting allocates nothing once the pool is warm.
type jsonScan struct {
	// gaps holds the white space to drop, as pairs of start and end
	// offsets in order.
	gaps []int32
	// rescan >= 0 is where gaps stopped being noted, past maxGaps pairs:
	// an unusual body, such as a large array of numbers after ", ", would
	// otherwise need a list as large as itself. From there compacting
	// parses strings again (squeeze).
	rescan  int
	maxGaps int
	badUTF8 bool
	// loneSurrogate: some \uD800-\uDBFF escape has no low surrogate
	// after it.
	loneSurrogate bool
	// at is where a scan that failed stopped: the byte that is not JSON,
	// or the start of the token that is not, or len(b).
	at int
	// objects holds, for each open array or object, whether it is an
	// object.
	objects []bool
}

// maxGaps bounds the gaps a scan notes: 64K pairs, 512 KiB of offsets,
// enough for an indented body of a megabyte or two. Beyond, compacting
// costs about half as much again as the scan (squeeze).
const maxGaps = 1 << 16

var scans = sync.Pool{New: func() any { return &jsonScan{maxGaps: maxGaps} }}

func (s *jsonScan) release() {
	// A scan that grew for deep nesting is not kept for every shallow
	// document. The gaps are bounded.
	if cap(s.objects) > 1<<10 {
		s.objects = nil
	}
	scans.Put(s)
}

// run scans b as one JSON value with only white space around it.
func (s *jsonScan) run(b []byte, maxDepth int) verdict {
	s.gaps, s.objects, s.rescan, s.badUTF8, s.loneSurrogate = s.gaps[:0], s.objects[:0], -1, false, false
	i := s.space(b, 0)
	if i == len(b) {
		return jsonEmpty
	}
	for {
		// A value starts at b[i].
		s.at = i
		if i >= len(b) {
			return jsonInvalid
		}
		switch c := b[i]; c {
		case '{', '[':
			if len(s.objects) == maxDepth {
				return jsonTooDeep
			}
			if i = s.space(b, i+1); i < len(b) && b[i] == c+2 { // '}' and ']' follow '{' and '[' by two
				i++
				break
			}
			s.objects = append(s.objects, c == '{')
			if c == '{' {
				if i = s.key(b, i); i < 0 {
					return jsonInvalid
				}
			}
			continue
		case '"':
			if i = s.str(b, i); i < 0 {
				return jsonInvalid // s.at is where in the string
			}
		case 't':
			i = literal(b, i, "true")
		case 'f':
			i = literal(b, i, "false")
		case 'n':
			i = literal(b, i, "null")
		default:
			i = number(b, i)
		}
		if i < 0 {
			return jsonInvalid
		}
		// After a value: a comma and the next, or the end of what holds it.
	after:
		for {
			i = s.space(b, i)
			s.at = i
			n := len(s.objects)
			if n == 0 {
				if i == len(b) {
					return jsonValid
				}
				return jsonInvalid
			}
			if i >= len(b) {
				return jsonInvalid
			}
			object := s.objects[n-1]
			switch b[i] {
			case ',':
				if i = s.space(b, i+1); object {
					if i = s.key(b, i); i < 0 {
						return jsonInvalid
					}
				}
				break after
			case '}':
				if !object {
					return jsonInvalid
				}
			case ']':
				if object {
					return jsonInvalid
				}
			default:
				return jsonInvalid
			}
			s.objects = s.objects[:n-1]
			i++
		}
	}
}

// key reads an object's key and its colon at b[i], and returns where the
// value starts, or -1 with s.at set.
func (s *jsonScan) key(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		s.at = i
		return -1
	}
	if i = s.str(b, i); i < 0 {
		return -1
	}
	if i = s.space(b, i); i >= len(b) || b[i] != ':' {
		s.at = i
		return -1
	}
	return s.space(b, i+1)
}

// space skips the white space at b[i] and notes it as a gap. Compact
// JSON has none, so that case is inlined at every call.
func (s *jsonScan) space(b []byte, i int) int {
	if i >= len(b) || b[i] > ' ' {
		return i
	}
	return s.gap(b, i)
}

//go:noinline // so that space, which calls it rarely, inlines
func (s *jsonScan) gap(b []byte, i int) int {
	start := i
	if !isSpace[b[i]] {
		return i // a control character: not JSON
	}
	// Indentation is a line break, then spaces.
	for i++; i+8 <= len(b) && binary.LittleEndian.Uint64(b[i:]) == swarOnes*' '; {
		i += 8
	}
	for i < len(b) && isSpace[b[i]] {
		i++
	}
	if s.rescan < 0 {
		if len(s.gaps) == 2*s.maxGaps || i > math.MaxInt32 {
			s.rescan = start
		} else {
			s.gaps = append(s.gaps, int32(start), int32(i))
		}
	}
	return i
}

var isSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// Eight bytes at a time, as one word: swar* find the bytes that end a run
// of plain string content.
const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// swarStops has the high bit set in the lowest byte of x (little-endian)
// that is a quote, a backslash, a control character or not ASCII, if any.
// Bytes above that one may be flagged wrongly, by a borrow: only the
// lowest counts.
func swarStops(x uint64) uint64 {
	quote := x ^ (swarOnes * '"')
	slash := x ^ (swarOnes * '\\')
	// A byte below 0x20 wraps when 0x20 is taken from it; one of 0x80 and
	// above has its own high bit; a quote or backslash is 0 after the xor,
	// and wraps when 1 is taken.
	return ((x - swarOnes*0x20) | x | (quote - swarOnes) | (slash - swarOnes)) & swarHigh
}

// plain is what swarStops does not stop at, for one byte.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str checks the string whose quote is at b[i] and returns the offset
// after its closing quote, or -1 with s.at set.
func (s *jsonScan) str(b []byte, i int) int {
	i++
	for {
		// Each turn passes eight plain bytes or stops at one that is not.
		if i+8 <= len(b) {
			m := swarStops(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(b) && plain[b[i]] {
				i++
			}
			if i >= len(b) {
				s.at = i
				return -1
			}
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			s.at = i
			if i = s.escape(b, i); i < 0 {
				return -1
			}
		case c < 0x20:
			s.at = i
			return -1
		default:
			i = s.utf8(b, i)
		}
	}
}

// utf8 checks the characters above ASCII from b[i] on and returns the
// offset of the next ASCII byte. Two- and three-byte characters, most of
// the world's scripts, are checked here; the rest by the utf8 package.
func (s *jsonScan) utf8(b []byte, i int) int {
	for i < len(b) && b[i] >= utf8.RuneSelf {
		switch c := b[i]; {
		case 0xC2 <= c && c < 0xE0 && i+1 < len(b) && b[i+1]&0xC0 == 0x80:
			i += 2
		case 0xE1 <= c && c < 0xF0 && c != 0xED && i+2 < len(b) && b[i+1]&0xC0 == 0x80 && b[i+2]&0xC0 == 0x80:
			i += 3 // E0 and ED restrict their second byte: below
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				s.badUTF8 = true
			}
			i += size
		}
	}
	return i
}

// escape checks the escape sequence at b[i] (a backslash) and returns the
// offset after it, or -1.
func (s *jsonScan) escape(b []byte, i int) int {
	if i+1 >= len(b) {
		return -1
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2
	case 'u':
		r, ok := hex4(b, i+2)
		if !ok {
			return -1
		}
		if 0xD800 <= r && r <= 0xDBFF {
			if !lowSurrogateAt(b, i+6) {
				s.loneSurrogate = true
			}
		}
		return i + 6
	}
	return -1
}

// hex4 reads the four hex digits at b[i:], if there are four.
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// fixSurrogates writes \ufffd in place of each escaped high surrogate of
// the valid JSON text b that no escaped low surrogate follows: the same
// length, so in place.
func fixSurrogates(b []byte) {
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		// In a string: step over escapes until its closing quote.
		for i++; b[i] != '"'; i++ {
			if b[i] != '\\' {
				continue
			}
			if b[i+1] == 'u' {
				if r, _ := hex4(b, i+2); 0xD800 <= r && r <= 0xDBFF {
					if lowSurrogateAt(b, i+6) {
						i += 6 // the pair: step over its first half here
					} else {
						copy(b[i+2:i+6], "fffd")
					}
				}
			}
			i++ // the escaped character; a \u's digits are plain
		}
	}
}

// lowSurrogateAt reports whether b[j:] starts with the escape of a low
// surrogate, \uDC00 to \uDFFF: the half that must follow a high one.
func lowSurrogateAt(b []byte, j int) bool {
	low, ok := hex4(b, j+2)
	return ok && b[j] == '\\' && b[j+1] == 'u' && 0xDC00 <= low && low <= 0xDFFF
}

// validUTF8 returns b with each byte that is not part of a UTF-8 character
// replaced by U+FFFD, one for each, as a record writes a text body: a body
// shows the same whether decoded as JSON or as text.
func validUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}

// literal checks that b holds word at i and returns the offset after it,
// or -1.
func literal(b []byte, i int, word string) int {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}

// number checks the number at b[i] and returns the offset after it, or -1.
func number(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		start := i + 1
		if i = digits(b, start); i == start {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		if i = digits(b, start); i == start {
			return -1
		}
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// compact returns b, which the scan found valid, without its gaps: in
// place if owned, else in a new slice.
func (s *jsonScan) compact(b []byte, owned bool) []byte {
	dst := b
	if !owned {
		dropped := 0
		for k := 0; k < len(s.gaps); k += 2 {
			dropped += int(s.gaps[k+1] - s.gaps[k])
		}
		dst = make([]byte, len(b)-dropped)
	}
	// dst may be b: every copy moves bytes down, never past unread ones.
	w, r := 0, 0
	for gaps := s.gaps; len(gaps) >= 2; gaps = gaps[2:] {
		w += copy(dst[w:], b[r:gaps[0]])
		r = int(gaps[1])
	}
	if s.rescan < 0 {
		w += copy(dst[w:], b[r:])
		return dst[:w]
	}
	w += copy(dst[w:], b[r:s.rescan])
	return dst[:squeeze(dst, b[s.rescan:], w)]
}

// squeeze appends the valid JSON text src to dst[:w] without white space
// outside strings and returns the new length. dst may share src's array
// if what it writes never passes what it reads.
func squeeze(dst, src []byte, w int) int {
	for r := 0; r < len(src); {
		switch c := src[r]; c {
		case ' ', '\t', '\n', '\r':
			r++
		case '"':
			end := stringEnd(src, r) + 1
			w += copy(dst[w:], src[r:end])
			r = end
		default:
			dst[w] = c
			w++
			r++
		}
	}
	return w
}
