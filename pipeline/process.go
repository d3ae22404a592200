package pipeline

import "context"

// Process starts a stage written by hand, for what Map and FlatMap cannot
// express: a stage that keeps state across values, schedules them itself or
// emits them in an order of its own. f receives the input channel and an
// emit function, on one goroutine of the run:
//
//   - f reads in until it is closed. It is closed when the stage before
//     ends, including when the run is aborted, so a plain range loop is
//     right; keep reading after ctx is done, as the values read before the
//     cancel must still flow through.
//   - emit hands a value on, blocking while the next stage is busy, and
//     returns false once the run is aborted, when f should return.
//   - An error from f, or a panic, is fatal for the run.
//
// If f returns nil before in is closed, Process reads the rest of in and
// drops it, so that the stages before it do not block forever.
//
// Options: WithBuffer.
func Process[In, Out any](in Stream[In], f func(ctx context.Context, in <-chan In, emit func(Out) bool) error, opts ...Option) Stream[Out] {
	in.take("Process")
	c := newConfig("Process", optBuffer, opts)
	out := make(chan Out, c.buffer)
	p := in.p
	p.Go(func(ctx context.Context) error {
		defer close(out)
		if err := f(ctx, in.ch, func(v Out) bool { return send(p, out, v) }); err != nil {
			return err
		}
		for range in.ch {
		}
		return nil
	})
	return newStream[Out](p, out)
}
