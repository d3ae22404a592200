package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// The scheduling engine runs in fake time here (testing/synctest): work
// "takes" its time with time.Sleep, so peaks, rates and waits are exact,
// with no sockets and no wall clock.

// job is an item of the tests: its key, how long its work takes, and how
// many tries fail (asking for a retry after backoff) before one succeeds.
type job struct {
	n       int
	key     string
	takes   time.Duration
	fails   int
	backoff time.Duration
}

// done is what work returns for a job.
type done struct {
	n     int
	key   string
	tries int
	at    time.Duration // since the test began, when it was done
}

// meter counts what work did: items in flight, overall and per key, and
// when each started.
type meter struct {
	t0      time.Time
	mu      sync.Mutex
	now     int
	peak    int
	perKey  map[string]int
	peakKey map[string]int
	starts  map[string][]time.Duration
}

func newMeter() *meter {
	return &meter{t0: time.Now(), perKey: map[string]int{}, peakKey: map[string]int{}, starts: map[string][]time.Duration{}}
}

// work is the work function of the tests.
func (m *meter) work(_ context.Context, t *pipeline.Task[job]) (done, error) {
	j := t.Value
	m.mu.Lock()
	m.now++
	m.perKey[j.key]++
	m.peak = max(m.peak, m.now)
	m.peakKey[j.key] = max(m.peakKey[j.key], m.perKey[j.key])
	m.starts[j.key] = append(m.starts[j.key], time.Since(m.t0))
	m.mu.Unlock()
	time.Sleep(j.takes)
	m.mu.Lock()
	m.now--
	m.perKey[j.key]--
	m.mu.Unlock()
	if t.Try <= j.fails {
		t.Retry(j.backoff)
	}
	return done{n: j.n, key: j.key, tries: t.Try, at: time.Since(m.t0)}, nil
}

func byKey(j job) string { return j.key }

// run schedules jobs and returns the results in the order they came out.
func run(t *testing.T, m *meter, jobs []job, opts ...pipeline.Option) []done {
	t.Helper()
	p := pipeline.New(t.Context())
	out := pipeline.Schedule(pipeline.FromSlice(p, jobs), m.work, opts...)
	var got []done
	if err := pipeline.ForEach(out, func(_ context.Context, d done) error {
		got = append(got, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(jobs) {
		t.Fatalf("%d results for %d items", len(got), len(jobs))
	}
	return got
}

// jobsOf returns n jobs taking turns among keys.
func jobsOf(n int, takes time.Duration, keys ...string) []job {
	js := make([]job, n)
	for i := range js {
		js[i] = job{n: i, key: keys[i%len(keys)], takes: takes}
	}
	return js
}

func perKey(l pipeline.Limits) func(string) pipeline.Limits {
	return func(string) pipeline.Limits { return l }
}

// checkOnce fails unless every job came out exactly once, in input order
// when ordered.
func checkOnce(t *testing.T, got []done, n int, ordered bool) {
	t.Helper()
	seen := make([]bool, n)
	for i, d := range got {
		if seen[d.n] {
			t.Fatalf("item %d came out twice", d.n)
		}
		seen[d.n] = true
		if ordered && d.n != i {
			t.Fatalf("result %d is item %d, want input order", i, d.n)
		}
	}
}

func TestScheduleKeepsToInFlightLimits(t *testing.T) {
	for _, c := range []int{1, 3, 16} {
		for _, ordered := range []bool{false, true} {
			t.Run(fmt.Sprintf("concurrency %d ordered %v", c, ordered), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					m := newMeter()
					b := pipeline.NewBudget(pipeline.Limits{InFlight: c}, perKey(pipeline.Limits{InFlight: 2}))
					opts := []pipeline.Option{pipeline.WithBudget(b), pipeline.WithKey(byKey)}
					if ordered {
						opts = append(opts, pipeline.WithInputOrder())
					}
					got := run(t, m, jobsOf(300, time.Millisecond, "a", "b", "c", "d", "e"), opts...)
					checkOnce(t, got, 300, ordered)
					if m.peak > c {
						t.Errorf("peak %d in flight, limit %d", m.peak, c)
					}
					for k, p := range m.peakKey {
						if p > 2 {
							t.Errorf("key %s: peak %d in flight, limit 2", k, p)
						}
					}
					if c >= 10 && m.peak < 10 {
						t.Errorf("peak %d in flight: five keys of 2 each should run 10 at once", m.peak)
					}
				})
			})
		}
	}
}

// TestScheduleBackoffHoldsNoSlot: with one slot, an item waiting for its
// retry lets the others run meanwhile.
func TestScheduleBackoffHoldsNoSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMeter()
		jobs := []job{{n: 0, key: "a", takes: time.Millisecond, fails: 1, backoff: time.Second}}
		for i := 1; i <= 10; i++ {
			jobs = append(jobs, job{n: i, key: "b", takes: 10 * time.Millisecond})
		}
		got := run(t, m, jobs, pipeline.WithConcurrency(1))
		if last := got[len(got)-1]; last.n != 0 || last.tries != 2 {
			t.Fatalf("last result %+v, want item 0 after its retry", last)
		}
		// The b items ran during a's backoff: all done 101ms in.
		for _, d := range got[:10] {
			if d.at > 101*time.Millisecond {
				t.Errorf("item %d done at %v, held up by a's backoff", d.n, d.at)
			}
		}
		if at := got[10].at; at != time.Second+2*time.Millisecond {
			t.Errorf("the retry was done at %v, want 1.002s: 1ms, 1s of backoff, 1ms", at)
		}
	})
}

