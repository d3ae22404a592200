package stages_test

import (
	"strings"
	"testing"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// TestParserMakesWhatSourcesMake: an item parsed alone is the request a
// source makes of the same line, identity and errors included, so that
// items from a queue are the items of a list.
func TestParserMakesWhatSourcesMake(t *testing.T) {
	for _, tc := range []struct {
		name   string
		parser *stages.Parser
		source func(p *pipeline.Pipeline, in string) pipeline.Stream[stages.Request]
		items  []string
	}{
		{"lines", stages.LineParser(), func(p *pipeline.Pipeline, in string) pipeline.Stream[stages.Request] {
			return stages.Lines(p, strings.NewReader(in))
		}, []string{"https://example.com/a", "  https://example.com/b  ", "not a URL", "ftp://x/"}},
		{"template", stages.LineParser(stages.WithTemplate("https://example.com/r/{}.json")), func(p *pipeline.Pipeline, in string) pipeline.Stream[stages.Request] {
			return stages.Lines(p, strings.NewReader(in), stages.WithTemplate("https://example.com/r/{}.json"))
		}, []string{"golang", "a/b", ".."}},
		{"specs", stages.SpecParser(), func(p *pipeline.Pipeline, in string) pipeline.Stream[stages.Request] {
			return stages.Specs(p, strings.NewReader(in))
		}, []string{`{"url":"https://example.com/","method":"POST","body":{"q":1}}`, `{"url":"https://example.com/","id":7}`, `{"url":`, `[]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := collect(t, tc.source(pipeline.New(t.Context()), strings.Join(tc.items, "\n")))
			for i, item := range tc.items {
				got := tc.parser.Parse(int64(i), []byte(item))
				w := want[i]
				if got.Seq != w.Seq || got.Item != w.Item || got.URL != w.URL || got.Method != w.Method || string(got.Body) != string(w.Body) ||
					(got.Err == nil) != (w.Err == nil) || got.Err != nil && *got.Err != *w.Err {
					t.Errorf("item %q: Parse made %+v, the source %+v", item, got, w)
				}
			}
		})
	}
}
