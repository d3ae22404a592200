package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func count(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

type order struct {
	name    string
	workers int
	ordered bool
}

// orders lists every combination a concurrent stage is tested under.
var orders = []order{
	{"serial", 1, false},
	{"unordered/4", 4, false},
	{"unordered/32", 32, false},
	{"ordered/4", 4, true},
	{"ordered/32", 32, true},
}

func (o order) opts() []pipeline.Option {
	opts := []pipeline.Option{pipeline.WithConcurrency(o.workers)}
	if o.ordered {
		opts = append(opts, pipeline.WithInputOrder())
	}
	return opts
}

func TestMapEmitsEachItemOnceWithinConcurrency(t *testing.T) {
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			const n = 500
			var inFlight, peak atomic.Int64
			p := pipeline.New(t.Context())
			src := pipeline.FromSlice(p, count(n))
			doubled := pipeline.Map(src, func(_ context.Context, v int) (int, error) {
				cur := inFlight.Add(1)
				for old := peak.Load(); cur > old && !peak.CompareAndSwap(old, cur); old = peak.Load() {
				}
				if v%7 == 0 {
					time.Sleep(time.Millisecond) // let completions overtake each other
				}
				inFlight.Add(-1)
				return v * 2, nil
			}, o.opts()...)
			var got []int
			for v, err := range pipeline.All(doubled) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, v/2)
			}
			if peak.Load() > int64(o.workers) {
				t.Errorf("peak concurrency %d > %d", peak.Load(), o.workers)
			}
			if o.ordered || o.workers == 1 {
				if !slices.IsSorted(got) {
					t.Errorf("output not in input order: %v", got[:20])
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, count(n)) {
				t.Errorf("got %d items, want each of 0..%d once", len(got), n-1)
			}
		})
	}
}

func TestBackpressureReachesSource(t *testing.T) {
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			var read atomic.Int64
			release := make(chan struct{})
			p := pipeline.New(t.Context())
			src := pipeline.Generate(p, func(ctx context.Context, emit func(int) bool) error {
				for i := 0; ; i++ {
					read.Add(1)
					if !emit(i) {
						return nil
					}
				}
			}, pipeline.WithBuffer(4))
			mapped := pipeline.Map(src, func(_ context.Context, v int) (int, error) { return v, nil },
				append(o.opts(), pipeline.WithBuffer(4))...)
			done := make(chan error)
			go func() {
				done <- pipeline.ForEach(mapped, func(_ context.Context, _ int) error {
					<-release // a sink that is stuck
					return errors.New("sink gave up")
				})
			}()
			// conc's stream pools its channels across runs, which testing/synctest
			// forbids, so wait for the count to settle instead.
			settled(&read)
			// buffers (4+4) + one item per worker + the ordered window
			// (workers+1) + one held by the sink + one in emit.
			bound := int64(8 + 2*o.workers + 4)
			if got := read.Load(); got > bound {
				t.Errorf("source read %d items with the sink blocked, want ≤ %d", got, bound)
			}
			close(release)
			if err := <-done; err == nil || err.Error() != "sink gave up" {
				t.Errorf("ForEach = %v, want the sink's error", err)
			}
		})
	}
}

// settled waits until n has not changed for 50ms.
func settled(n *atomic.Int64) {
	for last := int64(-1); n.Load() != last; {
		last = n.Load()
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEarlyExitStopsEverything(t *testing.T) {
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			src := pipeline.Generate(p, func(ctx context.Context, emit func(int) bool) error {
				for i := 0; emit(i); i++ {
				}
				return nil
			})
			slow := pipeline.Map(src, func(ctx context.Context, v int) (int, error) {
				select {
				case <-ctx.Done(): // stage functions see the abort too
				case <-time.After(time.Duration(v%3) * time.Millisecond):
				}
				return v, nil
			}, o.opts()...)
			n := 0
			for _, err := range pipeline.All(slow) {
				if err != nil {
					t.Fatal(err)
				}
				if n++; n == 10 {
					break
				}
			}
			if err := p.Wait(); err != nil {
				t.Errorf("Wait after break = %v, want nil", err)
			}
			goleak.VerifyNone(t)
		})
	}
}

func TestCancelDrainsWhatWasRead(t *testing.T) {
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			checkCancelDrains(t, func(src pipeline.Stream[int]) pipeline.Stream[int] {
				return pipeline.Map(src, func(ctx context.Context, v int) (int, error) {
					return v, nil
				}, o.opts()...)
			})
		})
	}
}

