package pipeline

import (
	"context"
	"fmt"
	"time"
)

// Batch starts a stage that groups the values of in into slices of up to
// size values, in the order they come, for consumers that work in bulk: a
// database insert, a bulk API call, a file per thousand records. A batch
// goes out when it is full and when the input ends; with WithWindow(d) also
// when d has passed since its first value arrived, so that a slow trickle
// still flows. Panics if size < 1.
//
// Each batch is a new slice, which the consumer may keep.
//
// Options: WithWindow, WithBuffer. The buffer counts batches, not values:
// the default 16 at size 100 holds up to 1,600 values.
func Batch[T any](in Stream[T], size int, opts ...Option) Stream[[]T] {
	in.take("Batch")
	if size < 1 {
		panic(fmt.Sprintf("pipeline.Batch: size must be at least 1, not %d", size))
	}
	c := newConfig("Batch", optWindow|optBuffer, opts)
	out := make(chan []T, c.buffer)
	p := in.p
	p.Go(func(context.Context) error {
		defer close(out)
		var (
			batch = make([]T, 0, size)
			timer *time.Timer
			due   <-chan time.Time // nil while no window is running
		)
		if c.window > 0 {
			timer = time.NewTimer(c.window)
			timer.Stop()
			defer timer.Stop()
		}
		flush := func() bool {
			if due != nil {
				timer.Stop()
				due = nil
			}
			if len(batch) == 0 {
				return true
			}
			b := batch
			batch = make([]T, 0, size)
			return send(p, out, b)
		}
		for {
			select {
			case v, ok := <-in.ch:
				if !ok {
					flush()
					return nil
				}
				batch = append(batch, v)
				if len(batch) == 1 && timer != nil {
					timer.Reset(c.window)
					due = timer.C
				}
				if len(batch) == size && !flush() {
					return nil
				}
			case <-due:
				due = nil
				if !flush() {
					return nil
				}
			case <-p.abort:
				return nil
			}
		}
	})
	return newStream[[]T](p, out)
}