// TestScheduleKeepsToRates: starts come exactly as fast as the rates say,
// overall and per key, bursts included, retries counted.
func TestScheduleKeepsToRates(t *testing.T) {
	tests := []struct {
		name    string
		overall pipeline.Limits
		key     pipeline.Limits
		jobs    []job
		// want is, per key, the gaps between starts.
		want map[string][]time.Duration
	}{
		{"overall", pipeline.Limits{InFlight: 8, Rate: 20}, pipeline.Limits{},
			jobsOf(5, 0, "a", "b"),
			map[string][]time.Duration{"a": {100 * time.Millisecond, 100 * time.Millisecond}, "b": {100 * time.Millisecond}}},
		{"per key, a minute", pipeline.Limits{InFlight: 8}, pipeline.Limits{Rate: 1.0 / 60},
			jobsOf(6, 0, "a", "b"),
			map[string][]time.Duration{"a": {time.Minute, time.Minute}, "b": {time.Minute, time.Minute}}},
		{"burst", pipeline.Limits{InFlight: 8}, pipeline.Limits{Rate: 10, Burst: 3},
			jobsOf(5, 0, "a"),
			map[string][]time.Duration{"a": {0, 0, 100 * time.Millisecond, 100 * time.Millisecond}}},
		{"retries count", pipeline.Limits{InFlight: 8}, pipeline.Limits{Rate: 10},
			[]job{{n: 0, key: "a", fails: 2}, {n: 1, key: "a"}},
			map[string][]time.Duration{"a": {100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newMeter()
				b := pipeline.NewBudget(tt.overall, perKey(tt.key))
				run(t, m, tt.jobs, pipeline.WithBudget(b), pipeline.WithKey(byKey))
				for key, want := range tt.want {
					starts := m.starts[key]
					var gaps []time.Duration
					for i := 1; i < len(starts); i++ {
						gaps = append(gaps, starts[i]-starts[i-1])
					}
					if !slices.Equal(gaps, want) {
						t.Errorf("key %s: gaps between starts %v, want %v", key, gaps, want)
					}
				}
			})
		})
	}
}

// TestScheduleWindow: the stage holds twice its concurrency. A key's
// waiting items never hold up another key's within it; a window full of
// one key's waiting items stops reading for all, by design.
func TestScheduleWindow(t *testing.T) {
	const c = 4 // so the window is 8
	limits := perKey(pipeline.Limits{InFlight: 1})
	t.Run("mixed keys: b is not held up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newMeter()
			var jobs []job
			for i := range 40 {
				if i%2 == 0 {
					jobs = append(jobs, job{n: i, key: "a", takes: time.Second})
				} else {
					jobs = append(jobs, job{n: i, key: "b", takes: time.Millisecond})
				}
			}
			b := pipeline.NewBudget(pipeline.Limits{InFlight: c}, limits)
			got := run(t, m, jobs, pipeline.WithBudget(b), pipeline.WithKey(byKey))
			// a's items come one a second; b's keep pace with them, as
			// each a read lets a b in behind it.
			for _, d := range got {
				if d.key == "b" && d.at > time.Duration(d.n/2+1)*time.Second {
					t.Errorf("b item %d done at %v: held up by a", d.n, d.at)
				}
			}
		})
	})
	t.Run("a window of one key: b waits", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newMeter()
			var jobs []job
			for i := range 2 * c {
				jobs = append(jobs, job{n: i, key: "a", takes: time.Second})
			}
			jobs = append(jobs, job{n: 2 * c, key: "b", takes: time.Millisecond})
			b := pipeline.NewBudget(pipeline.Limits{InFlight: c}, limits)
			got := run(t, m, jobs, pipeline.WithBudget(b), pipeline.WithKey(byKey))
			last := got[len(got)-1]
			for _, d := range got {
				if d.key == "b" {
					last = d
				}
			}
			// b is read only when the first a is done and leaves the
			// window: at 1s.
			if last.at != time.Second+time.Millisecond {
				t.Errorf("b done at %v, want 1.001s: after the first a left the window", last.at)
			}
		})
	})
}

// TestScheduleReadsAhead counts what the stage reads with its output
// blocked: its window, and no more, whatever the concurrency.
func TestScheduleReadsAhead(t *testing.T) {
	for _, c := range []int{1, 4, 50} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := pipeline.New(t.Context())
				read := 0
				src := pipeline.Generate(p, func(_ context.Context, emit func(int) bool) error {
					for i := 0; ; i++ {
						read++
						if !emit(i) {
							return nil
						}
					}
				}, pipeline.WithBuffer(0))
				out := pipeline.Schedule(src, func(_ context.Context, t *pipeline.Task[int]) (int, error) {
					return t.Value, nil
				}, pipeline.WithConcurrency(c), pipeline.WithBuffer(0))
				synctest.Wait()
				// One item in the source's hands, the window in the stage.
				if want := 1 + 2*c; read != want {
					t.Errorf("read %d items with the output blocked, want %d", read, want)
				}
				p.Stop()
				for range out.Chan() {
				}
				p.Wait()
			})
		})
	}
}

