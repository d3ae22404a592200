package stages_test

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"net/url"
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
		// Input that may be read as UTF-16 has other lines; for it the
		// seqs are checked, and that nothing panics.
		if want := itemsLike(input); len(got) != want && !mayBeUTF16(input) {
			t.Fatalf("%d requests for %d items", len(got), want)
		}
		for i, r := range got {
			if r.Seq != int64(i) {
				t.Fatalf("request %d has seq %d", i, r.Seq)
			}
		}
	})
}

// mayBeUTF16 reports whether Lines may read input as UTF-16: it starts
// with a UTF-16 byte order mark, or has a NUL in its first two bytes.
func mayBeUTF16(input string) bool {
	return strings.HasPrefix(input, "\xff\xfe") || strings.HasPrefix(input, "\xfe\xff") ||
		strings.IndexByte(input[:min(len(input), 2)], 0) >= 0
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
		if want := itemsLike(input); n != want && !mayBeUTF16(input) {
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

// FuzzTemplate: whatever the line, a {} fills only its own part of the
// URL: the query keeps its other parameters and gets the line back as the
// value, a path segment stays one segment, and a host is the line or the
// item is refused.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"golang", "l&admin=1", "a+b c#d", "..", "evil.com@x", "x/y?z", "%zz", "\x00", "[::1]:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		line = strings.TrimSpace(line)
		fill := func(template string) (stages.Request, *url.URL) {
			p := pipeline.New(t.Context())
			r := collect(t, stages.URLs(p, []string{line}, stages.WithTemplate(template)))[0]
			if r.Err != nil {
				if r.Err.Kind != stages.KindInvalidInput {
					t.Fatalf("%s: error %v", template, r.Err)
				}
				return r, nil
			}
			u, err := url.Parse(r.URL)
			if err != nil {
				t.Fatalf("%s gave %q, which does not parse: %v", template, r.URL, err)
			}
			return r, u
		}
		if _, u := fill("http://h/p?q={}&z=1"); u != nil {
			if q := u.Query(); len(q) != 2 || q.Get("q") != line || q.Get("z") != "1" {
				t.Fatalf("the query of %q is %v", u, q)
			}
		}
		if _, u := fill("http://h/r/{}/x"); u != nil {
			if u.Host != "h" || u.Path != "/r/"+line+"/x" || strings.Count(u.EscapedPath(), "/") != 3 {
				t.Fatalf("the path of %q is %q", u, u.EscapedPath())
			}
		}
		if r, u := fill("https://{}/robots.txt"); u != nil {
			if u.Host != line || u.Path != "/robots.txt" || u.User != nil {
				t.Fatalf("the line %q made %q, host %q", line, r.URL, u.Host)
			}
		}
	})
}

// FuzzRecordJSON: whatever a spec's meta and a response's body hold, a
// record is one valid JSON line.
func FuzzRecordJSON(f *testing.F) {
	f.Add(`{"a":[1,"\u2028"]}`, []byte("{\n\"b\":\"x\xffy\"}"), "server said \"no\"\n")
	f.Add("[\n1,\r\n2]", []byte("<html>\x00"), "\xff")
	f.Fuzz(func(t *testing.T, meta string, body []byte, message string) {
		p := pipeline.New(t.Context())
		spec := `{"url":"http://h/","meta":` + meta + "}\n"
		req := collect(t, stages.Specs(p, strings.NewReader(spec)))
		if len(req) != 1 {
			return // the meta held a line break: two lines, neither a spec
		}
		for _, format := range []stages.Format{stages.JSON, stages.Text} {
			rec := stages.Record{Seq: 1, URL: req[0].URL, Meta: req[0].Meta, Status: 200, Body: bytes.Clone(body)}
			if message != "" {
				rec.Err = &stages.Error{Kind: stages.KindHTTPStatus, Message: message}
			}
			p := pipeline.New(t.Context())
			for r, err := range pipeline.All(stages.Decode(pipeline.FromSlice(p, []stages.Record{rec}), format)) {
				if err != nil {
					t.Fatal(err)
				}
				line := r.AppendJSON(nil)
				if bytes.ContainsAny(line, "\r\n") || !utf8.Valid(line) || !stdjson.Valid(line) {
					t.Fatalf("%v: not one valid JSON line: %q", format, line)
				}
			}
		}
	})
}
