package pipeline_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// A run is a source, stages and a sink on one Pipeline. The sink waits for
// the run and reports how it ended.
func ExampleNew() {
	p := pipeline.New(context.Background())
	words := pipeline.FromSlice(p, []string{"a", "bb", "ccc"})
	lengths := pipeline.Map(words, func(_ context.Context, w string) (int, error) {
		return len(w), nil
	})
	err := pipeline.ForEach(lengths, func(_ context.Context, n int) error {
		fmt.Println(n)
		return nil
	})
	fmt.Println("run error:", err)
	// Output:
	// 1
	// 2
	// 3
	// run error: <nil>
}

// parsed is an item's result: its value or why it failed, never both.
type parsed struct {
	in  string
	n   int
	err error
}

// An item's own failure is data: it travels in the result to the sink, and
// the run goes on. WithConcurrency runs the function on several goroutines;
// WithInputOrder keeps the output in input order in spite of that.
func ExampleMap() {
	p := pipeline.New(context.Background())
	in := pipeline.FromSlice(p, []string{"1", "two", "3", "4x"})
	out := pipeline.Map(in, func(_ context.Context, s string) (parsed, error) {
		n, err := strconv.Atoi(s)
		return parsed{in: s, n: n, err: err}, nil
	}, pipeline.WithConcurrency(4), pipeline.WithInputOrder())
	err := pipeline.ForEach(out, func(_ context.Context, r parsed) error {
		if r.err != nil {
			fmt.Printf("%s: failed\n", r.in)
			return nil
		}
		fmt.Printf("%s: %d\n", r.in, r.n)
		return nil
	})
	fmt.Println("run error:", err)
	// Output:
	// 1: 1
	// two: failed
	// 3: 3
	// 4x: failed
	// run error: <nil>
}

// An error returned by a stage function is fatal: it stops every stage at
// once, dropping the items in flight, and the sink returns it. Keep it for
// failures after which no result can be trusted, such as a lost connection
// to the store the results go to.
func ExampleMap_fatalError() {
	errLost := errors.New("lost the connection to the store")
	p := pipeline.New(context.Background())
	in := pipeline.FromSlice(p, []int{1, 2, 3, 4, 5})
	out := pipeline.Map(in, func(_ context.Context, v int) (int, error) {
		if v == 3 {
			return 0, errLost
		}
		return v, nil
	})
	seen := 0
	err := pipeline.ForEach(out, func(_ context.Context, v int) error {
		seen++ // 1 and perhaps 2: a fatal error does not wait for the sink
		return nil
	})
	fmt.Println("run error:", err)
	fmt.Println("saw item 3 or later:", seen > 2)
	// Output:
	// run error: lost the connection to the store
	// saw item 3 or later: false
}

// WithIdle gives ForEach the moment when no value is ready: the time to flush
// a buffered writer, so that output appears promptly yet is written in
// blocks while values arrive faster than they can be written.
func ExampleForEach() {
	p := pipeline.New(context.Background())
	nums := pipeline.FromSlice(p, []int{1, 2, 3})
	w := bufio.NewWriter(os.Stdout)
	err := pipeline.ForEach(nums, func(_ context.Context, v int) error {
		_, err := fmt.Fprintln(w, "value", v)
		return err // a failed write ends the run
	}, pipeline.WithIdle(w.Flush))
	fmt.Println("run error:", err)
	// Output:
	// value 1
	// value 2
	// value 3
	// run error: <nil>
}

// All makes a stream a range loop. The error comes once, after the last
// value. Breaking out of the loop stops the run, and nothing of it is left
// running after the loop.
func ExampleAll() {
	p := pipeline.New(context.Background())
	naturals := pipeline.Generate(p, func(_ context.Context, emit func(int) bool) error {
		for i := 0; emit(i); i++ { // endless, until the consumer leaves
		}
		return nil
	})
	squares := pipeline.Map(naturals, func(_ context.Context, v int) (int, error) { return v * v, nil })
	for v, err := range pipeline.All(squares) {
		if err != nil {
			fmt.Println("run error:", err)
			return
		}
		if v > 20 {
			break
		}
		fmt.Println(v)
	}
	fmt.Println("Wait after break:", p.Wait())
	// Output:
	// 0
	// 1
	// 4
	// 9
	// 16
	// Wait after break: <nil>
}

// A source reads its input in its own goroutine and hands each item to emit,
// which blocks while the stages downstream are busy: the source never reads
// further ahead than the buffers hold. When emit returns false, stop.
func ExampleGenerate() {
	input := strings.NewReader("alpha\n\nbeta\ngamma\n")
	p := pipeline.New(context.Background())
	lines := pipeline.Generate(p, func(ctx context.Context, emit func(string) bool) error {
		sc := bufio.NewScanner(input)
		for sc.Scan() {
			if sc.Text() == "" {
				continue
			}
			if !emit(sc.Text()) {
				return nil
			}
		}
		return sc.Err() // a read error is fatal for the run
	})
	err := pipeline.ForEach(lines, func(_ context.Context, s string) error {
		fmt.Println(s)
		return nil
	})
	fmt.Println("run error:", err)
	// Output:
	// alpha
	// beta
	// gamma
	// run error: <nil>
}

