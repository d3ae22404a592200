package stages

import (
	"context"
	"fmt"
	"time"
)

// A Trace is a moment in an item's fetch worth telling a person about, as
// a verbose log does: a retry decided, a redirect followed; or one in the
// run's: the spool full.
type Trace struct {
	Event TraceEvent
	Seq   int64  // the item's Request.Seq
	URL   string // the item's URL, password masked
	Try   int    // the attempt that failed (TraceRetry) or is under way (TraceRedirect)

	// For TraceRetry: what failed, as a message, and as the failed
	// attempt's error kind and HTTP status (0 when no response came); and
	// the wait before the next try, which the server's Retry-After set
	// (capped) when FromRetryAfter.
	Reason         string
	Kind           Kind
	Status         int
	Wait           time.Duration
	FromRetryAfter bool

	// For TraceRedirect: where the redirect leads, password masked.
	To string
}

// A TraceEvent says what a Trace reports.
type TraceEvent uint8

const (
	TraceRetry    TraceEvent = iota + 1 // an attempt failed, and another will be made after Wait
	TraceRedirect                       // a redirect is followed to To
	// TraceSpoolFull: WithSpool's spool is full, and Fetch in input
	// order waits for its slow item before it reads on (once a run).
	TraceSpoolFull
)

// WithTrace makes Fetch tell trace of each retry it decides and each
// redirect its own client follows (not those of WithClient's), for a
// verbose log, and of the events of WithSpool; of only those events given,
// where any are. A trace of redirects costs each request a little (its
// item is carried in the request's context), where retries cost nothing
// until one is made: a Tally's count of retries asks for TraceRetry alone.
// trace is called from Fetch's workers, several at once, so it must be
// safe for concurrent use, and quick.
func WithTrace(trace func(Trace), events ...TraceEvent) Option {
	if trace == nil {
		panic("stages.WithTrace: nil function")
	}
	traced := ^uint8(0)
	if len(events) > 0 {
		traced = 0
		for _, e := range events {
			if e < TraceRetry || e > TraceSpoolFull {
				panic(fmt.Sprintf("stages.WithTrace: no such event %d", e))
			}
			traced |= 1 << e
		}
	}
	return set(optTrace, func(s *settings) { s.trace, s.traced = trace, traced })
}

// traces reports whether WithTrace asked for events of kind e.
func (s *settings) traces(e TraceEvent) bool { return s.trace != nil && s.traced&(1<<e) != 0 }

// traceKey carries, in a request's context, what a redirect's trace needs
// of its item; set only when tracing, so that it costs nothing otherwise.
type traceKey struct{}

type traceItem struct {
	seq int64
	url string
	try int
}

func withTraceItem(ctx context.Context, it *traceItem) context.Context {
	return context.WithValue(ctx, traceKey{}, it)
}

func traceItemOf(ctx context.Context) *traceItem {
	it, _ := ctx.Value(traceKey{}).(*traceItem)
	return it
}
