package stages_test

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// The parsers of outside input must never panic, and must keep the
// one-record-per-item promise whatever they are given.

func FuzzLines(f *testing.F) {
	for _, s := range []string{"http://a/1\n", "\n#x\n  y \r\n", "a b/c?{}\n", "\xff\x00\n", "http://[::1\n"} {
		f.Add(s, "http://h/{}.json")
	}
	f.Fuzz(func(t *testing.T, input, template string) {
		if stages.CheckTemplate(template) != nil {
			return // WithTemplate refuses it
		}
		p := pipeline.New(t.Context())
		var got []stages.Request
		err := pipeline.ForEach(stages.Lines(p, strings.NewReader(input), stages.WithTemplate(template)),
			func(_ context.Context, r stages.Request) error { got = append(got, r); return nil })
		if err != nil {
			t.Fatal(err)
		}
		// bytes.TrimSpace also trims Unicode spaces, which strings.Lines
		// does not split on, so count with the same rule as the source.
		if want := itemsLike(input); len(got) != want {
			t.Fatalf("%d requests for %d items", len(got), want)
		}
		for i, r := range got {
			if r.Seq != int64(i) {
				t.Fatalf("request %d has seq %d", i, r.Seq)
			}
		}
	})
}

func itemsLike(input string) int {
	n := 0
	for line := range bytes.Lines(bytes.TrimPrefix([]byte(input), []byte("\xef\xbb\xbf"))) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			n++
		}
	}
	return n
}

func FuzzSpecs(f *testing.F) {
	for _, s := range []string{
		`{"url":"http://a/1","method":"POST","headers":{"K":"V"},"body":{"x":1},"meta":[1]}` + "\n",
		`{"url":1}` + "\n", "not json\n", `{"url":"http://a","body":"text"}`, `{}`, "[]\n\n#c\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		p := pipeline.New(t.Context())
		n := 0
		err := pipeline.ForEach(stages.Specs(p, strings.NewReader(input)), func(_ context.Context, r stages.Request) error {
			if r.Seq != int64(n) {
				t.Fatalf("request %d has seq %d", n, r.Seq)
			}
			if r.Err == nil && r.URL == "" {
				t.Fatalf("spec %d has no URL and no error", n)
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := itemsLike(input); n != want {
			t.Fatalf("%d requests for %d items", n, want)
		}
	})
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,2]}`, "{\n\"a\":\"x\xffy\"\r\n}", "<html>", `"\u2028"`, "", "nul\x00l"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, format := range []stages.Format{stages.JSON, stages.Text, stages.None} {
			p := pipeline.New(t.Context())
			in := pipeline.FromSlice(p, []stages.Record{{Status: 200, Body: bytes.Clone(body)}})
			err := pipeline.ForEach(stages.Decode(in, format), func(_ context.Context, r stages.Record) error {
				line := r.AppendJSON(nil)
				if bytes.ContainsAny(line, "\r\n") || !utf8.Valid(line) || !stdjson.Valid(line) {
					t.Fatalf("%v: not one valid JSON line: %q", format, line)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}