// TestStagesStartWorkersAsNeeded: a stage with a huge concurrency and one
// item starts a goroutine or two, not a trillion, in every mode.
func TestStagesStartWorkersAsNeeded(t *testing.T) {
	const huge = 1 << 40
	type stage func(pipeline.Stream[int], func()) pipeline.Stream[int]
	mapped := func(opts ...pipeline.Option) stage {
		return func(in pipeline.Stream[int], probe func()) pipeline.Stream[int] {
			return pipeline.Map(in, func(_ context.Context, v int) (int, error) { probe(); return v, nil }, opts...)
		}
	}
	tests := []struct {
		name  string
		stage stage
	}{
		{"Schedule", func(in pipeline.Stream[int], probe func()) pipeline.Stream[int] {
			return pipeline.Schedule(in, func(_ context.Context, t *pipeline.Task[int]) (int, error) { probe(); return t.Value, nil },
				pipeline.WithConcurrency(huge))
		}},
		{"Map", mapped(pipeline.WithConcurrency(huge))},
		{"Map in input order", mapped(pipeline.WithConcurrency(huge), pipeline.WithInputOrder())},
		{"FlatMap", func(in pipeline.Stream[int], probe func()) pipeline.Stream[int] {
			return pipeline.FlatMap(in, func(_ context.Context, v int, emit func(int) bool) error { probe(); emit(v); return nil },
				pipeline.WithConcurrency(huge))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			before := runtime.NumGoroutine()
			var during int
			out := tt.stage(pipeline.FromSlice(p, []int{1}), func() { during = runtime.NumGoroutine() })
			if err := pipeline.ForEach(out, func(context.Context, int) error { return nil }); err != nil {
				t.Fatal(err)
			}
			// The source, the stage's own goroutine and a worker or two.
			if during-before > 4 {
				t.Errorf("%d goroutines more while the item ran", during-before)
			}
		})
	}
}

// TestScheduleForgetsIdleKeys runs many keys through a budget: it keeps
// only those with work, and a key whose rate limiter still remembers
// recent starts until it has refilled.
func TestScheduleForgetsIdleKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMeter()
		b := pipeline.NewBudget(pipeline.Limits{InFlight: 8}, perKey(pipeline.Limits{InFlight: 1}))
		var jobs []job
		for i := range 10_000 {
			jobs = append(jobs, job{n: i, key: fmt.Sprint("k", i), takes: time.Millisecond})
		}
		run(t, m, jobs, pipeline.WithBudget(b), pipeline.WithKey(byKey))
		if n := pipeline.RememberedKeys(b); n != 0 {
			t.Errorf("%d keys remembered after the run, want 0", n)
		}

		rated := pipeline.NewBudget(pipeline.Limits{InFlight: 8}, perKey(pipeline.Limits{Rate: 1.0 / 60}))
		run(t, newMeter(), []job{{key: "a"}}, pipeline.WithBudget(rated), pipeline.WithKey(byKey))
		if n := pipeline.RememberedKeys(rated); n != 1 {
			t.Fatalf("%d keys remembered just after a start at 1/min, want 1", n)
		}
		// Another item of a within the minute must wait for its turn: the
		// limiter was not forgotten.
		start := time.Now()
		run(t, newMeter(), []job{{key: "a"}}, pipeline.WithBudget(rated), pipeline.WithKey(byKey))
		if waited := time.Since(start); waited != time.Minute {
			t.Errorf("a second item of a key at 1/min waited %v, want 1m", waited)
		}
		time.Sleep(time.Minute)
		run(t, newMeter(), []job{{key: "b"}}, pipeline.WithBudget(rated), pipeline.WithKey(byKey))
		if n := pipeline.RememberedKeys(rated); n != 1 {
			t.Errorf("%d keys remembered after a refilled and b came, want 1 (b)", n)
		}
	})
}

// TestScheduleSharedBudget: two stages, the second fed by the first,
// share one budget of 2 per key. Together they never exceed it, and they
// do not deadlock, although each holds items the other needs a slot for.
func TestScheduleSharedBudget(t *testing.T) {
	for _, c := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newMeter()
				b := pipeline.NewBudget(pipeline.Limits{InFlight: c}, perKey(pipeline.Limits{InFlight: 2}))
				opts := []pipeline.Option{pipeline.WithBudget(b), pipeline.WithKey(byKey), pipeline.WithBuffer(0)}
				p := pipeline.New(t.Context())
				first := pipeline.Schedule(pipeline.FromSlice(p, jobsOf(200, time.Millisecond, "a", "b")), m.work, opts...)
				again := pipeline.Map(first, func(_ context.Context, d done) (job, error) {
					return job{n: d.n, key: d.key, takes: time.Millisecond}, nil
				}, pipeline.WithBuffer(0))
				second := pipeline.Schedule(again, m.work, opts...)
				n := 0
				if err := pipeline.ForEach(second, func(context.Context, done) error { n++; return nil }); err != nil {
					t.Fatal(err)
				}
				if n != 200 {
					t.Errorf("%d results, want 200", n)
				}
				for k, peak := range m.peakKey {
					if peak > min(2, c) {
						t.Errorf("key %s: %d in flight across both stages, limit %d", k, peak, min(2, c))
					}
				}
			})
		})
	}
}

