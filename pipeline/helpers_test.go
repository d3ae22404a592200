package pipeline_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

func TestFlatMap(t *testing.T) {
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			// Value v emits v%4 copies of itself: some none, some several.
			out := pipeline.FlatMap(pipeline.FromSlice(p, count(200)), func(_ context.Context, v int, emit func(int) bool) error {
				for range v % 4 {
					if !emit(v) {
						return nil
					}
				}
				return nil
			}, o.opts()...)
			var got []int
			if err := pipeline.ForEach(out, func(_ context.Context, v int) error { got = append(got, v); return nil }); err != nil {
				t.Fatal(err)
			}
			var want []int
			for v := range 200 {
				for range v % 4 {
					want = append(want, v)
				}
			}
			if o.ordered || o.workers == 1 {
				if !slices.Equal(got, want) {
					t.Fatalf("got %v, want %v", got, want)
				}
				return
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d values, want %d, or not the same", len(got), len(want))
			}
		})
	}
}

func TestFlatMapFailures(t *testing.T) {
	boom := errors.New("boom")
	for _, o := range orders {
		for _, tt := range []struct {
			name string
			f    func(int) error
		}{
			{"error", func(v int) error {
				if v == 50 {
					return boom
				}
				return nil
			}},
			{"panic", func(v int) error {
				if v == 50 {
					panic(boom)
				}
				return nil
			}},
		} {
			t.Run(o.name+"/"+tt.name, func(t *testing.T) {
				p := pipeline.New(t.Context())
				out := pipeline.FlatMap(pipeline.FromSlice(p, count(1000)), func(_ context.Context, v int, emit func(int) bool) error {
					emit(v)
					return tt.f(v)
				}, o.opts()...)
				err := pipeline.ForEach(out, func(_ context.Context, _ int) error { return nil })
				if !errors.Is(err, boom) {
					t.Errorf("ForEach = %v, want boom", err)
				}
			})
		}
	}
}

func TestFilter(t *testing.T) {
	p := pipeline.New(t.Context())
	even := pipeline.Filter(pipeline.FromSlice(p, count(10)), func(v int) bool { return v%2 == 0 })
	var got []int
	for v, err := range pipeline.All(even) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if !slices.Equal(got, []int{0, 2, 4, 6, 8}) {
		t.Errorf("got %v", got)
	}
}

func TestBatch(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		size  int
		sizes []int
	}{
		{"full batches and a rest", 10, 3, []int{3, 3, 3, 1}},
		{"exact", 6, 3, []int{3, 3}},
		{"empty input", 0, 3, nil},
		{"size 1", 2, 1, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			var sizes []int
			var all []int
			err := pipeline.ForEach(pipeline.Batch(pipeline.FromSlice(p, count(tt.n)), tt.size), func(_ context.Context, b []int) error {
				sizes = append(sizes, len(b))
				all = append(all, b...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sizes, tt.sizes) || !slices.Equal(all, count(tt.n)) {
				t.Errorf("batches of %v holding %v", sizes, all)
			}
		})
	}
}