// checkCancelDrains runs stage on an endless source whose context is
// cancelled mid-input, as an interrupt would, and checks that every value
// the source read reaches the sink and that the run reports the cut.
func checkCancelDrains(t *testing.T, stage func(pipeline.Stream[int]) pipeline.Stream[int]) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var read atomic.Int64
	p := pipeline.New(ctx)
	src := pipeline.Generate(p, func(ctx context.Context, emit func(int) bool) error {
		for i := 0; ; i++ {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			read.Add(1)
			if i == 100 {
				cancel() // as an interrupt would, mid-input
			}
			if !emit(i) {
				return nil
			}
		}
	})
	got := 0
	err := pipeline.ForEach(stage(src), func(_ context.Context, _ int) error { got++; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ForEach = %v, want context.Canceled", err)
	}
	if int64(got) != read.Load() {
		t.Errorf("sink saw %d items, source read %d: items lost on cancel", got, read.Load())
	}
}

func TestStageFailures(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name string
		f    func(context.Context, int) (int, error)
		want string
	}{
		{"error", func(_ context.Context, v int) (int, error) {
			if v == 50 {
				return 0, boom
			}
			return v, nil
		}, "boom"},
		{"panic", func(_ context.Context, v int) (int, error) {
			if v == 50 {
				panic("stage exploded")
			}
			return v, nil
		}, "stage exploded"},
	}
	for _, tc := range cases {
		for _, o := range orders {
			t.Run(tc.name+"/"+o.name, func(t *testing.T) {
				p := pipeline.New(t.Context())
				src := pipeline.Generate(p, func(ctx context.Context, emit func(int) bool) error {
					for i := 0; emit(i); i++ {
					}
					return nil
				})
				out := pipeline.Map(src, tc.f, o.opts()...)
				err := pipeline.ForEach(out, func(_ context.Context, _ int) error { return nil })
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("ForEach = %v, want an error containing %q", err, tc.want)
				}
			})
		}
	}
}

func TestSinkFailures(t *testing.T) {
	cases := []struct {
		name string
		f    func(int) error
		want string
	}{
		{"error", func(v int) error {
			if v == 5 {
				return errors.New("disk full")
			}
			return nil
		}, "disk full"},
		{"panic", func(v int) error {
			if v == 5 {
				panic("sink exploded")
			}
			return nil
		}, "sink exploded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			src := pipeline.Generate(p, func(ctx context.Context, emit func(int) bool) error {
				for i := 0; emit(i); i++ {
				}
				return nil
			})
			err := pipeline.ForEach(src, func(_ context.Context, v int) error { return tc.f(v) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ForEach = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestPanicInRangeBodyLeavesNothingRunning(t *testing.T) {
	p := pipeline.New(t.Context())
	src := pipeline.FromSlice(p, count(100))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the loop body's panic did not reach the caller")
			}
		}()
		for range pipeline.All(src) {
			panic("in the loop body")
		}
	}()
	goleak.VerifyNone(t)
}

func TestIdleIsCalledWhenNothingIsReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		src := pipeline.Generate(p, func(ctx context.Context, emit func(int) bool) error {
			for i := range 3 {
				time.Sleep(time.Second) // a slow source: the sink goes idle in between
				if !emit(i) {
					return nil
				}
			}
			return nil
		})
		var log []string
		err := pipeline.ForEach(src, func(_ context.Context, v int) error {
			log = append(log, "item")
			return nil
		}, pipeline.WithIdle(func() error {
			log = append(log, "idle")
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"idle", "item", "idle", "item", "idle", "item", "idle"}
		if !slices.Equal(log, want) {
			t.Errorf("calls = %v, want %v", log, want)
		}
	})
}