// TestScheduleCancel: a graceful cancel mid-run gives every item read
// exactly one result: in flight ones finish, those waiting for a retry
// keep their last result, those not started get WithNotStarted's.
func TestScheduleCancel(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprint("ordered ", ordered), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				p := pipeline.New(ctx)
				m := newMeter()
				jobs := jobsOf(100, 10*time.Millisecond, "a", "b", "c")
				for i := range jobs {
					if i%5 == 0 {
						jobs[i].fails, jobs[i].backoff = 1, time.Hour
					}
				}
				var read int
				src := pipeline.Generate(p, func(ctx context.Context, emit func(job) bool) error {
					for _, j := range jobs {
						read++
						if !emit(j) {
							return nil
						}
					}
					return nil
				})
				b := pipeline.NewBudget(pipeline.Limits{InFlight: 4}, perKey(pipeline.Limits{InFlight: 1}))
				opts := []pipeline.Option{pipeline.WithBudget(b), pipeline.WithKey(byKey),
					pipeline.WithNotStarted(func(j job) done { return done{n: j.n, key: j.key} })}
				if ordered {
					opts = append(opts, pipeline.WithInputOrder())
				}
				out := pipeline.Schedule(src, m.work, opts...)
				time.AfterFunc(25*time.Millisecond, cancel)
				var got []done
				err := pipeline.ForEach(out, func(_ context.Context, d done) error {
					got = append(got, d)
					return nil
				})
				if !errors.Is(err, context.Canceled) {
					t.Errorf("ForEach = %v, want the cancel", err)
				}
				if len(got) != read {
					t.Fatalf("%d results for %d items read", len(got), read)
				}
				checkOnce(t, got, read, ordered)
				var notStarted int
				for _, d := range got {
					if d.tries == 0 {
						notStarted++
					}
				}
				if notStarted == 0 || notStarted == read {
					t.Errorf("%d of %d items not started: the cancel should catch some, not all", notStarted, read)
				}
			})
		})
	}
}

// TestScheduleStartsNothingAfterACancel: work that a graceful cancel cuts
// short, as Fetch's requests are, returns at the cancel, and the workers it
// frees started the next items before the stage had heard of the cancel:
// items WithNotStarted should have caught, and retries that were due.
func TestScheduleStartsNothingAfterACancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		p := pipeline.New(ctx)
		var late atomic.Int64
		out := pipeline.Schedule(pipeline.FromSlice(p, make([]int, 1000)),
			func(_ context.Context, t *pipeline.Task[int]) (int, error) {
				if p.Context().Err() != nil {
					late.Add(1)
				}
				select {
				case <-time.After(20 * time.Millisecond):
				case <-p.Context().Done():
				}
				return 1, nil
			}, pipeline.WithConcurrency(64), pipeline.WithNotStarted(func(int) int { return 0 }))
		time.AfterFunc(30*time.Millisecond, cancel)
		for _, err := range pipeline.All(out) {
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
		}
		if late.Load() > 0 {
			t.Errorf("%d items started after the cancel", late.Load())
		}
	})
}

// TestScheduleDrainContext: a sink's context outlives a graceful cancel,
// so the drain can still write with it; it ends at Stop.
func TestScheduleDrainContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		p := pipeline.New(ctx)
		out := pipeline.Schedule(pipeline.FromSlice(p, jobsOf(50, time.Millisecond, "a")), newMeter().work, pipeline.WithConcurrency(4))
		var written, failed int
		err := pipeline.ForEach(out, func(ctx context.Context, _ done) error {
			if written == 5 {
				cancel()
			}
			time.Sleep(time.Millisecond) // a database write
			if ctx.Err() != nil {
				failed++
			}
			written++
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ForEach = %v, want the cancel", err)
		}
		if failed > 0 {
			t.Errorf("%d of %d writes of the drain found their context done", failed, written)
		}
	})
}

// TestScheduleSettled: settled items come out in their turn at once,
// without work, a slot or a token of the rate.
func TestScheduleSettled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMeter()
		jobs := jobsOf(6, 0, "a", "bad")
		b := pipeline.NewBudget(pipeline.Limits{InFlight: 2, Rate: 1.0 / 60}, nil)
		start := time.Now()
		got := run(t, m, jobs, pipeline.WithBudget(b), pipeline.WithInputOrder(),
			pipeline.WithSettled(func(j job) (done, bool) { return done{n: j.n, key: j.key}, j.key == "bad" }))
		checkOnce(t, got, 6, true)
		if len(m.starts["bad"]) != 0 {
			t.Errorf("work ran for %d settled items", len(m.starts["bad"]))
		}
		// 3 starts at 1/min: 0, 1m, 2m; the settled ones took no token.
		if took := time.Since(start); took != 2*time.Minute {
			t.Errorf("took %v, want 2m", took)
		}
	})
}

// TestScheduleSpill: in input order, with a slow first item, results past
// the window go to the spill file and the stage keeps reading; they come
// back in order, and the file is gone when the run ends.
func TestScheduleSpill(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		m := newMeter()
		jobs := jobsOf(100, time.Millisecond, "a")
		jobs[0].takes = time.Second
		spill := pipeline.Spill[done]{
			Encode: func(b []byte, d done) []byte { return fmt.Appendf(b, "%d %s %d %d", d.n, d.key, d.tries, d.at) },
			Decode: func(b []byte) (d done, err error) {
				_, err = fmt.Sscanf(string(b), "%d %s %d %d", &d.n, &d.key, &d.tries, &d.at)
				return d, err
			},
			Dir: dir,
		}
		got := run(t, m, jobs, pipeline.WithConcurrency(4), pipeline.WithInputOrder(), pipeline.WithSpill(spill))
		checkOnce(t, got, 100, true)
		// Without the spill, the window of 8 would stop reading until the
		// slow item was done: 99 items after it would take 25ms more.
		for _, d := range got[1:] {
			if d.at > 100*time.Millisecond {
				t.Fatalf("item %d done at %v: reading stopped behind the slow item", d.n, d.at)
			}
		}
	})
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
		t.Errorf("spill files left behind: %v", left)
	}
}

