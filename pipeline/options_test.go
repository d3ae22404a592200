package pipeline_test

import (
	"context"
	"testing"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// TestMistakesPanicWhenMade: an option a function does not take, and a
// count that makes no sense, panic when the stage is made, naming the
// mistake, rather than being ignored or quietly changed into another
// value for the whole run.
func TestMistakesPanicWhenMade(t *testing.T) {
	id := func(_ context.Context, v int) (int, error) { return v, nil }
	nums := func(p *pipeline.Pipeline) pipeline.Stream[int] { return pipeline.FromSlice(p, []int{1, 2}) }
	tests := []struct {
		name string
		f    func(p *pipeline.Pipeline)
		want string
	}{
		{"Map given a key", func(p *pipeline.Pipeline) {
			pipeline.Map(nums(p), id, pipeline.WithKey(func(int) string { return "" }))
		}, "pipeline.Map does not take WithKey; it takes WithConcurrency, WithBuffer, WithInputOrder, WithSpill"},
		{"Map given a budget", func(p *pipeline.Pipeline) {
			pipeline.Map(nums(p), id, pipeline.WithBudget(pipeline.NewBudget(pipeline.Limits{InFlight: 1}, nil)))
		}, "pipeline.Map does not take WithBudget"},
		{"FlatMap given a spill", func(p *pipeline.Pipeline) {
			pipeline.FlatMap(nums(p), func(context.Context, int, func(int) bool) error { return nil },
				pipeline.WithSpill(pipeline.Spill[int]{Encode: func(b []byte, v int) []byte { return b }, Decode: func([]byte) (int, error) { return 0, nil }}))
		}, "pipeline.FlatMap does not take WithSpill"},
		{"a source given concurrency", func(p *pipeline.Pipeline) {
			pipeline.FromSlice(p, []int{1}, pipeline.WithConcurrency(4))
		}, "pipeline.FromSlice does not take WithConcurrency; it takes WithBuffer"},
		{"ForEach given a buffer", func(p *pipeline.Pipeline) {
			pipeline.ForEach(nums(p), func(context.Context, int) error { return nil }, pipeline.WithBuffer(4))
		}, "pipeline.ForEach does not take WithBuffer; it takes WithIdle"},
		{"Tee given a window and order", func(p *pipeline.Pipeline) {
			pipeline.Tee(nums(p), 2, pipeline.WithWindow(1), pipeline.WithInputOrder())
		}, "pipeline.Tee does not take WithInputOrder, WithWindow"},
		{"Map that adapts", func(p *pipeline.Pipeline) {
			pipeline.Map(nums(p), id, pipeline.WithAdaptive(pipeline.Adaptive{}))
		}, "pipeline.Map does not take WithAdaptive"},
		{"a budget given a key", func(p *pipeline.Pipeline) {
			pipeline.NewBudget(pipeline.Limits{InFlight: 1}, nil, pipeline.WithKey(func(int) string { return "" }))
		}, "pipeline.NewBudget does not take WithKey; it takes WithAdaptive"},
		{"Schedule adapting a budget given", func(p *pipeline.Pipeline) {
			b := pipeline.NewBudget(pipeline.Limits{InFlight: 1}, nil)
			pipeline.Schedule(nums(p), func(context.Context, *pipeline.Task[int]) (int, error) { return 0, nil },
				pipeline.WithBudget(b), pipeline.WithAdaptive(pipeline.Adaptive{}))
		}, "give WithAdaptive to NewBudget"},
		{"a tolerance below 1", func(*pipeline.Pipeline) { pipeline.WithAdaptive(pipeline.Adaptive{Tolerance: 0.5}) }, "Tolerance 0 or at least 1"},
		{"concurrency 0", func(*pipeline.Pipeline) { pipeline.WithConcurrency(0) }, "at least 1, not 0"},
		{"negative buffer", func(*pipeline.Pipeline) { pipeline.WithBuffer(-1) }, "not -1"},
		{"buffer over MaxBuffer", func(*pipeline.Pipeline) { pipeline.WithBuffer(1 << 40) }, "from 0 to MaxBuffer"},
		{"Tee of no streams", func(p *pipeline.Pipeline) { pipeline.Tee(nums(p), 0) }, "pipeline.Tee: n must be at least 1"},
		{"Batch of size 0", func(p *pipeline.Pipeline) { pipeline.Batch(nums(p), 0) }, "pipeline.Batch: size must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.want, tt.f) })
	}
}
