package stages_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	utf16lib "unicode/utf16"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

func collect[T any](t *testing.T, s pipeline.Stream[T]) []T {
	t.Helper()
	var out []T
	for v, err := range pipeline.All(s) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// brief is what a test compares of a Request: its position, URL or error kind.
func brief(r stages.Request) string {
	if r.Err != nil {
		return string(r.Err.Kind)
	}
	return r.URL
}

func TestLines(t *testing.T) {
	long := strings.Repeat("x", stages.MaxLine+10)
	// A line of exactly MaxLine bytes is accepted, whatever its line end.
	limit := "http://a/" + strings.Repeat("y", stages.MaxLine-len("http://a/"))
	cases := []struct {
		name, input, template string
		want                  []string
	}{
		{"plain", "http://a/1\nhttp://a/2\n", "", []string{"http://a/1", "http://a/2"}},
		{"no final newline, CRLF, spaces", "  http://a/1 \r\nhttp://a/2", "", []string{"http://a/1", "http://a/2"}},
		{"blank and comment lines are not items", "\n# names\nhttp://a/1\n\n  \n#x\nhttp://a/2\n", "", []string{"http://a/1", "http://a/2"}},
		{"template path-escapes", "golang\na b/c?\n", "http://h/r/{}.json", []string{"http://h/r/golang.json", "http://h/r/a%20b%2Fc%3F.json"}},
		{"raw placeholder", "q=1&r=2\n", "http://h/search?{raw}", []string{"http://h/search?q=1&r=2"}},
		{"several placeholders and a stray brace", "x\n", "http://h/{}/{raw}/{x}", []string{"http://h/x/x/{x}"}},
		{"overlong line is an item with an error", "http://a/1\n" + long + "\nhttp://a/2\n", "", []string{"http://a/1", "invalid_input", "http://a/2"}},
		{"line at the limit, LF", limit + "\nhttp://a/2\n", "", []string{limit, "http://a/2"}},
		{"line at the limit, CRLF", limit + "\r\nhttp://a/2", "", []string{limit, "http://a/2"}},
		{"line at the limit, end of input", limit, "", []string{limit}},
		{"one byte over", limit + "z\nhttp://a/2\n", "", []string{"invalid_input", "http://a/2"}},
		{"far over, no newline", strings.Repeat(long, 3), "", []string{"invalid_input"}},
		{"overlong comment and blank lines are not items", "#" + long + "\n" + strings.Repeat(" ", stages.MaxLine+5) + "\nhttp://a/1\n", "", []string{"http://a/1"}},
		{"a byte order mark is not part of the first line", "\xef\xbb\xbfhttp://a/1\n", "", []string{"http://a/1"}},
		{"a byte order mark before a comment", "\xef\xbb\xbf# list\nhttp://a/1\n", "", []string{"http://a/1"}},
		{"empty input", "", "", nil},
		{"a line that starts with a NUL is an item", "\x00http://a/1\nhttp://a/2\n", "", []string{"\x00http://a/1", "http://a/2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := pipeline.New(t.Context())
			reqs := collect(t, stages.Lines(p, strings.NewReader(tc.input), stages.WithTemplate(tc.template)))
			var got []string
			for i, r := range reqs {
				if r.Seq != int64(i) {
					t.Errorf("item %d has seq %d", i, r.Seq)
				}
				got = append(got, brief(r))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestURLs(t *testing.T) {
	p := pipeline.New(t.Context())
	// Every item is an item: unlike a file's lines, none is skipped.
	reqs := collect(t, stages.URLs(p, []string{" a ", "", "#c", "b"}, stages.WithTemplate("http://h/{}")))
	var got []string
	for i, r := range reqs {
		if r.Seq != int64(i) {
			t.Errorf("item %d has seq %d", i, r.Seq)
		}
		got = append(got, r.URL)
	}
	if want := []string{"http://h/a", "http://h/", "http://h/%23c", "http://h/b"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSpecs(t *testing.T) {
	cases := []struct {
		name, line string
		check      func(t *testing.T, r stages.Request)
	}{
		{"full spec", `{"url":"http://h/x","method":"POST","headers":{"X-A":"1"},"body":{"k":[1,2]},"meta":{"id":"a1"}}`,
			func(t *testing.T, r stages.Request) {
				if r.Err != nil || r.URL != "http://h/x" || r.Method != "POST" || r.Header.Get("X-A") != "1" ||
					string(r.Body) != `{"k":[1,2]}` || r.Header.Get("Content-Type") != "application/json" || string(r.Meta) != `{"id":"a1"}` {
					t.Errorf("got %+v", r)
				}
			}},
		{"string body is sent as text", `{"url":"http://h/x","body":"a=1&b=2","headers":{"Content-Type":"text/plain"}}`,
			func(t *testing.T, r stages.Request) {
				if string(r.Body) != "a=1&b=2" || r.Header.Get("Content-Type") != "text/plain" {
					t.Errorf("got %+v", r)
				}
			}},
		{"not JSON", `http://h/x`, kindIs(stages.KindInvalidInput)},
		{"no url", `{"meta":1}`, func(t *testing.T, r stages.Request) {
			kindIs(stages.KindInvalidInput)(t, r)
			if string(r.Meta) != "1" {
				t.Errorf("meta lost on a bad spec: %q", r.Meta)
			}
		}},
		{"wrong type", `{"url":5}`, says(`request spec field "url" must be a string, not a number`)},
		{"a header of the wrong type", `{"url":"http://h/","headers":{"A":[1]}}`, says(`request spec header "A" must be a string, not an array`)},
		{"headers of the wrong type", `{"url":"http://h/","headers":"A: 1"}`, says(`request spec field "headers" must be an object of strings, not a string`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			reqs := collect(t, stages.Specs(p, strings.NewReader(tc.line+"\n")))
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			tc.check(t, reqs[0])
		})
	}
}

func kindIs(k stages.Kind) func(t *testing.T, r stages.Request) {
	return func(t *testing.T, r stages.Request) {
		t.Helper()
		if r.Err == nil || r.Err.Kind != k {
			t.Errorf("got error %v, want kind %s", r.Err, k)
		}
	}
}

// says checks that a request is an invalid_input item whose message, in
// the words of the spec's schema rather than Go's, is msg.
func says(msg string) func(t *testing.T, r stages.Request) {
	return func(t *testing.T, r stages.Request) {
		t.Helper()
		if r.Err == nil || r.Err.Kind != stages.KindInvalidInput || r.Err.Message != msg {
			t.Errorf("error %v, want invalid_input: %s", r.Err, msg)
		}
	}
}

// TestSpecListItemsSkipNothing: each item is one spec, over several lines
// or none; an empty item and a "#" item are items that are not specs.
func TestSpecListItemsSkipNothing(t *testing.T) {
	p := pipeline.New(t.Context())
	reqs := collect(t, stages.SpecList(p, []string{"{\n \"url\": \"http://h/a\",\n \"meta\": [\n1]\n}", "", "# c"}))
	if len(reqs) != 3 || reqs[0].Err != nil || reqs[0].URL != "http://h/a" || string(reqs[0].Meta) != "[1]" {
		t.Fatalf("requests %+v", reqs)
	}
	for _, r := range reqs[1:] {
		if r.Err == nil || r.Err.Kind != stages.KindInvalidInput {
			t.Errorf("request %d: error %v, want invalid_input", r.Seq, r.Err)
		}
	}
}

// utf16 encodes s as UTF-16, with a byte order mark if bom.
func utf16(s string, bigEndian, bom bool) []byte {
	var b []byte
	put := func(u uint16) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	if bom {
		put(0xFEFF)
	}
	for _, u := range utf16lib.Encode([]rune(s)) {
		put(u)
	}
	return b
}

// TestUTF16InputIsRead: a UTF-16 file of N URLs, as spreadsheets export
// them, gave one record; it is read as text, with or without a byte order
// mark, in either byte order.
func TestUTF16InputIsRead(t *testing.T) {
	const text = "http://h/a\r\nhttp://h/é\r\n# comment\r\nhttp://h/c\r\n"
	want := []string{"0 http://h/a", "1 http://h/é", "2 http://h/c"}
	for _, tt := range []struct {
		name           string
		bigEndian, bom bool
	}{{"little-endian with a BOM", false, true}, {"big-endian with a BOM", true, true}, {"little-endian", false, false}, {"big-endian", true, false}} {
		t.Run(tt.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			var got []string
			for _, r := range collect(t, stages.Lines(p, bytes.NewReader(utf16(text, tt.bigEndian, tt.bom)))) {
				got = append(got, fmt.Sprint(r.Seq, " ", brief(r)))
			}
			if !slices.Equal(got, want) {
				t.Errorf("requests %q, want %q", got, want)
			}
		})
	}
}

// TestTemplateEscapesForItsPartOfTheURL: a {} was path-escaped wherever it
// stood, so that in a query a word with "&" or "=" added parameters and
// "+" read as a space, a ".." walked up the path, and in the host a word
// with "@" named another host. Each {} is escaped for its part of the URL.
func TestTemplateEscapesForItsPartOfTheURL(t *testing.T) {
	tests := []struct {
		template, line, want string // want: the URL, or the error kind
	}{
		{"http://h/p?q={}", "l&admin=1", "http://h/p?q=l%26admin%3D1"},
		{"http://h/p?q={}", "a+b c#d", "http://h/p?q=a%2Bb+c%23d"},
		{"http://h/p?{}=1", "k=v", "http://h/p?k%3Dv=1"},
		{"http://h/r/{}.json", "a/b?c", "http://h/r/a%2Fb%3Fc.json"},
		{"http://h/r/{}", "..", "invalid_input"},
		{"http://h/r/{}", ".", "invalid_input"},
		{"http://h/r/{}", "...", "http://h/r/..."},
		{"https://{}/robots.txt", "example.com", "https://example.com/robots.txt"},
		{"https://{}/robots.txt", "example.com:8443", "https://example.com:8443/robots.txt"},
		{"https://{}/robots.txt", "evil.com@x", "invalid_input"},
		{"https://{}/robots.txt", "x/y", "invalid_input"},
		{"https://{}/robots.txt", "", "invalid_input"},
		{"https://{}/robots.txt", ":8080", "invalid_input"},
		{"https://{}@api/x", "tok+en/=a b@c", "https://tok%2Ben%2F%3Da%20b%40c@api/x"},
		{"https://u:{}@api/x", "p:w", "https://u:p%3Aw@api/x"},
		{"https://{}.example.com/", "eu", "https://eu.example.com/"},
		{"http://h/#{}", "a b", "http://h/#a%20b"},
		{"{raw}/items?id={}", "1&x=2", "{raw}"}, // filled below
		{"http://h/?q={raw}", "a&b=c", "http://h/?q=a&b=c"},
	}
	for _, tt := range tests {
		t.Run(tt.template+" "+tt.line, func(t *testing.T) {
			line, want := tt.line, tt.want
			if want == "{raw}" { // {raw} takes the whole line, and so does {}
				line, want = "http://h", "http://h/items?id=http%3A%2F%2Fh"
			}
			p := pipeline.New(t.Context())
			got := brief(collect(t, stages.URLs(p, []string{line}, stages.WithTemplate(tt.template)))[0])
			if got != want {
				t.Errorf("%s with %q gives %s, want %s", tt.template, line, got, want)
			}
		})
	}
}

// trickle hands out its bytes a few at a time, as a pipe may.
type trickle struct {
	b []byte
	n int
}

func (r *trickle) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestUTF16InputInPieces: UTF-16 arriving a byte or three at a time, as
// through a pipe, was read as UTF-8 from what had come; it waits for
// enough bytes to tell, and a UTF-8 line is not held up.
func TestUTF16InputInPieces(t *testing.T) {
	const text = "http://h/a\r\n# c\r\nhttp://h/b\r\n"
	for _, n := range []int{1, 2, 3} {
		for _, bom := range []bool{true, false} {
			t.Run(fmt.Sprint(n, " bytes at a time, BOM ", bom), func(t *testing.T) {
				p := pipeline.New(t.Context())
				var got []string
				for _, r := range collect(t, stages.Lines(p, &trickle{utf16(text, false, bom), n})) {
					got = append(got, brief(r))
				}
				if want := []string{"http://h/a", "http://h/b"}; !slices.Equal(got, want) {
					t.Errorf("requests %q, want %q", got, want)
				}
			})
		}
	}
	p := pipeline.New(t.Context())
	if got := collect(t, stages.Lines(p, &trickle{[]byte("ab\nc\n"), 1})); len(got) != 2 || got[0].URL != "ab" {
		t.Errorf("UTF-8 read a byte at a time: %+v", got)
	}
}

// scripted returns its reads in turn, then blocks (as a terminal after
// Ctrl-D does) until the test ends.
type scripted struct {
	reads []struct {
		s   string
		err error
	}
	block <-chan struct{}
}

func (r *scripted) Read(p []byte) (int, error) {
	if len(r.reads) == 0 {
		<-r.block
		return 0, io.ErrClosedPipe
	}
	next := r.reads[0]
	r.reads = r.reads[1:]
	return copy(p, next.s), next.err
}

// TestFirstReadErrorIsKept: the first bytes are peeked to tell UTF-16
// from UTF-8, and a peek forgets the error it reports; an error that
// comes with the first bytes must still end the run as a failed read, and
// an EOF must end the input, not lead to another read that blocks.
func TestFirstReadErrorIsKept(t *testing.T) {
	broken := errors.New("disk on fire")
	block := make(chan struct{})
	defer close(block)
	type read = struct {
		s   string
		err error
	}
	t.Run("an error, then EOF", func(t *testing.T) {
		r := &scripted{reads: []read{{"http://a", broken}, {"", io.EOF}}, block: block}
		p := pipeline.New(t.Context())
		err := pipeline.ForEach(stages.Lines(p, r), func(context.Context, stages.Request) error { return nil })
		if !errors.Is(err, broken) {
			t.Errorf("error %v, want the read's", err)
		}
	})
	t.Run("EOF, then a read that blocks", func(t *testing.T) {
		r := &scripted{reads: []read{{"http://a", io.EOF}}, block: block}
		p := pipeline.New(t.Context())
		n := 0
		err := pipeline.ForEach(stages.Lines(p, r), func(context.Context, stages.Request) error { n++; return nil })
		if n != 1 || err != nil {
			t.Errorf("%d items, error %v; want the one item read", n, err)
		}
	})
}