// TestBatchWindowFlushesATrickle shows the window at work without timing
// it: the source waits for the consumer to see a partial batch before it
// sends more, which only a window-driven flush can satisfy.
func TestBatchWindowFlushesATrickle(t *testing.T) {
	p := pipeline.New(t.Context())
	seen := make(chan int)
	src := pipeline.Generate(p, func(ctx context.Context, emit func(int) bool) error {
		for i := 0; i < 3; i++ {
			emit(i)
			select {
			case <-seen:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	var got [][]int
	err := pipeline.ForEach(pipeline.Batch(src, 100, pipeline.WithWindow(1e6)), func(_ context.Context, b []int) error {
		got = append(got, b)
		seen <- len(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("got batches %v, want three of one", got)
	}
}

func TestTee(t *testing.T) {
	p := pipeline.New(t.Context())
	outs := pipeline.Tee(pipeline.FromSlice(p, count(100)), 2)
	side := make(chan []int)
	go func() {
		var got []int
		for v := range outs[1].Chan() {
			got = append(got, v)
		}
		side <- got
	}()
	var main []int
	if err := pipeline.ForEach(outs[0], func(_ context.Context, v int) error { main = append(main, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := <-side; !slices.Equal(main, count(100)) || !slices.Equal(got, count(100)) {
		t.Errorf("outputs got %d and %d values, want all 100 in order each", len(main), len(got))
	}
}

func TestMerge(t *testing.T) {
	p := pipeline.New(t.Context())
	a := pipeline.FromSlice(p, count(50))
	b := pipeline.Map(pipeline.FromSlice(p, count(50)), func(_ context.Context, v int) (int, error) { return v + 50, nil })
	var got []int
	if err := pipeline.ForEach(pipeline.Merge(a, b), func(_ context.Context, v int) error { got = append(got, v); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, count(100)) {
		t.Errorf("merged %d values, want 0..99 once each", len(got))
	}
	for _, tt := range []struct {
		name    string
		streams func() []pipeline.Stream[int]
	}{
		{"none", func() []pipeline.Stream[int] { return nil }},
		{"two pipelines", func() []pipeline.Stream[int] {
			p1, p2 := pipeline.New(t.Context()), pipeline.New(t.Context())
			return []pipeline.Stream[int]{pipeline.FromSlice(p1, count(1)), pipeline.FromSlice(p2, count(1))}
		}},
	} {
		t.Run("panics on "+tt.name, func(t *testing.T) {
			streams := tt.streams()
			defer func() {
				if recover() == nil {
					t.Error("Merge did not panic")
				}
				for _, s := range streams { // leave nothing running
					s.Pipeline().Stop()
					s.Pipeline().Wait()
				}
			}()
			pipeline.Merge(streams...)
		})
	}
}

// TestHelpersDrainOnCancel is the promise of a graceful cancel, for every
// helper: what the source read reaches the sink.
func TestHelpersDrainOnCancel(t *testing.T) {
	stages := []struct {
		name  string
		stage func(pipeline.Stream[int]) pipeline.Stream[int]
	}{
		{"FlatMap", func(s pipeline.Stream[int]) pipeline.Stream[int] {
			return pipeline.FlatMap(s, func(_ context.Context, v int, emit func(int) bool) error { emit(v); return nil }, pipeline.WithConcurrency(4))
		}},
		{"FlatMap ordered", func(s pipeline.Stream[int]) pipeline.Stream[int] {
			return pipeline.FlatMap(s, func(_ context.Context, v int, emit func(int) bool) error { emit(v); return nil },
				pipeline.WithConcurrency(4), pipeline.WithInputOrder())
		}},
		{"Filter", func(s pipeline.Stream[int]) pipeline.Stream[int] {
			return pipeline.Filter(s, func(int) bool { return true })
		}},
		{"Batch", func(s pipeline.Stream[int]) pipeline.Stream[int] {
			return pipeline.FlatMap(pipeline.Batch(s, 7), func(_ context.Context, b []int, emit func(int) bool) error {
				for _, v := range b {
					emit(v)
				}
				return nil
			})
		}},
		{"Tee", func(s pipeline.Stream[int]) pipeline.Stream[int] {
			outs := pipeline.Tee(s, 2)
			// The second copy is dropped by a filter, which still reads it.
			return pipeline.Merge(outs[0], pipeline.Filter(outs[1], func(int) bool { return false }))
		}},
	}
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) { checkCancelDrains(t, st.stage) })
	}
}

func TestProcess(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		f       func(ctx context.Context, in <-chan int, emit func(int) bool) error
		want    int // values emitted
		wantErr error
	}{
		{"stateful: a running sum", func(_ context.Context, in <-chan int, emit func(int) bool) error {
			sum := 0
			for v := range in {
				sum += v
				if !emit(sum) {
					return nil
				}
			}
			return nil
		}, 100, nil},
		{"returns early: the rest is drained", func(_ context.Context, in <-chan int, emit func(int) bool) error {
			for v := range in {
				if v == 10 {
					return nil
				}
				emit(v)
			}
			return nil
		}, 10, nil},
		{"an error is the run's", func(context.Context, <-chan int, func(int) bool) error { return boom }, 0, boom},
		{"a panic is the run's", func(context.Context, <-chan int, func(int) bool) error { panic(boom) }, 0, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			got := 0
			err := pipeline.ForEach(pipeline.Process(pipeline.FromSlice(p, count(100)), tt.f), func(_ context.Context, _ int) error { got++; return nil })
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("ForEach = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && got != tt.want {
				t.Errorf("%d values, want %d", got, tt.want)
			}
		})
	}
}
