package pipeline

import (
	"context"
	"errors"
	"iter"
)

// Generate starts a source: gen runs in its own goroutine and hands each
// value to emit. emit blocks while the next stage is busy (backpressure), and
// returns false when gen should stop reading: the context is done or the run
// was aborted. A value passed to emit after the context ended is still
// delivered, so every item a source has read reaches the sink.
//
// An error returned by gen, such as a failed read of the input, is fatal
// for the run, but it spares what was read: the source stops, the values it
// emitted still reach the sink, and then Wait returns the error. The
// context's own error after the context ended is not an error: it marks the
// run as cut short. Options: WithBuffer.
func Generate[T any](p *Pipeline, gen func(ctx context.Context, emit func(T) bool) error, opts ...Option) Stream[T] {
	return generate("Generate", p, gen, opts)
}

// generate is Generate for the source named fn, which the panic for an
// option it does not take names.
func generate[T any](fn string, p *Pipeline, gen func(ctx context.Context, emit func(T) bool) error, opts []Option) Stream[T] {
	c := newConfig(fn, optBuffer, opts)
	out := make(chan T, c.buffer)
	p.goWith(p.ctx, func(ctx context.Context) error {
		defer close(out)
		emit := func(v T) bool {
			if !send(p, out, v) {
				return false
			}
			p.produced.Add(1)
			return ctx.Err() == nil
		}
		err := gen(ctx, emit)
		if ctx.Err() != nil {
			// The source stopped because the context ended; an error that
			// merely reports that is the cut, not a failure.
			if err == nil || errors.Is(err, ctx.Err()) || errors.Is(err, context.Cause(ctx)) {
				p.markCut()
				return nil
			}
		}
		if err != nil {
			p.failAfterDrain(err)
		}
		return nil
	})
	return newStream[T](p, out)
}

// FromSeq starts a source that emits the values of seq in order, stopping
// early when the context ends. Options: WithBuffer.
func FromSeq[T any](p *Pipeline, seq iter.Seq[T], opts ...Option) Stream[T] {
	return generate("FromSeq", p, func(ctx context.Context, emit func(T) bool) error {
		for v := range seq {
			if !emit(v) {
				break
			}
		}
		return nil
	}, opts)
}

// FromSlice starts a source that emits the items of s in order.
// Options: WithBuffer.
func FromSlice[T any](p *Pipeline, s []T, opts ...Option) Stream[T] {
	return generate("FromSlice", p, func(ctx context.Context, emit func(T) bool) error {
		for _, v := range s {
			if !emit(v) {
				break
			}
		}
		return nil
	}, opts)
}

// FromChan starts a source that forwards the values received from ch until
// ch is closed or the context ends. It never closes ch. Options: WithBuffer.
func FromChan[T any](p *Pipeline, ch <-chan T, opts ...Option) Stream[T] {
	return generate("FromChan", p, func(ctx context.Context, emit func(T) bool) error {
		for {
			select {
			case v, ok := <-ch:
				if !ok || !emit(v) {
					return nil
				}
			case <-ctx.Done():
				return nil
			}
		}
	}, opts)
}