// TestScheduleSpillFull: a spill too small for what waits behind the slow
// item says so once, through Full, and the stage still yields every
// result once, in order.
func TestScheduleSpillFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMeter()
		jobs := jobsOf(100, time.Millisecond, "a")
		jobs[0].takes = time.Second
		full := 0
		spill := pipeline.Spill[done]{
			Encode: func(b []byte, d done) []byte { return fmt.Appendf(b, "%d %s %d %d", d.n, d.key, d.tries, d.at) },
			Decode: func(b []byte) (d done, err error) {
				_, err = fmt.Sscanf(string(b), "%d %s %d %d", &d.n, &d.key, &d.tries, &d.at)
				return d, err
			},
			Limit: 200, // a dozen results
			Full:  func() { full++ },
			Dir:   t.TempDir(),
		}
		got := run(t, m, jobs, pipeline.WithConcurrency(4), pipeline.WithInputOrder(), pipeline.WithSpill(spill))
		checkOnce(t, got, 100, true)
		if full != 1 {
			t.Errorf("Full called %d times, want once", full)
		}
	})
}

// TestScheduleObserver checks the events of a run: each item starts and
// is done once per try, retries are announced with their wait, items held
// by a key say so, and a change of limits is reported.
func TestScheduleObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events []pipeline.Event
		b := pipeline.NewBudget(pipeline.Limits{InFlight: 4}, perKey(pipeline.Limits{InFlight: 1}))
		jobs := jobsOf(10, time.Millisecond, "a", "b")
		jobs[3].fails, jobs[3].backoff = 1, time.Second
		p := pipeline.New(t.Context())
		m := newMeter()
		out := pipeline.Schedule(pipeline.FromSlice(p, jobs), func(ctx context.Context, t *pipeline.Task[job]) (done, error) {
			if t.Value.n == 5 && t.Try == 1 {
				b.SetLimits("a", pipeline.Limits{InFlight: 3})
			}
			return m.work(ctx, t)
		}, pipeline.WithBudget(b), pipeline.WithKey(byKey), pipeline.WithObserver(func(e pipeline.Event) { events = append(events, e) }))
		if err := pipeline.ForEach(out, func(context.Context, done) error { return nil }); err != nil {
			t.Fatal(err)
		}
		count := map[pipeline.EventKind]int{}
		waiting := 0
		for _, e := range events {
			count[e.Kind]++
			switch e.Kind {
			case pipeline.EventWaiting:
				waiting++
				if e.Reason != pipeline.WaitKeyBusy {
					t.Errorf("item %d waits for %v, want the key", e.Seq, e.Reason)
				}
			case pipeline.EventStarted:
				if e.Reason != 0 {
					waiting--
				}
			case pipeline.EventRetrying:
				if e.Seq != 3 || e.Wait != time.Second || e.Try != 1 {
					t.Errorf("retry event %+v, want item 3 after 1s", e)
				}
			case pipeline.EventLimits:
				if e.Key != "a" || e.Limits.InFlight != 3 {
					t.Errorf("limits event %+v", e)
				}
			}
		}
		want := map[pipeline.EventKind]int{pipeline.EventStarted: 11, pipeline.EventRetrying: 1, pipeline.EventDone: 10, pipeline.EventLimits: 1}
		for k, n := range want {
			if count[k] != n {
				t.Errorf("%d %v events, want %d", count[k], k, n)
			}
		}
		if count[pipeline.EventWaiting] == 0 || waiting != 0 {
			t.Errorf("%d waiting events, %d never started", count[pipeline.EventWaiting], waiting)
		}
	})
}

// TestScheduleFailures: an error or a panic in work, in the key function
// or in the limits of a key ends the run with that error.
func TestScheduleFailures(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		work func(context.Context, *pipeline.Task[job]) (done, error)
		key  func(job) string
		lim  func(string) pipeline.Limits
		want string
	}{
		{name: "work error", work: func(_ context.Context, t *pipeline.Task[job]) (done, error) {
			if t.Value.n == 7 {
				return done{}, boom
			}
			return done{}, nil
		}, want: "boom"},
		{name: "work panic", work: func(_ context.Context, t *pipeline.Task[job]) (done, error) {
			if t.Value.n == 7 {
				panic("work exploded")
			}
			return done{}, nil
		}, want: "work exploded"},
		{name: "key panic", key: func(j job) string {
			if j.n == 7 {
				panic("key exploded")
			}
			return j.key
		}, want: "key exploded"},
		{name: "limits panic", lim: func(k string) pipeline.Limits {
			if k == "c" {
				panic("limits exploded")
			}
			return pipeline.Limits{}
		}, want: "limits exploded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				work, key := tt.work, tt.key
				if work == nil {
					work = newMeter().work
				}
				if key == nil {
					key = byKey
				}
				p := pipeline.New(t.Context())
				b := pipeline.NewBudget(pipeline.Limits{InFlight: 3}, tt.lim)
				out := pipeline.Schedule(pipeline.FromSlice(p, jobsOf(100, time.Millisecond, "a", "b", "c")), work,
					pipeline.WithBudget(b), pipeline.WithKey(key))
				err := pipeline.ForEach(out, func(context.Context, done) error { return nil })
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("ForEach = %v, want %q", err, tt.want)
				}
			})
		})
	}
}