func ExampleFromSlice() {
	p := pipeline.New(context.Background())
	for v, err := range pipeline.All(pipeline.FromSlice(p, []string{"x", "y"})) {
		if err != nil {
			fmt.Println("run error:", err)
			return
		}
		fmt.Println(v)
	}
	// Output:
	// x
	// y
}

// Stages are functions from stream to stream; Then joins two into one, and
// the compiler checks that the types meet.
func ExampleThen() {
	double := pipeline.Stage[int, int](func(s pipeline.Stream[int]) pipeline.Stream[int] {
		return pipeline.Map(s, func(_ context.Context, v int) (int, error) { return 2 * v, nil })
	})
	label := pipeline.Stage[int, string](func(s pipeline.Stream[int]) pipeline.Stream[string] {
		return pipeline.Map(s, func(_ context.Context, v int) (string, error) { return "#" + strconv.Itoa(v), nil })
	})
	doubleThenLabel := pipeline.Then(double, label)

	p := pipeline.New(context.Background())
	out := doubleThenLabel(pipeline.FromSlice(p, []int{1, 2, 3}))
	_ = pipeline.ForEach(out, func(_ context.Context, s string) error {
		fmt.Println(s)
		return nil
	})
	// Output:
	// #2
	// #4
	// #6
}

// Here the first items take the longest, so they finish last; WithInputOrder
// still emits them first. Results that finish early wait in a window of
// about one slot per goroutine.
func ExampleWithInputOrder() {
	p := pipeline.New(context.Background())
	in := pipeline.FromSlice(p, []int{1, 2, 3, 4, 5, 6})
	out := pipeline.Map(in, func(_ context.Context, v int) (int, error) {
		time.Sleep(time.Duration(6-v) * time.Millisecond)
		return v, nil
	}, pipeline.WithConcurrency(3), pipeline.WithInputOrder())
	var got []int
	_ = pipeline.ForEach(out, func(_ context.Context, v int) error {
		got = append(got, v)
		return nil
	})
	fmt.Println(got)
	// Output: [1 2 3 4 5 6]
}

// Schedule runs work under limits and retries it when it asks: here a
// flaky call that fails on its first try for odd items, retried after a
// backoff during which it holds no slot.
func ExampleSchedule() {
	p := pipeline.New(context.Background())
	ids := pipeline.FromSlice(p, []int{1, 2, 3, 4})
	results := pipeline.Schedule(ids, func(ctx context.Context, t *pipeline.Task[int]) (string, error) {
		if t.Value%2 == 1 && t.Try == 1 {
			t.Retry(10 * time.Millisecond) // the far side said "later"
			return fmt.Sprintf("item %d: failed", t.Value), nil
		}
		return fmt.Sprintf("item %d: ok after %d tries", t.Value, t.Try), nil
	}, pipeline.WithConcurrency(2), pipeline.WithInputOrder())
	for r, err := range pipeline.All(results) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(r)
	}
	// Output:
	// item 1: ok after 2 tries
	// item 2: ok after 1 tries
	// item 3: ok after 2 tries
	// item 4: ok after 1 tries
}

// A Budget gives each key limits of its own: here tenant "a" may run one
// call at a time, while "b" has no limit of its own. Keys come from
// WithKey.
func ExampleNewBudget() {
	budget := pipeline.NewBudget(pipeline.Limits{InFlight: 8}, func(tenant string) pipeline.Limits {
		if tenant == "a" {
			return pipeline.Limits{InFlight: 1, Rate: 100} // 1 at once, 100 starts a second
		}
		return pipeline.Limits{}
	})
	type call struct{ tenant, what string }
	p := pipeline.New(context.Background())
	calls := pipeline.FromSlice(p, []call{{"a", "x"}, {"b", "y"}, {"a", "z"}})
	done := pipeline.Schedule(calls, func(ctx context.Context, t *pipeline.Task[call]) (string, error) {
		return t.Key + "/" + t.Value.what, nil
	}, pipeline.WithBudget(budget), pipeline.WithKey(func(c call) string { return c.tenant }), pipeline.WithInputOrder())
	err := pipeline.ForEach(done, func(_ context.Context, s string) error {
		fmt.Println(s)
		return nil
	})
	fmt.Println(err, budget.Limits("a").InFlight)
	// Output:
	// a/x
	// b/y
	// a/z
	// <nil> 1
}

// WithObserver reports what happens to each item: the basis of a
// progress display or a log. Events come one at a time, in order.
func ExampleWithObserver() {
	p := pipeline.New(context.Background())
	counts := map[pipeline.EventKind]int{}
	out := pipeline.Schedule(pipeline.FromSlice(p, []int{1, 2, 3}), func(ctx context.Context, t *pipeline.Task[int]) (int, error) {
		if t.Value == 2 && t.Try == 1 {
			t.Retry(0)
		}
		return t.Value, nil
	}, pipeline.WithObserver(func(e pipeline.Event) { counts[e.Kind]++ }))
	if err := pipeline.ForEach(out, func(context.Context, int) error { return nil }); err != nil {
		fmt.Println(err)
	}
	fmt.Println("started", counts[pipeline.EventStarted], "retried", counts[pipeline.EventRetrying], "done", counts[pipeline.EventDone])
	// Output:
	// started 4 retried 1 done 3
}
