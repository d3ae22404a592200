package pipeline

import "time"

// An Option configures a stage or a sink. Options that do not apply to the
// function they are given to are ignored.
type Option func(*config)

type config struct {
	workers int
	buffer  int
	ordered bool
	idle    func() error
	window  time.Duration
}

// defaultBuffer is small on purpose: a buffer is only there to absorb jitter
// between stages, and every slot is an item read from the input but not yet
// written out.
const defaultBuffer = 16

func newConfig(opts []Option) config {
	c := config{workers: 1, buffer: defaultBuffer}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithConcurrency runs a stage's function on n goroutines at once.
// Defaults to 1. Values below 1 mean 1.
func WithConcurrency(n int) Option {
	return func(c *config) { c.workers = max(n, 1) }
}

// WithBuffer sets the capacity of a stage's output channel. Defaults to 16.
// A larger buffer smooths bursts at the cost of more items held in memory;
// 0 makes every hand-off synchronous.
func WithBuffer(n int) Option {
	return func(c *config) { c.buffer = max(n, 0) }
}

// WithInputOrder makes a concurrent stage emit its results in the order its
// inputs arrived, instead of as they complete. Results that finish early wait
// in a reorder window of about one slot per goroutine, so memory stays bounded;
// a slow item holds up those behind it once the window is full.
func WithInputOrder() Option {
	return func(c *config) { c.ordered = true }
}

// WithIdle gives a sink a function to call whenever no value is ready and
// when the stream ends: the moment to flush a buffered writer, so that a
// reader downstream sees each value promptly while bulk runs still write in
// large blocks. An error from idle is fatal for the run.
func WithIdle(idle func() error) Option {
	return func(c *config) { c.idle = idle }
}

// WithWindow makes Batch send a batch that is not full once d has passed
// since its first value arrived, so that a consumer waits at most about d
// for a value however slowly the input flows. 0, the default, waits for a
// full batch or the end of the input.
func WithWindow(d time.Duration) Option {
	return func(c *config) { c.window = max(d, 0) }
}