// TestScheduleMisuse: options that do not fit the stage panic when it is
// built, with a message that says which.
func TestScheduleMisuse(t *testing.T) {
	work := func(_ context.Context, t *pipeline.Task[int]) (int, error) { return t.Value, nil }
	tests := []struct {
		name string
		f    func(p *pipeline.Pipeline)
		want string
	}{
		{"key of another type", func(p *pipeline.Pipeline) {
			pipeline.Schedule(pipeline.FromSlice(p, []int{1}), work, pipeline.WithKey(func(string) string { return "" }))
		}, "WithKey"},
		{"budget and concurrency", func(p *pipeline.Pipeline) {
			pipeline.Schedule(pipeline.FromSlice(p, []int{1}), work, pipeline.WithConcurrency(2),
				pipeline.WithBudget(pipeline.NewBudget(pipeline.Limits{InFlight: 1}, nil)))
		}, "WithBudget"},
		{"no overall in flight", func(*pipeline.Pipeline) { pipeline.NewBudget(pipeline.Limits{}, nil) }, "InFlight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.want, tt.f) })
	}
}

// mustPanic runs f on a new Pipeline and fails unless it panics with a
// message that holds want. The Pipeline is stopped and waited for either
// way.
func mustPanic(t *testing.T, want string, f func(p *pipeline.Pipeline)) {
	t.Helper()
	p := pipeline.New(t.Context())
	defer func() {
		p.Stop()
		p.Wait()
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), want) {
			t.Errorf("panic %v, want one that says %q", r, want)
		}
	}()
	f(p)
}

// TestScheduleObserverCountsWaiting: items that arrive together and are
// then held back by their key, or by a rate, are each reported waiting
// once, and started (or done unstarted) with the reason, so that a count
// of waiting items kept from the events alone ends at zero and peaks at
// the number held back.
func TestScheduleObserverCountsWaiting(t *testing.T) {
	tests := []struct {
		name    string
		overall pipeline.Limits
		key     pipeline.Limits
		reason  pipeline.WaitReason
	}{
		{"key busy", pipeline.Limits{InFlight: 8}, pipeline.Limits{InFlight: 1}, pipeline.WaitKeyBusy},
		{"key rate", pipeline.Limits{InFlight: 8}, pipeline.Limits{Rate: 10}, pipeline.WaitRate},
		{"overall rate", pipeline.Limits{InFlight: 8, Rate: 10}, pipeline.Limits{}, pipeline.WaitRate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := pipeline.NewBudget(tt.overall, perKey(tt.key))
				waiting, peak, events := 0, 0, 0
				run(t, newMeter(), jobsOf(4, 30*time.Millisecond, "a"), pipeline.WithBudget(b), pipeline.WithKey(byKey),
					pipeline.WithObserver(func(e pipeline.Event) {
						switch {
						case e.Kind == pipeline.EventWaiting:
							events++
							waiting++
							if e.Reason != tt.reason {
								t.Errorf("item %d waits for %v, want %v", e.Seq, e.Reason, tt.reason)
							}
						case (e.Kind == pipeline.EventStarted || e.Kind == pipeline.EventDone && e.Try == 0) && e.Reason != 0:
							waiting--
						}
						peak = max(peak, waiting)
					}))
				if events != 3 || peak != 3 || waiting != 0 {
					t.Errorf("%d waiting events, peak %d waiting, %d left; want 3, 3, 0", events, peak, waiting)
				}
			})
		})
	}
}

// TestScheduleSharedBudgetTakesTurns: stages sharing a budget take turns
// at its slots. A stage that frees a slot goes on to pick its next item at
// once, and would take every slot back, were a freed slot not handed to
// the stage that has waited longest.
func TestScheduleSharedBudgetTakesTurns(t *testing.T) {
	for _, tt := range []struct {
		name    string
		overall pipeline.Limits
		key     func(string) pipeline.Limits
		opts    []pipeline.Option
	}{
		{"overall", pipeline.Limits{InFlight: 1}, nil, nil},
		{"overall, in input order", pipeline.Limits{InFlight: 1}, nil, []pipeline.Option{pipeline.WithInputOrder()}},
		{"per key", pipeline.Limits{InFlight: 8}, perKey(pipeline.Limits{InFlight: 1}), []pipeline.Option{pipeline.WithKey(byKey)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := pipeline.NewBudget(tt.overall, tt.key)
				opts := append([]pipeline.Option{pipeline.WithBudget(b)}, tt.opts...)
				p := pipeline.New(t.Context())
				m := newMeter()
				busy := pipeline.Schedule(pipeline.FromSlice(p, jobsOf(200, time.Millisecond, "a")), m.work, opts...)
				late := pipeline.Generate(p, func(_ context.Context, emit func(job) bool) error {
					time.Sleep(5 * time.Millisecond)
					emit(job{n: 1000, key: "a", takes: time.Millisecond})
					return nil
				})
				other := pipeline.Schedule(late, m.work, opts...)
				var lateDone time.Duration
				for d, err := range pipeline.All(pipeline.Merge(busy, other)) {
					if err != nil {
						t.Fatal(err)
					}
					if d.n == 1000 {
						lateDone = d.at
					}
				}
				// It waits for the item in flight when it came, then runs.
				if lateDone > 7*time.Millisecond {
					t.Errorf("the other stage's item was done at %v, want by 7ms: it waited for the busy stage to finish", lateDone)
				}
			})
		})
	}
}

