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
			s := numbers(p, n)
			if !tc.none {
				s = pipeline.Map(s, func(_ context.Context, v int) (int, error) { return v + 1, nil }, tc.opts...)
			}
			b.ResetTimer()
			sinkCount(b, s, n)
		})
	}
}

// BenchmarkScheduleHop measures what a Schedule stage adds per item when
// nothing binds: work that does nothing (and could ask for a retry, but
// does not), a budget whose limits are never reached. Compare it with
// BenchmarkMapHop at the same concurrency: the difference is the price of
// the limits, the retries and the window.
func BenchmarkScheduleHop(b *testing.B) {
	cases := []struct {
		name string
		opts func() []pipeline.Option
	}{
		{"unordered/4", func() []pipeline.Option { return []pipeline.Option{pipeline.WithConcurrency(4)} }},
		{"ordered/4", func() []pipeline.Option {
			return []pipeline.Option{pipeline.WithConcurrency(4), pipeline.WithInputOrder()}
		}},
		{"keyed limits, none binding/4", func() []pipeline.Option {
			budget := pipeline.NewBudget(pipeline.Limits{InFlight: 4, Rate: 1e9, Burst: 1 << 20},
				func(string) pipeline.Limits { return pipeline.Limits{InFlight: 4, Rate: 1e9, Burst: 1 << 20} })
			return []pipeline.Option{pipeline.WithBudget(budget), pipeline.WithKey(func(v int) string { return "k" })}
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := b.N
			p := pipeline.New(context.Background())
			s := numbers(p, n)
			out := pipeline.Schedule(s, func(_ context.Context, t *pipeline.Task[int]) (int, error) {
				if t.Value < 0 {
					t.Retry(0)
				}
				return t.Value + 1, nil
			}, tc.opts()...)
			b.ResetTimer()
			sinkCount(b, out, n)
		})
	}
}

// numbers is a source of the numbers from 0 to n-1.
func numbers(p *pipeline.Pipeline, n int) pipeline.Stream[int] {
	return pipeline.Generate(p, func(_ context.Context, emit func(int) bool) error {
		for i := range n {
			if !emit(i) {
				return nil
			}
		}
		return nil
	})
}

// sinkCount is the benchmarks' sink: it counts what comes out, and fails
// unless it is n values.
func sinkCount(b *testing.B, s pipeline.Stream[int], n int) {
	seen := 0
	if err := pipeline.ForEach(s, func(context.Context, int) error { seen++; return nil }); err != nil {
		b.Fatal(err)
	}
	if seen != n {
		b.Fatalf("%d items out of %d", seen, n)
	}
}
