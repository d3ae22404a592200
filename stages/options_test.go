package stages_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// TestMistakesPanicWhenMade: an option a stage does not take, two options
// that exclude each other, and a value that means nothing panic when the
// stage or the option is made, naming the mistake, instead of being
// ignored or quietly read as some other value for the whole run.
func TestMistakesPanicWhenMade(t *testing.T) {
	budget := pipeline.NewBudget(pipeline.Limits{InFlight: 1}, nil)
	policy := func(*stages.Request, *stages.Record, time.Duration) (time.Duration, bool) { return 0, false }
	tests := []struct {
		name string
		f    func(p *pipeline.Pipeline)
		want string
	}{
		{"a template given to Specs", func(p *pipeline.Pipeline) {
			stages.Specs(p, strings.NewReader(""), stages.WithTemplate("https://example.com/{}"))
		}, "stages.Specs does not take WithTemplate; it takes WithBuffer"},
		{"a header given to Lines", func(p *pipeline.Pipeline) {
			stages.Lines(p, strings.NewReader(""), stages.WithHeader("X-Token", "t"))
		}, "stages.Lines does not take WithHeader; it takes WithBuffer, WithTemplate"},
		{"a template given to Fetch", func(p *pipeline.Pipeline) {
			stages.Fetch(stages.URLs(p, nil), stages.WithTemplate("https://example.com/{}"))
		}, "stages.Fetch does not take WithTemplate"},
		{"retries given to Decode", func(p *pipeline.Pipeline) {
			stages.Decode(stages.Fetch(stages.URLs(p, nil)), stages.JSON, stages.WithRetries(2))
		}, "stages.Decode does not take WithRetries; it takes WithConcurrency, WithInputOrder, WithBuffer"},
		{"a budget and per-host", func(p *pipeline.Pipeline) {
			stages.Fetch(stages.URLs(p, nil), stages.WithBudget(budget), stages.WithPerHost(2))
		}, "WithBudget replaces WithPerHost"},
		{"a budget that would adapt", func(p *pipeline.Pipeline) {
			stages.Fetch(stages.URLs(p, nil), stages.WithBudget(budget), stages.WithAutoThrottle())
		}, "WithBudget replaces WithAutoThrottle"},
		{"a budget and concurrency", func(p *pipeline.Pipeline) {
			stages.Fetch(stages.URLs(p, nil), stages.WithConcurrency(8), stages.WithBudget(budget))
		}, "WithBudget replaces WithConcurrency"},
		{"a retry policy and retries", func(p *pipeline.Pipeline) {
			stages.Fetch(stages.URLs(p, nil), stages.WithRetryPolicy(policy), stages.WithRetries(5))
		}, "WithRetryPolicy replaces WithRetries"},
		{"a client and a connect timeout", func(p *pipeline.Pipeline) {
			stages.Fetch(stages.URLs(p, nil), stages.WithClient(http.DefaultClient), stages.WithConnectTimeout(time.Second))
		}, "WithClient replaces WithConnectTimeout"},
		{"a depth limit with nothing to decode", func(p *pipeline.Pipeline) {
			stages.Fetch(stages.URLs(p, nil), stages.WithMaxDepth(100))
		}, "WithMaxDepth applies to the JSON decoding of WithDecode(JSON)"},
		{"a depth limit with text to decode", func(p *pipeline.Pipeline) {
			stages.Fetch(stages.URLs(p, nil), stages.WithDecode(stages.Text), stages.WithMaxDepth(100))
		}, "WithMaxDepth applies to the JSON decoding"},
		{"a depth limit on Decode(Text)", func(p *pipeline.Pipeline) {
			stages.Decode(stages.Fetch(stages.URLs(p, nil)), stages.Text, stages.WithMaxDepth(100))
		}, "WithMaxDepth applies to JSON, not text"},
		{"a burst with no rate", func(p *pipeline.Pipeline) {
			stages.Fetch(stages.URLs(p, nil), stages.WithBurst(5))
		}, "WithBurst applies to WithRate and WithHostRate"},
		{"a depth limit over MaxDepth", func(*pipeline.Pipeline) { stages.WithMaxDepth(20000) }, "from 1 to MaxDepth"},
		{"a header pattern that is not one", func(*pipeline.Pipeline) { stages.WithResponseHeaders("Link", "a/b") }, `"a/b" is not a header name`},
		{"concurrency 0", func(*pipeline.Pipeline) { stages.WithConcurrency(0) }, "at least 1, not 0"},
		{"a buffer of 2^40", func(*pipeline.Pipeline) { stages.WithBuffer(1 << 40) }, "pipeline.MaxBuffer"},
		{"a negative per-host limit", func(*pipeline.Pipeline) { stages.WithPerHost(-1) }, "WithPerHost: -1 is negative"},
		{"a negative timeout", func(*pipeline.Pipeline) { stages.WithTimeout(-time.Second) }, "WithTimeout: -1s is negative"},
		{"a rate per no time", func(*pipeline.Pipeline) { stages.WithRate(10, 0) }, "period must be positive"},
		{"a burst of 0", func(*pipeline.Pipeline) { stages.WithBurst(0) }, "at least 1"},
		{"a nil client", func(*pipeline.Pipeline) { stages.WithClient(nil) }, "nil client"},
		{"a kind not worth retrying", func(*pipeline.Pipeline) { stages.WithRetryOn(nil, stages.KindInvalidInput) }, "RetryableKinds"},
		{"a status that is not one", func(*pipeline.Pipeline) { stages.WithRetryOn([]int{1000}) }, "1000"},
		{"a template with no hole", func(*pipeline.Pipeline) { stages.WithTemplate("https://example.com/list") }, "no {} or {raw}"},
		{"a header name that is not a token", func(*pipeline.Pipeline) { stages.WithHeader("X Token", "v") }, "not a token"},
		{"a header value with a line break", func(*pipeline.Pipeline) { stages.WithHeader("X-Token", "a\r\nEvil: 1") }, "line break"},
		{"a method that is not a token", func(*pipeline.Pipeline) { stages.WithMethod("GE(T") }, "not an HTTP method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			defer func() {
				p.Stop()
				p.Wait()
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tt.want) {
					t.Errorf("panic %v, want one that says %q", r, tt.want)
				}
			}()
			tt.f(p)
		})
	}
}
