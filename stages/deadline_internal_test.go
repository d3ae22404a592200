package stages

import (
	"context"
	"testing"
	"time"
)

func TestAttemptClock(t *testing.T) {
	var c attemptClock
	defer c.release()
	parent := t.Context()

	// An attempt that runs out of time is cancelled with errAttemptTimeout.
	ctx := c.start(parent, 20*time.Millisecond)
	<-ctx.Done()
	if context.Cause(ctx) != errAttemptTimeout {
		t.Fatalf("cause %v, want errAttemptTimeout", context.Cause(ctx))
	}
	c.stop()

	// The next attempt gets a fresh context, and one that ends in time is
	// never cancelled, even by a timer armed for it.
	for range 50 {
		ctx = c.start(parent, time.Hour)
		c.stop()
	}
	if ctx.Err() != nil {
		t.Fatalf("a context reused after a timeout is done: %v", ctx.Err())
	}

	// A limit that would have fired between attempts touches neither. (It
	// is stopped long before it is due; a pause of 50 ms between start and
	// stop would make this fail, rightly.)
	ctx = c.start(parent, 50*time.Millisecond)
	c.stop()
	time.Sleep(100 * time.Millisecond)
	next := c.start(parent, time.Hour)
	if next.Err() != nil || ctx.Err() != nil {
		t.Fatalf("a stopped attempt's timer cancelled a context: %v, %v", ctx.Err(), next.Err())
	}
	c.stop()

	// The run's end reaches the attempt.
	run, cancel := context.WithCancel(parent)
	ctx = c.start(run, time.Hour)
	cancel()
	<-ctx.Done()
	c.stop()
}