// TestScheduleEndsWhileWaitingForAKey: a stage that ends (here, the run is
// stopped) while its key waits for a slot another stage holds leaves no
// trace in the budget: the other stage's later release must not find it.
func TestScheduleEndsWhileWaitingForAKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := pipeline.NewBudget(pipeline.Limits{InFlight: 4}, perKey(pipeline.Limits{InFlight: 1}))
		p := pipeline.New(t.Context())
		started := make(chan struct{})
		holder := pipeline.Schedule(pipeline.FromSlice(p, []int{1}), func(ctx context.Context, t *pipeline.Task[int]) (int, error) {
			close(started)
			<-ctx.Done()
			time.Sleep(100 * time.Millisecond) // gives its slot back after the other stage ended
			return 0, nil
		}, pipeline.WithBudget(b))
		<-started
		waiter := pipeline.Schedule(pipeline.FromSlice(p, []int{1, 2}), func(_ context.Context, t *pipeline.Task[int]) (int, error) {
			return t.Value, nil
		}, pipeline.WithBudget(b))
		time.Sleep(20 * time.Millisecond)
		p.Stop()
		for range pipeline.Merge(holder, waiter).Chan() {
		}
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
		// And the budget still works for a run of its own.
		run(t, newMeter(), jobsOf(5, time.Millisecond, ""), pipeline.WithBudget(b))
	})
}

// TestScheduleLeadFailureAborts: a panic in the key function ends the run
// at once, although work in flight ends only when the run is aborted.
func TestScheduleLeadFailureAborts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		out := pipeline.Schedule(pipeline.FromSlice(p, []string{"good", "bad"}),
			func(ctx context.Context, t *pipeline.Task[string]) (string, error) {
				<-ctx.Done()
				return "", nil
			},
			pipeline.WithConcurrency(2),
			pipeline.WithKey(func(s string) string {
				if s == "bad" {
					time.Sleep(time.Millisecond) // after the good one started
					panic("no key for " + s)
				}
				return s
			}))
		err := pipeline.ForEach(out, func(context.Context, string) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "no key for bad") {
			t.Errorf("ForEach = %v, want the key function's panic", err)
		}
	})
}

// TestScheduleSetLimitsWakesASleepingKey: a key asleep under a slow rate
// starts at once when its limits are lifted.
func TestScheduleSetLimitsWakesASleepingKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := pipeline.NewBudget(pipeline.Limits{InFlight: 4}, perKey(pipeline.Limits{Rate: 1.0 / 3600}))
		time.AfterFunc(time.Second, func() { b.SetLimits("a", pipeline.Limits{}) })
		m := newMeter()
		run(t, m, jobsOf(2, 0, "a"), pipeline.WithBudget(b), pipeline.WithKey(byKey))
		if got := m.starts["a"]; !slices.Equal(got, []time.Duration{0, time.Second}) {
			t.Errorf("starts at %v, want 0 and 1s, when the limit was lifted", got)
		}
	})
}

// TestScheduleStartsNothingAfterStop: once the run is aborted, no item
// starts, retries included. A worker that took an item just before the
// Stop may still call work with it: one per worker at most.
func TestScheduleStartsNothingAfterStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipeline.New(t.Context())
		var late atomic.Int64
		out := pipeline.Schedule(pipeline.FromSlice(p, count(100)), func(_ context.Context, t *pipeline.Task[int]) (int, error) {
			select {
			case <-p.Done():
				late.Add(1)
			default:
			}
			if t.Value == 0 && t.Try == 3 {
				p.Stop()
			}
			t.Retry(0)
			return 0, nil
		}, pipeline.WithConcurrency(4))
		for range out.Chan() {
		}
		p.Wait()
		if n := late.Load(); n > 4 {
			t.Errorf("%d tries started after Stop, more than one per worker", n)
		}
	})
}

// TestScheduleKeyTakenByAnotherStage: a key woken when its limit rose,
// whose new slot another stage then took, still has a worker look, so that
// it waits again and is told when the slot is free.
func TestScheduleKeyTakenByAnotherStage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := pipeline.NewBudget(pipeline.Limits{InFlight: 3}, perKey(pipeline.Limits{InFlight: 1}))
		p := pipeline.New(t.Context())
		inT, inS := make(chan int), make(chan int)
		relT := make(chan struct{})
		T := pipeline.Schedule(pipeline.FromChan(p, inT), func(_ context.Context, t *pipeline.Task[int]) (int, error) {
			<-relT
			return t.Value, nil
		}, pipeline.WithBudget(b))
		S := pipeline.Schedule(pipeline.FromChan(p, inS), func(_ context.Context, t *pipeline.Task[int]) (int, error) {
			return t.Value, nil
		}, pipeline.WithBudget(b), pipeline.WithBuffer(0),
			pipeline.WithSettled(func(v int) (int, bool) { return v, v < 0 }))
		inT <- 1 // T runs 1: key "" full
		synctest.Wait()
		inS <- 10 // S's key waits for key ""
		synctest.Wait()
		inS <- -1 // settled: S's lead blocks handing it on
		synctest.Wait()
		inT <- 2 // T's key waits too
		synctest.Wait()
		b.SetLimits("", pipeline.Limits{InFlight: 2}) // wakes both; one slot free
		synctest.Wait()                               // T's lead takes it
		if v := <-S.Chan(); v != -1 {
			t.Fatalf("got %d", v)
		}
		synctest.Wait() // S's lead: dispatch, want = 0
		close(relT)
		close(inT)
		for range T.Chan() { // T is done: key "" is free
		}
		select {
		case v := <-S.Chan():
			if v != 10 {
				t.Fatalf("got %d", v)
			}
		case <-time.After(time.Hour):
			t.Errorf("S's item 10 not started an hour after key \"\" was free")
		}
		close(inS)
		for range S.Chan() {
		}
		p.Wait()
	})
}

