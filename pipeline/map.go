package pipeline

import (
	"context"
	"sync/atomic"
)

// Map starts a stage that calls f on each value of in and emits its result.
//
// f returns an error only for a failure that must end the whole run; an
// item's own failure belongs in Out, so that it travels to the sink like any
// other result. A panic in f is caught and ends the run with an error.
//
// Options: WithConcurrency (default 1) runs f on that many goroutines;
// results then come out as they complete, or in input order with
// WithInputOrder (on Schedule's engine, so WithSpill applies too).
// WithBuffer sizes the output channel.
func Map[In, Out any](in Stream[In], f func(context.Context, In) (Out, error), opts ...Option) Stream[Out] {
	in.take("Map")
	c := newConfig("Map", optConcurrency|optInputOrder|optSpill|optBuffer, opts)
	out := make(chan Out, c.buffer)
	if c.ordered && c.workers > 1 {
		startOrdered(in, c, f, func(v Out) bool { return send(in.p, out, v) }, func() { close(out) })
	} else {
		startCrew(in.p, c.workers, out, func(ctx context.Context, more func()) error {
			return mapEach(ctx, in, out, f, more)
		})
	}
	return newStream[Out](in.p, out)
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

// startCrew runs up to n workers on p: one at first, and one more each
// time a worker takes a value while fewer than n run, so that a stage
// given a huge concurrency costs only the goroutines its input needs. A
// worker calls more when it takes a value. out is closed when the last
// worker returns.
func startCrew[T any](p *Pipeline, n int, out chan<- T, work func(ctx context.Context, more func()) error) {
	var started, live atomic.Int64
	var more func()
	more = func() {
		for {
			k := started.Load()
			if k >= int64(n) {
				return
			}
			if started.CompareAndSwap(k, k+1) {
				break
			}
		}
		live.Add(1)
		p.Go(func(ctx context.Context) error {
			// A worker starts the next only from within the crew, so live
			// cannot reach 0 while one is on its way.
			defer func() {
				if live.Add(-1) == 0 {
					close(out)
				}
			}()
			return work(ctx, more)
		})
	}
	more()
}

func mapEach[In, Out any](ctx context.Context, in Stream[In], out chan<- Out, f func(context.Context, In) (Out, error), more func()) error {
	for {
		v, ok := recv(in.p, in.ch)
		if !ok {
			return nil
		}
		more()
		r, err := f(ctx, v)
		if err != nil {
			return err
		}
		if !send(in.p, out, r) {
			return nil
		}
	}
}

// startOrdered runs f on the values of in, on up to c.workers goroutines,
// and hands the results to deliver in input order, on Schedule's engine:
// one implementation of input order for every stage. closeOut is called
// when the last result has been handed on.
func startOrdered[In, Out any](in Stream[In], c config, f func(context.Context, In) (Out, error), deliver func(Out) bool, closeOut func()) {
	p := in.p
	s := newSched(p, in.ch, config{workers: c.workers, ordered: true, spill: c.spill},
		func(ctx context.Context, t *Task[In]) (Out, error) { return f(ctx, t.Value) }, deliver)
	p.Go(func(context.Context) error {
		defer closeOut()
		return s.run()
	})
}
