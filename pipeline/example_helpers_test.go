package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// FlatMap is the stage for one-to-many: each page of a listing becomes its
// items, and a page with none emits nothing.
func ExampleFlatMap() {
	p := pipeline.New(context.Background())
	pages := pipeline.FromSlice(p, []string{"a b", "", "c"})
	items := pipeline.FlatMap(pages, func(_ context.Context, page string, emit func(string) bool) error {
		for _, item := range strings.Fields(page) {
			if !emit(item) {
				return nil // the run was aborted
			}
		}
		return nil
	}, pipeline.WithConcurrency(4), pipeline.WithInputOrder())
	for item, err := range pipeline.All(items) {
		if err != nil {
			fmt.Println("run failed:", err)
			return
		}
		fmt.Println(item)
	}
	// Output:
	// a
	// b
	// c
}

func ExampleFilter() {
	p := pipeline.New(context.Background())
	words := pipeline.FromSlice(p, []string{"go", "rust", "gleam", "zig"})
	g := pipeline.Filter(words, func(w string) bool { return strings.HasPrefix(w, "g") })
	for w := range pipeline.All(g) {
		fmt.Println(w)
	}
	// Output:
	// go
	// gleam
}

// Batch groups values for a consumer that works in bulk, such as a database
// insert. WithWindow bounds how long a value waits for its batch to fill.
func ExampleBatch() {
	p := pipeline.New(context.Background())
	rows := pipeline.FromSlice(p, []int{1, 2, 3, 4, 5, 6, 7})
	batches := pipeline.Batch(rows, 3, pipeline.WithWindow(time.Second))
	pipeline.ForEach(batches, func(_ context.Context, b []int) error {
		fmt.Println("insert", b)
		return nil
	})
	// Output:
	// insert [1 2 3]
	// insert [4 5 6]
	// insert [7]
}

// Tee feeds two consumers from one source; Merge joins two sources into one
// stream. Each stream a Tee returns must be consumed.
func ExampleTee() {
	p := pipeline.New(context.Background())
	copies := pipeline.Tee(pipeline.FromSlice(p, []int{1, 2, 3}), 2)
	sum := make(chan int)
	go func() {
		total := 0
		for v := range copies[1].Chan() {
			total += v
		}
		sum <- total
	}()
	pipeline.ForEach(copies[0], func(_ context.Context, v int) error {
		fmt.Println("write", v)
		return nil
	})
	fmt.Println("sum", <-sum)
	// Output:
	// write 1
	// write 2
	// write 3
	// sum 6
}

func ExampleMerge() {
	p := pipeline.New(context.Background())
	cats := pipeline.FromSlice(p, []string{"cat"})
	dogs := pipeline.FromSlice(p, []string{"dog"})
	n := 0
	pipeline.ForEach(pipeline.Merge(cats, dogs), func(_ context.Context, _ string) error {
		n++
		return nil
	})
	fmt.Println(n, "animals")
	// Output:
	// 2 animals
}

// Chan is the channel sink: a plain receive loop, for code that selects on
// other channels too. Receive until the channel is closed, then ask Wait how
// the run ended.
func ExampleStream_Chan() {
	p := pipeline.New(context.Background())
	squares := pipeline.Map(pipeline.FromSlice(p, []int{1, 2, 3}), func(_ context.Context, v int) (int, error) {
		return v * v, nil
	})
	for v := range squares.Chan() {
		fmt.Println(v)
	}
	fmt.Println("run error:", p.Wait())
	// Output:
	// 1
	// 4
	// 9
	// run error: <nil>
}

// Cleanup releases what a stage holds for the whole run, once every
// goroutine of the run has returned: here, a shared connection.
func ExamplePipeline_Cleanup() {
	p := pipeline.New(context.Background())
	conn := strings.NewReplacer("a", "A") // stands for a client, a file, a pool
	p.Cleanup(func() { fmt.Println("connection closed") })
	upper := pipeline.Map(pipeline.FromSlice(p, []string{"abc"}), func(_ context.Context, s string) (string, error) {
		return conn.Replace(s), nil
	})
	pipeline.ForEach(upper, func(_ context.Context, s string) error {
		fmt.Println(s)
		return nil
	})
	// Output:
	// Abc
	// connection closed
}

// Process is for a stage with state of its own: here, one that drops a
// value equal to the one before it.
func ExampleProcess() {
	p := pipeline.New(context.Background())
	readings := pipeline.FromSlice(p, []int{1, 1, 2, 2, 2, 3, 1})
	changes := pipeline.Process(readings, func(_ context.Context, in <-chan int, emit func(int) bool) error {
		last, first := 0, true
		for v := range in { // to the end, even after a cancel
			if first || v != last {
				if !emit(v) {
					return nil // the run was aborted
				}
			}
			last, first = v, false
		}
		return nil
	})
	pipeline.ForEach(changes, func(_ context.Context, v int) error {
		fmt.Println(v)
		return nil
	})
	// Output:
	// 1
	// 2
	// 3
	// 1
}
