package stages

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCompactJSON: the verdict and the compacted text, for documents
// chosen at each branch of the scan, with every gap noted and with the
// list of gaps full after the first one (the path of huge bodies).
func TestCompactJSON(t *testing.T) {
	tests := []struct {
		name, in string
		want     verdict
		out      string // when valid
	}{
		{"compact", `{"a":[1,2,{"b":null}],"c":"d"}`, jsonValid, `{"a":[1,2,{"b":null}],"c":"d"}`},
		{"indented", "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"c\": \"d\"\n}\n", jsonValid, `{"a":[1,2],"c":"d"}`},
		{"python style", `{"a": 1, "b": [true, false, null]}`, jsonValid, `{"a":1,"b":[true,false,null]}`},
		{"spaces around everything", " \t\r\n[ 1 , { \"k\" : \"v\" } , [ ] , { } ] \n", jsonValid, `[1,{"k":"v"},[],{}]`},
		{"white space in strings", "[\" a \\\" b \", \"\\\\\", \"\\\\\\\"  \"]", jsonValid, `[" a \" b ","\\","\\\"  "]`},
		{"escapes", `["\b\f\n\r\t\/\u00e9\uD83D\uDE00"]`, jsonValid, `["\b\f\n\r\t\/\u00e9\uD83D\uDE00"]`},
		{"numbers", `[0, -0, 1.5, -2e10, 3E+2, 4.25e-3, 1234567890123456789012]`, jsonValid, `[0,-0,1.5,-2e10,3E+2,4.25e-3,1234567890123456789012]`},
		{"scalar", ` "x" `, jsonValid, `"x"`},
		{"non-ASCII", "{ \"名前\": \"café ☕ привет 🚀\" }", jsonValid, `{"名前":"café ☕ привет 🚀"}`},
		{"long string", `["` + strings.Repeat("abcdefgh", 20) + `" , 1]`, jsonValid, `["` + strings.Repeat("abcdefgh", 20) + `",1]`},
		{"invalid UTF-8 is replaced", "[ \"a\xffb\xc3\" ]", jsonValid, "[\"a\uFFFDb\uFFFD\"]"},
		{"each invalid byte is replaced", "[\"\xff\xfe\xfd\"]", jsonValid, "[\"\uFFFD\uFFFD\uFFFD\"]"},
		{"empty", "", jsonEmpty, ""},
		{"white space only", " \n\t ", jsonEmpty, ""},
		{"two values", `1 2`, jsonInvalid, ""},
		{"trailing comma", `[1,]`, jsonInvalid, ""},
		{"missing colon", `{"a" 1}`, jsonInvalid, ""},
		{"key not a string", `{a:1}`, jsonInvalid, ""},
		{"mismatched close", `[1}`, jsonInvalid, ""},
		{"unclosed", `{"a":[1`, jsonInvalid, ""},
		{"unclosed string", `["abc`, jsonInvalid, ""},
		{"control in string", "[\"a\tb\"]", jsonInvalid, ""},
		{"bad escape", `["\x"]`, jsonInvalid, ""},
		{"short unicode escape", `["\u12"]`, jsonInvalid, ""},
		{"leading zero", `01`, jsonInvalid, ""},
		{"bare minus", `-`, jsonInvalid, ""},
		{"dot without digits", `1.`, jsonInvalid, ""},
		{"exponent without digits", `1e+`, jsonInvalid, ""},
		{"word", `tru`, jsonInvalid, ""},
		{"html", `<html></html>`, jsonInvalid, ""},
		{"form feed is not white space", "\f1", jsonInvalid, ""},
		{"at the depth limit", strings.Repeat("[", 4) + strings.Repeat("]", 4), jsonValid, "[[[[]]]]"},
		{"past the depth limit", strings.Repeat("[", 5) + strings.Repeat("]", 5), jsonTooDeep, ""},
		{"past the limit in an object", `{"a":{"b":{"c":{"d":{}}}}}`, jsonTooDeep, ""},
	}
	for _, tt := range tests {
		for _, gaps := range []int{maxGaps, 1} {
			for _, owned := range []bool{false, true} {
				t.Run(tt.name, func(t *testing.T) {
					in := []byte(tt.in)
					s := &jsonScan{maxGaps: gaps}
					v := s.run(in, 4)
					if v != tt.want {
						t.Fatalf("verdict %d, want %d", v, tt.want)
					}
					if v != jsonValid {
						return
					}
					keep := bytes.Clone(in)
					if out := s.finish(in, owned); string(out) != tt.out {
						t.Errorf("compacted %q, want %q", out, tt.out)
					}
					if !owned && !bytes.Equal(in, keep) {
						t.Errorf("the input changed to %q, though not owned", in)
					}
				})
			}
		}
	}
}

