package pipeline

import (
	"context"
	"fmt"
)

// Tee starts a stage that hands every value of in to each of n new streams,
// for one source feeding several consumers, such as a file and a live
// summary. Every stream it returns must be consumed: the slowest consumer
// sets the pace of all, as backpressure does for one, and a branch that
// nobody reads stops the whole run once its buffer is full, with no error;
// cancelling the context does not help, as the values read must drain
// through every branch, and only Stop ends such a run.
// Values are shared, not copied, so consumers must treat what they receive
// as read-only (the stages of package stages do). Panics if n < 1.
//
// Options: WithBuffer, for each output.
func Tee[T any](in Stream[T], n int, opts ...Option) []Stream[T] {
	if n < 1 {
		panic(fmt.Sprintf("pipeline.Tee: n must be at least 1, not %d", n))
	}
	in.take("Tee")
	c := newConfig("Tee", optBuffer, opts)
	p := in.p
	chans := make([]chan T, n)
	outs := make([]Stream[T], len(chans))
	for i := range chans {
		chans[i] = make(chan T, c.buffer)
		outs[i] = newStream[T](p, chans[i])
	}
	p.Go(func(context.Context) error {
		defer func() {
			for _, ch := range chans {
				close(ch)
			}
		}()
		for {
			v, ok := recv(p, in.ch)
			if !ok {
				return nil
			}
			for _, ch := range chans {
				if !send(p, ch, v) {
					return nil
				}
			}
		}
	})
	return outs
}

// Merge starts a stage that interleaves the values of streams into one, in
// the order they come, and ends when all of them have ended: fan-in, for
// several sources feeding one stage. The streams must belong to one
// Pipeline; Merge panics otherwise, and when given none.
//
// Values of different streams come out in no particular order; values of
// one stream keep theirs.
func Merge[T any](streams ...Stream[T]) Stream[T] {
	if len(streams) == 0 {
		panic("pipeline.Merge: no streams to merge")
	}
	p := streams[0].p
	for _, s := range streams {
		if s.p != p {
			panic("pipeline.Merge: streams of different Pipelines")
		}
		s.take("Merge")
	}
	out := make(chan T, defaultBuffer)
	startWorkers(p, len(streams), out, func(_ context.Context, i int) error {
		for {
			v, ok := recv(p, streams[i].ch)
			if !ok || !send(p, out, v) {
				return nil
			}
		}
	})
	return newStream[T](p, out)
}
