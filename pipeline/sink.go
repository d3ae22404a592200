package pipeline

import (
	"context"
	"iter"

	"github.com/sourcegraph/conc/panics"
)

// ForEach is a sink: it calls f on each value of s, in the caller's goroutine
// and in stream order, then waits for the run and returns Wait's result.
// An error from f, or a panic, is fatal: the run stops and ForEach returns it.
//
// f gets the stage context (see Pipeline.Context): it stays usable while
// what was read drains after a graceful cancel, so a sink that writes to a
// database with it still writes every value, and ends when the run is
// aborted.
//
// Options: WithIdle.
func ForEach[T any](s Stream[T], f func(ctx context.Context, v T) error, opts ...Option) error {
	s.take("ForEach")
	c := newConfig("ForEach", optIdle, opts)
	ctx := s.p.stageCtx
	if r := panics.Try(func() {
		if err := drain(s, func(v T) error { return f(ctx, v) }, c.idle); err != nil {
			s.p.Fail(err)
		}
	}); r != nil {
		s.p.Fail(r.AsError())
	}
	return s.p.Wait()
}

func drain[T any](s Stream[T], f func(T) error, idle func() error) error {
	for {
		var v T
		var ok bool
		select {
		case v, ok = <-s.ch:
		case <-s.p.abort:
			return nil
		default:
			// Nothing is ready: the moment for idle work such as a
			// flush, before blocking for the next value.
			if idle != nil {
				if err := idle(); err != nil {
					return err
				}
			}
			if v, ok = recv(s.p, s.ch); !ok {
				return nil
			}
		}
		if !ok {
			if idle != nil {
				return idle()
			}
			return nil
		}
		if err := f(v); err != nil {
			return err
		}
	}
}

// All returns the values of s as a sequence for a range loop:
//
//	for v, err := range pipeline.All(s) {
//		if err != nil {
//			return err // the run failed, or its context ended early
//		}
//		use(v)
//	}
//
// err is non-nil at most once, after the last value: it is Wait's result.
// Breaking out of the loop stops the run and waits for it, so no goroutine
// outlives the loop.
func All[T any](s Stream[T]) iter.Seq2[T, error] {
	s.take("All")
	return func(yield func(T, error) bool) {
		p := s.p
		done := false
		defer func() {
			if !done { // the loop body broke out or panicked
				p.Stop()
				p.Wait()
			}
		}()
		for {
			v, ok := recv(p, s.ch)
			if !ok {
				break
			}
			if !yield(v, nil) {
				return
			}
		}
		done = true
		if err := p.Wait(); err != nil {
			var zero T
			yield(zero, err)
		}
	}
}
