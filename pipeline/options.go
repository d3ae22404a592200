package pipeline

import (
	"fmt"
	"time"
)

// An Option configures a stage or a sink. Each function's doc lists the
// options it takes, and it panics when it is given another: an option that
// would do nothing is a mistake, and one found when the stage is made,
// before any item flows, is cheaper than a run that quietly ignores it.
type Option func(*config)

type config struct {
	given option // the options given, to check against what a function takes

	workers    int
	workersSet bool
	buffer     int
	ordered    bool
	idle       func() error
	window     time.Duration

	// Of Schedule. The functions are held as any and checked against the
	// stage's types when it starts (see as).
	budget     *Budget
	key        any // func(In) string
	notStarted any // func(In) Out
	settled    any // func(In) (Out, bool)
	observe    func(Event)
	spill      any // *Spill[Out]
	adaptive   *Adaptive
}

// defaultBuffer is small on purpose: a buffer is only there to absorb jitter
// between stages, and every slot is an item read from the input but not yet
// written out.
const defaultBuffer = 16

// MaxBuffer is the largest channel capacity WithBuffer takes. A channel
// allocates its whole capacity when it is made, the size of its value type
// times the capacity (a stages.Record is about 200 bytes, so MaxBuffer of
// them is 13 MB), before a single item flows; beyond a few hundred, a
// buffer only holds items that backpressure would better leave unread.
const MaxBuffer = 1 << 16

// newConfig applies opts for the function fn, which takes the options in
// takes, and panics if it was given any other.
func newConfig(fn string, takes option, opts []Option) config {
	c := config{workers: 1, buffer: defaultBuffer}
	for _, o := range opts {
		o(&c)
	}
	if extra := c.given &^ takes; extra != 0 {
		panic(fmt.Sprintf("pipeline.%s does not take %s; it takes %s", fn, extra, takes))
	}
	return c
}

// WithConcurrency runs a stage's function on up to n goroutines at once,
// started as the input needs them. Defaults to 1. Panics if n < 1.
func WithConcurrency(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("pipeline.WithConcurrency: n must be at least 1, not %d", n))
	}
	return func(c *config) { c.workers, c.workersSet, c.given = n, true, c.given|optConcurrency }
}

// WithBuffer sets the capacity of a stage's output channel. Defaults to 16.
// A larger buffer smooths bursts at the cost of more items held in memory;
// 0 makes every hand-off synchronous. Panics if n is negative or over
// MaxBuffer.
func WithBuffer(n int) Option {
	if n < 0 || n > MaxBuffer {
		panic(fmt.Sprintf("pipeline.WithBuffer: n must be from 0 to MaxBuffer (%d), not %d", MaxBuffer, n))
	}
	return func(c *config) { c.buffer, c.given = n, c.given|optBuffer }
}

// WithInputOrder makes a concurrent stage emit its results in the order its
// inputs arrived, instead of as they complete. Results that finish early wait
// in a window of twice the stage's goroutines, so memory stays bounded; a
// slow item holds up those behind it once the window is full (see WithSpill).
func WithInputOrder() Option {
	return func(c *config) { c.ordered = true; c.given |= optInputOrder }
}

// WithIdle gives a sink a function to call whenever no value is ready and
// when the stream ends: the moment to flush a buffered writer, so that a
// reader downstream sees each value promptly while bulk runs still write in
// large blocks. An error from idle is fatal for the run.
func WithIdle(idle func() error) Option {
	return func(c *config) { c.idle = idle; c.given |= optIdle }
}

// WithWindow makes Batch send a batch that is not full once d has passed
// since its first value arrived, so that a consumer waits at most about d
// for a value however slowly the input flows. 0, the default, waits for a
// full batch or the end of the input.
func WithWindow(d time.Duration) Option {
	return func(c *config) { c.window = max(d, 0); c.given |= optWindow }
}

// WithBudget makes Schedule draw on b, which may be shared with other
// stages, for its limits. Schedule panics if WithConcurrency is given too:
// b's overall InFlight is the stage's concurrency. The stage holds up to
// twice b's overall InFlight items (see Schedule).
func WithBudget(b *Budget) Option {
	if b == nil {
		panic("pipeline.WithBudget: nil Budget")
	}
	return func(c *config) { c.budget = b; c.given |= optBudget }
}

// WithKey gives Schedule the key of each item, such as the host of a URL
// or the tenant of a call: the budget's per-key limits apply to items of
// the same key together, and items of one key never hold up those of
// another. Without it, every item has the key "". key is called once per
// item, in the stage's own goroutine, so it should be cheap. Schedule
// panics if key does not take the stage's item type.
func WithKey[In any](key func(In) string) Option {
	return func(c *config) { c.key = key; c.given |= optKey }
}

// WithNotStarted tells Schedule what result an item gets when a graceful
// cancel catches it before its first try: f makes it, and the item is
// never started. Without it, the items read still go through the work
// function after a cancel, as in Map. Items waiting for a retry keep the
// result of their last try either way. Schedule panics if f does not map
// the stage's item type to its result type.
func WithNotStarted[In, Out any](f func(In) Out) Option {
	return func(c *config) { c.notStarted = f; c.given |= optNotStarted }
}

// WithSettled tells Schedule which items are settled before they start,
// such as items that failed upstream or cannot be worked on at all, and
// with what result: f returns it and true for such an item, which then
// comes out in its turn without taking a slot or a token of the rate, and
// without a call of the work function. f is called once per item, in the
// stage's own goroutine, so it should be cheap. Schedule panics if f does
// not fit the stage's types.
func WithSettled[In, Out any](f func(In) (Out, bool)) Option {
	return func(c *config) { c.settled = f; c.given |= optSettled }
}

// WithObserver makes Schedule report its events to observe: items waiting
// on a limit, started, retried and done, and keys whose limits changed
// (see Event). Events come one at a time and in the order they happened,
// so observe need not be safe for concurrent use, but it must be quick:
// the stage waits for it. A panic in it is fatal for the run.
func WithObserver(observe func(Event)) Option {
	return func(c *config) { c.observe = observe; c.given |= optObserver }
}

// as returns v, held as any in a config, as a T, or panics with a message
// that says which option did not fit the stage's types.
func as[T any](v any, option string) T {
	if v == nil {
		var zero T
		return zero
	}
	t, ok := v.(T)
	if !ok {
		var want T
		panic(fmt.Sprintf("pipeline.%s: given a %T where this stage takes a %T", option, v, want))
	}
	return t
}