func TestSources(t *testing.T) {
	ch := make(chan int, 3)
	ch <- 1
	ch <- 2
	ch <- 3
	close(ch)
	cases := []struct {
		name string
		make func(p *pipeline.Pipeline) pipeline.Stream[int]
	}{
		{"slice", func(p *pipeline.Pipeline) pipeline.Stream[int] { return pipeline.FromSlice(p, []int{1, 2, 3}) }},
		{"seq", func(p *pipeline.Pipeline) pipeline.Stream[int] {
			return pipeline.FromSeq(p, slices.Values([]int{1, 2, 3}))
		}},
		{"chan", func(p *pipeline.Pipeline) pipeline.Stream[int] { return pipeline.FromChan(p, ch) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			var got []int
			for v := range tc.make(p).Chan() {
				got = append(got, v)
			}
			if err := p.Wait(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, []int{1, 2, 3}) {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestThen(t *testing.T) {
	inc := func(s pipeline.Stream[int]) pipeline.Stream[int] {
		return pipeline.Map(s, func(_ context.Context, v int) (int, error) { return v + 1, nil })
	}
	show := func(s pipeline.Stream[int]) pipeline.Stream[string] {
		return pipeline.Map(s, func(_ context.Context, v int) (string, error) { return strings.Repeat("*", v), nil })
	}
	both := pipeline.Then(inc, show)
	p := pipeline.New(t.Context())
	var got []string
	if err := pipeline.ForEach(both(pipeline.FromSlice(p, []int{0, 1})), func(_ context.Context, s string) error {
		got = append(got, s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"*", "**"}) {
		t.Errorf("got %v", got)
	}
}

func TestCleanupRunsAfterTheLastGoroutine(t *testing.T) {
	tests := []struct {
		name    string
		panics  bool
		wantErr bool
	}{
		{"in reverse order, once", false, false},
		{"a panic is the run's error", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			var stageDone atomic.Bool
			var order []int
			p.Cleanup(func() { order = append(order, 1) })
			p.Cleanup(func() {
				if !stageDone.Load() {
					t.Error("cleanup ran while a stage was running")
				}
				order = append(order, 2)
				if tt.panics {
					panic("cleanup failed")
				}
			})
			out := pipeline.Map(pipeline.FromSlice(p, count(10)), func(_ context.Context, v int) (int, error) {
				if v == 9 {
					defer stageDone.Store(true)
				}
				return v, nil
			})
			err := pipeline.ForEach(out, func(_ context.Context, _ int) error { return nil })
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want an error: %v", err, tt.wantErr)
			}
			p.Wait()
			if fmt.Sprint(order) != "[2 1]" {
				t.Errorf("cleanups ran as %v, want [2 1]", order)
			}
		})
	}
}

// TestSourceFailureDrainsWhatWasRead: an input that breaks mid-way ends the
// run with its error, but the items read before it are not lost.
func TestSourceFailureDrainsWhatWasRead(t *testing.T) {
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			broken := errors.New("input broke")
			p := pipeline.New(t.Context())
			src := pipeline.Generate(p, func(_ context.Context, emit func(int) bool) error {
				for i := range 50 {
					emit(i)
				}
				return broken
			})
			slow := pipeline.Map(src, func(_ context.Context, v int) (int, error) {
				time.Sleep(time.Millisecond) // still working when the source fails
				return v, nil
			}, o.opts()...)
			got := 0
			err := pipeline.ForEach(slow, func(_ context.Context, _ int) error { got++; return nil })
			if !errors.Is(err, broken) {
				t.Errorf("ForEach = %v, want the source's error", err)
			}
			if got != 50 {
				t.Errorf("sink saw %d of the 50 values read", got)
			}
		})
	}
}

// TestAStreamIsReadOnce: a second stage or sink given a stream that one
// already reads would split its values with it, silently; it panics when
// it is built instead, with a message that points to Tee.
func TestAStreamIsReadOnce(t *testing.T) {
	id := func(_ context.Context, v int) (int, error) { return v, nil }
	tests := []struct {
		name string
		f    func(s pipeline.Stream[int])
	}{
		{"two Maps", func(s pipeline.Stream[int]) { pipeline.Map(s, id); pipeline.Map(s, id) }},
		{"Map and ForEach", func(s pipeline.Stream[int]) {
			pipeline.Map(s, id)
			pipeline.ForEach(s, func(context.Context, int) error { return nil })
		}},
		{"Merge of one stream twice", func(s pipeline.Stream[int]) { pipeline.Merge(s, s) }},
		{"All after Tee", func(s pipeline.Stream[int]) { pipeline.Tee(s, 2); pipeline.All(s) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustPanic(t, "use Tee", func(p *pipeline.Pipeline) { tt.f(pipeline.FromSlice(p, count(10))) })
		})
	}
}

// TestProducedCountsWhatSourcesHandedOn: Produced is the number of values
// the sources handed on, so that a run cut short can say how many items it
// had read: every one of them reached the sink.
func TestProducedCountsWhatSourcesHandedOn(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p := pipeline.New(ctx)
	a := pipeline.FromSlice(p, count(5))
	b := pipeline.Generate(p, func(ctx context.Context, emit func(int) bool) error {
		for i := 0; emit(i); i++ {
		}
		return nil
	})
	seen := 0
	err := pipeline.ForEach(pipeline.Merge(a, b), func(context.Context, int) error {
		if seen++; seen == 50 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) { // the run was cut short
		t.Fatal(err)
	}
	if got := p.Produced(); got != int64(seen) || seen < 50 {
		t.Errorf("Produced = %d, the sink saw %d", got, seen)
	}
}
