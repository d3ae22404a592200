package pipeline

import "context"

// FlatMap starts a stage that calls f on each value of in; f hands any
// number of results to emit, which blocks while the next stage is busy and
// returns false once the run is aborted, when f should return. It is the
// general one-value-at-a-time stage: a filter emits zero or one result, an
// expansion (a page into its items) many.
//
// As with Map, f returns an error only for a failure that ends the whole
// run, and a panic in f ends the run with an error.
//
// Options: WithConcurrency (default 1); WithInputOrder keeps the results of
// each value together and in input order, holding them until earlier values
// are done, so keep what one value emits small; WithBuffer.
func FlatMap[In, Out any](in Stream[In], f func(ctx context.Context, v In, emit func(Out) bool) error, opts ...Option) Stream[Out] {
	in.take("FlatMap")
	c := newConfig("FlatMap", optConcurrency|optInputOrder|optBuffer, opts)
	out := make(chan Out, c.buffer)
	p := in.p
	if c.ordered && c.workers > 1 {
		// Each value's results are gathered, then handed on together in
		// their value's turn.
		gather := func(ctx context.Context, v In) ([]Out, error) {
			var rs []Out
			err := f(ctx, v, func(r Out) bool {
				rs = append(rs, r)
				return !p.aborted()
			})
			return rs, err
		}
		deliver := func(rs []Out) bool {
			for _, r := range rs {
				if !send(p, out, r) {
					return false
				}
			}
			return true
		}
		startOrdered(in, c, gather, deliver, func() { close(out) })
		return newStream[Out](p, out)
	}
	emit := func(v Out) bool { return send(p, out, v) }
	startCrew(p, c.workers, out, func(ctx context.Context, more func()) error {
		for {
			v, ok := recv(p, in.ch)
			if !ok {
				return nil
			}
			more()
			if err := f(ctx, v, emit); err != nil {
				return err
			}
		}
	})
	return newStream[Out](p, out)
}

// Filter starts a stage that passes on the values for which keep returns
// true, in the order they come. keep should be cheap, as it runs on one
// goroutine; a filter that waits on I/O or can fail is a FlatMap.
//
// Options: WithBuffer.
func Filter[T any](in Stream[T], keep func(T) bool, opts ...Option) Stream[T] {
	c := newConfig("Filter", optBuffer, opts)
	return FlatMap(in, func(_ context.Context, v T, emit func(T) bool) error {
		if keep(v) {
			emit(v)
		}
		return nil
	}, WithBuffer(c.buffer))
}
