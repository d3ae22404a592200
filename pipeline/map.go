package pipeline

import (
	"context"
	"sync/atomic"

	"github.com/sourcegraph/conc/panics"
	"github.com/sourcegraph/conc/stream"
)

// Map starts a stage that calls f on each value of in and emits its result.
//
// f returns an error only for a failure that must end the whole run; an
// item's own failure belongs in Out, so that it travels to the sink like any
// other result. A panic in f is caught and ends the run with an error.
//
// Options: WithConcurrency (default 1) runs f on that many goroutines;
// results then come out as they complete, or in input order with
// WithInputOrder. WithBuffer sizes the output channel.
func Map[In, Out any](in Stream[In], f func(context.Context, In) (Out, error), opts ...Option) Stream[Out] {
	c := newConfig(opts)
	out := make(chan Out, c.buffer)
	if c.ordered && c.workers > 1 {
		in.p.Go(func(ctx context.Context) error {
			defer close(out)
			mapOrdered(ctx, in, out, f, c.workers)
			return nil
		})
	} else {
		startWorkers(in.p, c.workers, out, func(ctx context.Context, _ int) error {
			return mapEach(ctx, in, out, f)
		})
	}
	return Stream[Out]{p: in.p, ch: out}
}

// startWorkers runs n copies of work on p, the i-th given i, and closes
// out when the last one returns. A fixed set of long-lived workers costs one
// channel hop per item, where a goroutine per item would cost a spawn.
func startWorkers[T any](p *Pipeline, n int, out chan<- T, work func(ctx context.Context, i int) error) {
	var live atomic.Int64
	live.Store(int64(n))
	for i := range n {
		p.Go(func(ctx context.Context) error {
			defer func() {
				if live.Add(-1) == 0 {
					close(out)
				}
			}()
			return work(ctx, i)
		})
	}
}

func mapEach[In, Out any](ctx context.Context, in Stream[In], out chan<- Out, f func(context.Context, In) (Out, error)) error {
	for {
		v, ok := recv(in.p, in.ch)
		if !ok {
			return nil
		}
		r, err := f(ctx, v)
		if err != nil {
			return err
		}
		if !send(in.p, out, r) {
			return nil
		}
	}
}

// mapOrdered keeps input order with conc's stream, whose callbacks run in
// submission order and whose queue holds at most workers+1 tasks: that queue
// is the bounded reorder window. A callback blocked on a full output channel
// holds up the queue, so backpressure still reaches the source.
func mapOrdered[In, Out any](ctx context.Context, in Stream[In], out chan<- Out, f func(context.Context, In) (Out, error), workers int) {
	p := in.p
	inOrder(in, workers, func(v In) stream.Callback {
		var r Out
		var err error
		// conc's stream re-panics in Wait; catching here turns the panic
		// into the run's error instead.
		if rec := panics.Try(func() { r, err = f(ctx, v) }); rec != nil {
			err = rec.AsError()
		}
		return func() {
			if err != nil {
				p.Fail(err)
				return
			}
			send(p, out, r)
		}
	})
}

// inOrder runs task on each value of in, on up to workers goroutines, and
// the callbacks the tasks return in input order.
func inOrder[In any](in Stream[In], workers int, task func(In) stream.Callback) {
	s := stream.New().WithMaxGoroutines(workers)
	for {
		v, ok := recv(in.p, in.ch)
		if !ok {
			break
		}
		s.Go(func() stream.Callback { return task(v) })
	}
	s.Wait()
}
