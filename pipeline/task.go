package pipeline

import "time"

// A Task is an item of a scheduled stage as its work function sees it: the
// value, the item's identity, and how many tries it has had. The stage
// keeps one Task per item for all its tries.
type Task[T any] struct {
	Value T
	// Seq is the item's position in the stage's input, from 0.
	Seq int64
	// Key is what the key function of WithKey said of Value; "" without
	// one.
	Key string
	// Try counts the calls of the work function for the item, this one
	// included: 1 on the first.
	Try int
	// Started is when the work function was first called for the item.
	Started time.Time

	retry bool
	after time.Duration

	// For an adaptive budget (WithAdaptive): what the try said of its
	// key, and in which round of the key's items it began.
	refused  bool
	untimed  bool
	timedOut bool
	pause    time.Duration
	round    int64
}

// Retry asks the stage to call the work function for the item again after
// d. Until then the item holds no slot, so other items go on. The result
// the work function returns with this call stands as the item's result if
// the run is cancelled before the next try. A negative d means 0.
func (t *Task[T]) Retry(d time.Duration) {
	t.retry = true
	t.after = max(d, 0)
}

// Refused tells the stage that the far side of the item's key refused
// this try because it is overloaded: an HTTP 429 or 503, a connection
// refused or reset under load. With a budget that adapts (WithAdaptive),
// the key's in-flight limit is cut, and with pause > 0 (what a server
// asks for in Retry-After) the key starts nothing more until the pause
// has passed. Without one, Refused changes nothing. It says nothing of
// whether to try the item again: that is Retry.
func (t *Task[T]) Refused(pause time.Duration) {
	t.refused = true
	t.pause = max(pause, 0)
}

// Untimed tells the stage that this try's time says nothing of how fast
// the far side of the item's key answers: the try failed for reasons of
// the item (a 404, a connection broken in a body) and may have been much
// quicker than an answer. With a budget that adapts (WithAdaptive), such
// quick failures at the head of a list would otherwise be taken for the
// key's usual time, and every real answer after them for a slowdown.
// Without one, Untimed changes nothing.
func (t *Task[T]) Untimed() {
	t.untimed = true
}

// TimedOut tells the stage that this try had no answer from the far side
// of the item's key in the time the work allows it (a request's timeout):
// its time is a bound, not a measure, of how fast the far side answers,
// and it did not go well. With a budget that adapts (WithAdaptive), it
// never grows the key's limit, and it teaches the key no usual time
// before the key has answered; once it has, timeouts are slow against
// that time, and cut the limit as slow answers do. Work that times out
// without saying so has a server that answers nothing taken for one that
// answers well at the timeout: its limit grows with each timeout. Without
// such a budget, TimedOut changes nothing.
func (t *Task[T]) TimedOut() {
	t.timedOut = true
}
