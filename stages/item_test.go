package stages_test

import (
	"strings"
	"testing"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// TestItemIdentity: an item's identity is a hash of what was read, the
// same in every run (pinned here: it must never change, or a resume would
// refuse every output written before): a line before its template, a
// spec's canonical form without its meta, or the spec's own id.
func TestItemIdentity(t *testing.T) {
	if got := stages.ItemOf("golang"); got != "44693c8f0c10fc33" {
		t.Errorf(`ItemOf("golang") = %s: the identity of an item changed`, got)
	}
	item := func(source func(p *pipeline.Pipeline) pipeline.Stream[stages.Request]) string {
		p := pipeline.New(t.Context())
		return collect(t, source(p))[0].Item
	}
	line := func(s string, opts ...stages.Option) string {
		return item(func(p *pipeline.Pipeline) pipeline.Stream[stages.Request] {
			return stages.Lines(p, strings.NewReader(s+"\n"), opts...)
		})
	}
	spec := func(s string) string {
		return item(func(p *pipeline.Pipeline) pipeline.Stream[stages.Request] {
			return stages.Specs(p, strings.NewReader(s+"\n"))
		})
	}
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"a line, with or without a template", line("golang"), line("golang", stages.WithTemplate("https://h/r/{}.json")), true},
		{"a line and its argument", line("  golang "), item(func(p *pipeline.Pipeline) pipeline.Stream[stages.Request] { return stages.URLs(p, []string{"golang"}) }), true},
		{"a changed password", line("https://u:old@h/"), line("https://u:new@h/"), false},
		{"two POSTs with different bodies", spec(`{"url":"http://h/","method":"POST","body":{"q":1}}`), spec(`{"url":"http://h/","method":"POST","body":{"q":2}}`), false},
		{"a spec's meta is not the request", spec(`{"url":"http://h/","meta":1}`), spec(`{"url":"http://h/","meta":2}`), true},
		{"headers in any order", spec(`{"url":"http://h/","headers":{"A":"1","B":"2"}}`), spec(`{"url":"http://h/","headers":{"B":"2","A":"1"}}`), true},
		{"a spec's own id", spec(`{"url":"http://h/a","id":"row-17"}`), "row-17", true},
		{"a numeric id", spec(`{"url":"http://h/a","id":17}`), "17", true},
		{"a line that is not a spec", spec(`not json`), stages.ItemOf("not json"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.a == "" || (tt.a == tt.b) != tt.same {
				t.Errorf("items %q and %q, want same %v", tt.a, tt.b, tt.same)
			}
		})
	}
}
