package pipeline

import "sync/atomic"

// A Stream is a typed, bounded channel of values flowing from one stage to
// the next, bound to the Pipeline that runs it. Stage functions such as Map
// take a Stream and return a new one, so the compiler checks that each
// stage's output type is the next one's input type.
//
// A Stream must be consumed exactly once: by one stage, by a sink (ForEach,
// All), or by receiving from Chan. Two stages given one Stream would split
// its values between them, so the second panics when it is built; to give
// every value to several consumers, use Tee. A Stream that nobody reads
// blocks its producers when its buffer is full; that is how backpressure
// reaches the source, and why a Tee branch that nobody reads stops the
// whole run, with no error.
type Stream[T any] struct {
	p     *Pipeline
	ch    <-chan T
	taken *atomic.Bool // a stage or a sink reads it
}

func newStream[T any](p *Pipeline, ch <-chan T) Stream[T] {
	return Stream[T]{p: p, ch: ch, taken: new(atomic.Bool)}
}

// take marks the stream as read by the stage or sink named by, and panics
// if another already reads it.
func (s Stream[T]) take(by string) {
	if s.p == nil {
		panic("pipeline." + by + ": the Stream is the zero value; streams come from a source or a stage")
	}
	if !s.taken.CompareAndSwap(false, true) {
		panic("pipeline." + by + " (or a stage built on it): the Stream is already read by another stage or sink; a Stream is read once (use Tee to give its values to several)")
	}
}

// Pipeline returns the run that the stream belongs to.
func (s Stream[T]) Pipeline() *Pipeline { return s.p }

// Chan returns the stream's channel, for a consumer that prefers a plain
// receive loop. The channel is closed when the stream ends, including after a
// fatal error or Stop. Receive until it is closed, or call Stop to leave
// early; then call Wait on the Pipeline to learn how the run ended. Chan
// does not mark the stream as read: a stage given it as well would split
// its values with the loop.
func (s Stream[T]) Chan() <-chan T { return s.ch }

// send delivers v unless the run is aborted, in which case v is dropped and
// send reports false. It deliberately ignores the context: after the parent
// context ends, items already read must still reach the sink.
func send[T any](p *Pipeline, ch chan<- T, v T) bool {
	select {
	case ch <- v:
		return true
	case <-p.abort:
		return false
	}
}

// recv receives the next value; ok is false when the channel is closed or
// the run is aborted.
func recv[T any](p *Pipeline, ch <-chan T) (v T, ok bool) {
	select {
	case v, ok = <-ch:
		return v, ok
	case <-p.abort:
		return v, false
	}
}