// TestScheduleCancelWhileWaitingForAKey: a key that a graceful cancel
// empties while it waits for another stage's slot leaves the waiters, so
// that the slot is not handed to it, never to be used.
func TestScheduleCancelWhileWaitingForAKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := pipeline.NewBudget(pipeline.Limits{InFlight: 4}, perKey(pipeline.Limits{InFlight: 1}))
		ctx, cancel := context.WithCancel(t.Context())
		p := pipeline.New(ctx)
		T := pipeline.Schedule(pipeline.FromSlice(p, []string{"a", "a"}), func(_ context.Context, t *pipeline.Task[string]) (string, error) {
			time.Sleep(10 * time.Millisecond)
			return "T", nil
		}, pipeline.WithBudget(b), pipeline.WithKey(func(s string) string { return s }))
		time.Sleep(time.Millisecond)
		S := pipeline.Schedule(pipeline.FromSlice(p, []string{"a"}), func(_ context.Context, t *pipeline.Task[string]) (string, error) {
			return "S", nil
		}, pipeline.WithBudget(b), pipeline.WithKey(func(s string) string { return s }),
			pipeline.WithNotStarted(func(string) string { return "not started" }))
		time.AfterFunc(5*time.Millisecond, cancel)
		var n atomic.Int32
		done := make(chan struct{})
		go func() {
			for range pipeline.Merge(T, S).Chan() {
				n.Add(1)
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(time.Hour):
			t.Errorf("T's second item never started: %d of 3 results", n.Load())
			p.Stop()
			<-done
		}
		p.Wait()
	})
}

// TestScheduleCancelGivesBackAHandedSlot: a stage handed an overall slot
// after a graceful cancel emptied its queue gives it back, to the stage
// upstream of it that needs it.
func TestScheduleCancelGivesBackAHandedSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := pipeline.NewBudget(pipeline.Limits{InFlight: 1}, nil)
		ctx, cancel := context.WithCancel(t.Context())
		p := pipeline.New(ctx)
		T := pipeline.Schedule(pipeline.FromSlice(p, []int{1, 2}), func(_ context.Context, t *pipeline.Task[int]) (int, error) {
			time.Sleep(10 * time.Millisecond)
			return t.Value, nil
		}, pipeline.WithBudget(b))
		early := pipeline.Generate(p, func(_ context.Context, emit func(int) bool) error {
			time.Sleep(time.Millisecond)
			emit(100) // S waits for T's slot
			return nil
		})
		S := pipeline.Schedule(pipeline.Merge(T, early), func(_ context.Context, t *pipeline.Task[int]) (int, error) {
			return t.Value, nil
		}, pipeline.WithBudget(b), pipeline.WithNotStarted(func(v int) int { return -v }))
		time.AfterFunc(5*time.Millisecond, cancel)
		var n atomic.Int32
		done := make(chan struct{})
		go func() {
			for range S.Chan() {
				n.Add(1)
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(time.Hour):
			t.Errorf("deadlock: %d of 3 results after an hour", n.Load())
			p.Stop()
			<-done
		}
		p.Wait()
	})
}

// TestScheduleSlotNotHeldByABlockedStage: S0 feeds S1 on one budget of a
// single slot. A slot is never held for a stage whose goroutines are
// blocked handing results to the other, which needs that very slot.
func TestScheduleSlotNotHeldByABlockedStage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := pipeline.NewBudget(pipeline.Limits{InFlight: 1}, nil)
		p := pipeline.New(t.Context())
		in := make(chan int)
		relZ := make(chan struct{})
		S0 := pipeline.Schedule(pipeline.FromChan(p, in), func(_ context.Context, t *pipeline.Task[int]) (int, error) {
			if t.Value == 2 {
				<-relZ
			}
			return t.Value, nil
		}, pipeline.WithBudget(b), pipeline.WithBuffer(0),
			pipeline.WithSettled(func(v int) (int, bool) { return v, v < 0 }))
		S1 := pipeline.Schedule(S0, func(_ context.Context, t *pipeline.Task[int]) (int, error) {
			if t.Value == 0 && t.Try == 1 {
				t.Retry(10 * time.Millisecond)
			}
			time.Sleep(time.Millisecond)
			return t.Value, nil
		}, pipeline.WithBudget(b), pipeline.WithInputOrder())
		var n atomic.Int32
		done := make(chan struct{})
		go func() {
			for range S1.Chan() {
				n.Add(1)
			}
			close(done)
		}()
		in <- 0 // S1 tries 0, which asks to be tried again in 10ms
		synctest.Wait()
		time.Sleep(time.Millisecond)
		in <- 2 // S0 runs 2, holding the slot
		synctest.Wait()
		in <- -1 // settled in S0, queued in S1: S1's window (2) is full; S1 waits for the slot
		synctest.Wait()
		in <- 3 // queued in S0, which waits for the slot
		synctest.Wait()
		close(relZ) // 2's slot goes to S1 (runs -1); S0's worker blocks handing 2 to S1
		close(in)
		select {
		case <-done:
		case <-time.After(time.Hour):
			t.Errorf("deadlock: %d of 4 results after an hour", n.Load())
			p.Stop()
			<-done
		}
		p.Wait()
	})
}