// TestCompactJSONLeavesFailuresAsTheyCame: a body that is not JSON is
// kept, to show what came, even when its start had gaps to drop; the scan
// says where it stopped.
func TestCompactJSONLeavesFailuresAsTheyCame(t *testing.T) {
	for _, tt := range []struct {
		in string
		at int
	}{
		{"{\n  \"a\": 1\n} x", 13},
		{"[\n 1,\n 2", 8},
		{"[ [ [ [ [ ] ] ] ] ]", 0},
		{`{"a":"b` + "\x01" + `"}`, 7},
		{`["\x"]`, 2},
		{`{"a" 1}`, 5},
		{`{1:2}`, 1},
		{`[1,]`, 3},
		{`[tru]`, 1},
	} {
		b := []byte(tt.in)
		got, v, at := compactJSON(b, true, 4)
		if v == jsonValid || string(got) != tt.in || string(b) != tt.in {
			t.Errorf("compactJSON(%q) = %q, %d; the input is now %q", tt.in, got, v, b)
		}
		if v == jsonInvalid && at != tt.at {
			t.Errorf("compactJSON(%q) stopped at %d, want %d", tt.in, at, tt.at)
		}
	}
}

// TestLoneSurrogatesBecomeReplacementCharacters: jq 1.6 stops reading the
// whole stream at an escaped high surrogate with no low one after it, so
// such an escape is written \ufffd, which is what Go's encoding/json
// decodes it to; pairs, lone low surrogates (which jq reads) and escaped
// backslashes before a "u" stay as they came.
func TestLoneSurrogatesBecomeReplacementCharacters(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`"\ud800"`, `"\ufffd"`},
		{`["\uD83D\uDE00", "\ud800x", "\ud800\u0041"]`, `["\uD83D\uDE00","\ufffdx","\ufffd\u0041"]`},
		{`{"\ud800":"\uDFFF"}`, `{"\ufffd":"\uDFFF"}`},
		{`["\\ud800", "\\\ud800"]`, `["\\ud800","\\\ufffd"]`},
		{`"\ud800\ud800\udc00"`, `"\ufffd\ud800\udc00"`},
	} {
		for _, owned := range []bool{false, true} {
			in := []byte(tt.in)
			got, v, _ := compactJSON(in, owned, DefaultMaxDepth)
			if v != jsonValid || string(got) != tt.want {
				t.Errorf("compactJSON(%s) = %s, %d; want %s", tt.in, got, v, tt.want)
			}
			if !owned && string(in) != tt.in {
				t.Errorf("compactJSON(%s) wrote into a body it does not own", tt.in)
			}
		}
	}
}

// FuzzCompactJSON holds the scan to encoding/json: the same verdict on
// any bytes, and the same text as its Compact, but in UTF-8.
func FuzzCompactJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,2,{"b":null}],"c":"d"}`, "{\n  \"a\": [\n    1.5e3,\n    \"x\\\"y\"\n  ]\n}",
		`[true, false, null, -0.1]`, "[\"\xff\"]", `["\u00e9\n"]`, `{"a" : 1 , }`, "01", `"abc`,
		"[\"12345678\\\\\"]", "\"é€😀 plain ascii after\"",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, gaps uint8) {
		keep := bytes.Clone(in)
		s := &jsonScan{maxGaps: int(gaps%4) + 1} // also the rescan, early
		if gaps >= 128 {
			s.maxGaps = maxGaps
		}
		v := s.run(in, 10000) // encoding/json's own limit
		valid := stdjson.Valid(in)
		if empty := len(bytes.TrimLeft(in, " \t\r\n")) == 0; empty != (v == jsonEmpty) {
			t.Fatalf("verdict %d on %q, empty: %v", v, in, empty)
		}
		if v != jsonEmpty && valid != (v == jsonValid) {
			t.Fatalf("verdict %d on %q, encoding/json.Valid: %v", v, in, valid)
		}
		if v != jsonValid {
			return
		}
		for _, owned := range []bool{false, true} {
			out := s.finish(bytes.Clone(in), owned)
			if !utf8.Valid(out) {
				t.Fatalf("compacted %q to %q, not UTF-8", in, out)
			}
			var again bytes.Buffer
			if err := stdjson.Compact(&again, out); err != nil || !bytes.Equal(again.Bytes(), out) {
				t.Fatalf("compacted %q to %q, which is not compact JSON (%v)", in, out, err)
			}
			if !sameJSON(in, out) {
				t.Fatalf("compacted %q to %q, which decodes otherwise", in, out)
			}
			if utf8.Valid(in) && !s.loneSurrogate {
				var want bytes.Buffer
				_ = stdjson.Compact(&want, in)
				if !bytes.Equal(out, want.Bytes()) {
					t.Fatalf("compacted %q to %q, want %q", in, out, want.Bytes())
				}
			}
			if s.badUTF8 == utf8.Valid(in) {
				t.Fatalf("badUTF8 %v on %q", s.badUTF8, in)
			}
		}
		if !bytes.Equal(in, keep) {
			t.Fatal("the scan wrote into its input")
		}
	})
}

// sameJSON reports whether a and b decode to the same value with
// encoding/json, numbers as spelled; each invalid UTF-8 byte and each lone
// surrogate decodes to U+FFFD.
func sameJSON(a, b []byte) bool {
	decode := func(b []byte) (v any) {
		d := stdjson.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if d.Decode(&v) != nil {
			return errors.New("does not decode")
		}
		return v
	}
	return reflect.DeepEqual(decode(a), decode(b))
}
