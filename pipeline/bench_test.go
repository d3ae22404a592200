package pipeline_test

import (
	"context"
	"testing"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// BenchmarkMapHop measures what one Map stage adds per item: a channel hop
// into the stage and the bookkeeping of its mode. An op is one item. The
// "source only" case is the baseline, a source feeding the sink directly;
// subtract it from the others to get the cost of the Map hop alone.
func BenchmarkMapHop(b *testing.B) {
	cases := []struct {
		name string
		opts []pipeline.Option
		none bool // no Map stage at all
	}{
		{"source only", nil, true},
		{"unordered/1", []pipeline.Option{pipeline.WithConcurrency(1)}, false},
		{"unordered/4", []pipeline.Option{pipeline.WithConcurrency(4)}, false},
		{"ordered/4", []pipeline.Option{pipeline.WithConcurrency(4), pipeline.WithInputOrder()}, false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := b.N
			p := pipeline.New(context.Background())
			s := pipeline.Generate(p, func(_ context.Context, emit func(int) bool) error {
				for i := range n {
					if !emit(i) {
						return nil
					}
				}
				return nil
			})
			if !tc.none {
				s = pipeline.Map(s, func(_ context.Context, v int) (int, error) { return v + 1, nil }, tc.opts...)
			}
			b.ResetTimer()
			seen := 0
			if err := pipeline.ForEach(s, func(_ context.Context, _ int) error { seen++; return nil }); err != nil {
				b.Fatal(err)
			}
			if seen != n {
				b.Fatalf("%d items out of %d", seen, n)
			}
		})
	}
}
