package pipeline

// A Stream is a typed, bounded channel of values flowing from one stage to
// the next, bound to the Pipeline that runs it. Stage functions such as Map
// take a Stream and return a new one, so the compiler checks that each
// stage's output type is the next one's input type.
//
// A Stream must be consumed exactly once: by one stage, by a sink (ForEach,
// All), or by receiving from Chan. A Stream that nobody reads blocks its
// producers when its buffer is full; that is how backpressure reaches the
// source.
type Stream[T any] struct {
	p  *Pipeline
	ch <-chan T
}

// Pipeline returns the run that the stream belongs to.
func (s Stream[T]) Pipeline() *Pipeline { return s.p }

// Chan returns the stream's channel, for a consumer that prefers a plain
// receive loop. The channel is closed when the stream ends, including after a
// fatal error or Stop. Receive until it is closed, or call Stop to leave
// early; then call Wait on the Pipeline to learn how the run ended.
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
