package stages

import (
	"bytes"
	"fmt"
)

// Depth limits of JSON, counted in nested arrays and objects: a body of
// [[1]] is 2 deep, a scalar 0.
const (
	// DefaultMaxDepth keeps every record readable by jq 1.6 and 1.7,
	// which abort the whole stream on a line nested 256 deep and count
	// each object as two levels (its key is a level of its own): the
	// record's object is two levels, and a body 127 objects deep 254
	// more, whatever it nests.
	DefaultMaxDepth = 127

	// MaxDepth is the most WithMaxDepth allows: the record's own object
	// is a level more, and Go's encoding/json reads 10,000 levels, no
	// more. Deeper, readers downstream fail or crash.
	MaxDepth = 9999
)

// WithMaxDepth sets how deeply a JSON body may nest arrays and objects for
// Decode, DecodeAs and Fetch's WithDecode (default DefaultMaxDepth), and
// the meta of a Specs line: a deeper body fails its record with kind
// decode and is kept as text, a deeper spec is an invalid_input item.
// Either way it is found in one pass and little memory, however deep.
// Panics if n < 1 or n > MaxDepth.
func WithMaxDepth(n int) Option {
	if n < 1 || n > MaxDepth {
		panic(fmt.Sprintf("stages.WithMaxDepth: n must be from 1 to MaxDepth (%d), not %d", MaxDepth, n))
	}
	return set(optMaxDepth, func(s *settings) { s.maxDepth = n })
}

// tooDeep reports whether the JSON text b nests arrays and objects more
// than max deep, without validating it, so that a check that recurses
// once per level (a validator, a decoder) is never handed a document deep
// enough to exhaust the stack, or memory. A document cannot be deeper
// than its count of '[' and '{', which SIMD counts at memory speed, so
// the scan runs only for the rare body with more brackets than max.
func tooDeep(b []byte, max int) bool {
	if bytes.Count(b, []byte{'['})+bytes.Count(b, []byte{'{'}) <= max {
		return false
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i)
		case '[', '{':
			if depth++; depth > max {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

// stringEnd returns the index of the quote that closes the string opening
// at b[open], or len(b) if none does.
func stringEnd(b []byte, open int) int {
	for i := open + 1; ; i++ {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		// The quote is escaped if an odd number of backslashes precede it.
		k := i - 1
		for k > open && b[k] == '\\' {
			k--
		}
		if (i-1-k)%2 == 0 {
			return i
		}
	}
}

// deepMessage says why a document was refused, and how to let it through.
func deepMessage(what string, max int) string {
	return fmt.Sprintf("%s nests arrays and objects more than %d deep, which readers such as jq 1.6 may not read (the limit can be raised up to %d)", what, max, MaxDepth)
}
