// Package pipeline runs typed stages connected by bounded channels, with
// backpressure, optional input order, and a run that ends cleanly whichever
// way it ends. It knows nothing of HTTP; package stages builds on it.
//
// # Stages and streams
//
// A run starts with New, which returns the Pipeline that owns every goroutine
// of the run. A source (Generate, FromSlice, FromSeq, FromChan) makes the
// first Stream; a stage (Map, or a function built from it) takes a Stream and
// returns the next; a sink (ForEach, All, or a receive loop on Chan) consumes
// the last and waits for the run:
//
//	p := pipeline.New(ctx)
//	ids := pipeline.FromSlice(p, []int{1, 2, 3})
//	users := pipeline.Map(ids, lookUp, pipeline.WithConcurrency(8))
//	err := pipeline.ForEach(users, save)
//
// Streams are typed, so the compiler checks that each stage accepts what the
// one before it emits. A Stage is such a function as a value, and Then joins
// two of them into one.
//
// # Bounded channels and backpressure
//
// Every stage writes to a channel of fixed capacity (WithBuffer, default 16),
// and a stage whose output is full waits. So a slow sink slows the stage
// before it, and so on back to the source, which stops reading its input:
// backpressure. The items held by a run are at most the sum of its buffers,
// plus one per goroutine of each stage, plus the window of each ordered or
// scheduled stage, however long the input. Nothing in the package queues
// without bound.
//
// # Order
//
// A stage on one goroutine (the default) keeps the order it receives. A stage
// on several (WithConcurrency) emits results as they complete: arrival
// order, which lets fast items overtake a slow one. WithInputOrder makes it
// emit in the order its inputs came instead. Results that finish ahead of a
// slower one wait in a window of twice the stage's goroutines; when the
// window is full the stage waits for the slow item, unless WithSpill lets
// it put what finished beyond the window in a file. Input order costs that
// head-of-line wait, and some bookkeeping per item: under a microsecond, a
// few times an unordered hop (see BenchmarkMapHop), which matters only when
// the function itself is cheap. Every stage keeps input order with one
// implementation, Schedule's.
//
// # Scheduling: limits, keys, retries
//
// Schedule is the general concurrent stage, for work that must be
// throttled or retried: calls to an API with a quota, requests to hosts
// that must not be flooded. Its limits come from a Budget: items in flight
// and starts per second, overall and per key, where WithKey says what an
// item's key is (a host, a tenant). A limit is a question the stage asks
// ("may this key start now, and if not, how long until it may?"), never a
// wait that holds a goroutine, so an item held back by its key never holds
// up an item of another key, and an item waiting for a retry (Task.Retry)
// holds no slot. Several stages given one Budget share its limits. Where
// nobody knows a key's right in-flight limit, a budget WithAdaptive finds
// it, as TCP finds a connection's window: it grows the limit while the
// key's items go well and cuts it when the far side refuses one
// (Task.Refused) or slows down.
//
//	budget := pipeline.NewBudget(pipeline.Limits{InFlight: 64}, func(tenant string) pipeline.Limits {
//		return quotas[tenant] // e.g. {Rate: 20}: 20 calls a second
//	})
//	results := pipeline.Schedule(calls, call, pipeline.WithBudget(budget), pipeline.WithKey(tenantOf))
//
// A scheduled stage holds a window of twice its budget's overall InFlight
// items, whatever they are doing; when it is full, the stage stops reading
// (see Schedule). WithObserver reports what happens to each item (waiting
// on a limit, started, retried, done), for progress displays and logs.
//
// # Two kinds of failure
//
// An item's failure (a request that failed, a line that does not parse) is
// data: the stage function returns it inside its result, it travels to the
// sink like any other value, and the run goes on. Give the result type a
// field for it, as stages.Record does.
//
// A fatal error is one after which the run cannot go on: the function of a
// stage returned a non-nil error or panicked, or a sink failed (ForEach's
// function, WithIdle's function). It stops the run at once, and ForEach,
// All and Wait return it. Only the first is kept; later ones are usually
// its consequences. A source that fails (its input cannot be read any
// more) is fatal too, but spares the items it had read: they drain to the
// sink first, so each still yields its result.
//
// # Cancellation
//
// Cancelling the context given to New is graceful: sources stop reading at
// their next item, but every item already read still flows through every
// stage to the sink, so each item read yields its result. Stage functions
// and sinks get a context of their own, which stays usable during that
// drain, so that a sink writing to a database still writes what drains,
// and ends only when the run is aborted. A stage that should cut long
// work short on a graceful cancel watches the Pipeline's Context as well
// (stages.Fetch turns requests in flight into canceled records so). Wait
// then returns the context's cause if a source was cut short of its input.
//
// A fatal error, or Stop (which a consumer calls when it has seen enough, and
// which breaking out of a range over All does for you), aborts instead: every
// goroutine of the run returns at once and items in flight are dropped.
//
// Either way, when ForEach, All or Wait returns, no goroutine of the run is
// left running.
//
// # Writing a stage
//
// Write a stage as a function from Stream to Stream built on Map:
//
//	func Enrich(in pipeline.Stream[User], opts ...pipeline.Option) pipeline.Stream[Profile] {
//		return pipeline.Map(in, func(ctx context.Context, u User) (Profile, error) {
//			p, err := fetchProfile(ctx, u)
//			if err != nil {
//				return Profile{User: u, Err: err}, nil // the item failed, not the run
//			}
//			return p, nil
//		}, opts...)
//	}
//
// Map gives the stage its goroutines, bounded output, ordering, panic
// recovery and shutdown. The function returns exactly one result per item,
// keeps an item's failure in that result, returns an error only when the
// whole run must stop, and watches ctx when its work can block. A source is
// written the same way with Generate: read an item, pass it to emit, and stop
// when emit returns false.
//
// When the work must keep to limits, be retried, or be keyed (a host, a
// tenant), use Schedule instead of Map; its work function gets a Task,
// with the item's identity and its count of tries.
//
// When one value makes zero or several results, use FlatMap, whose function
// hands each result to emit: it is the general stage, with the same
// concurrency, order and shutdown as Map. The other shapes come ready-made:
//
//   - Filter passes on the values a predicate keeps;
//   - Batch groups values into slices by size and, with WithWindow, by time,
//     for bulk inserts downstream;
//   - Tee hands every value to several consumers (fan-out);
//   - Merge interleaves several streams into one (fan-in).
//
// A stage that must keep state across values, or schedule them itself, is
// written with Process, which hands its function the input channel and an
// emit function. Prefer it to goroutines of your own on Chan: a stage must
// keep reading its input until it is closed, even after the context ends,
// or the stages before it block and the graceful drain never finishes.
// Process and the ready-made stages do that; a loop on Chan must too.
//
// # Options
//
// Each function's doc lists the options it takes. Given another (WithKey
// to Map, WithBuffer to ForEach), or a value that means nothing
// (WithConcurrency(0), a buffer over MaxBuffer), it panics when the stage
// is made, as conc's pools do on a limit below 1: a mistake that would
// otherwise be ignored for a whole run shows on the first run of a test.
//
//   - WithConcurrency for a stage that waits (on a network, a disk) or that
//     costs much more than a channel hop; a cheap function is fastest on the
//     default single goroutine.
//   - WithInputOrder on every concurrent stage, when the consumer needs input
//     order; leave it off when it does not, to let fast items through.
//   - WithBuffer to absorb bursts between stages of uneven speed, at the cost
//     of more items held; 0 makes each hand-off synchronous.
//   - WithIdle on a sink that buffers its output, to flush whenever no value
//     is ready.
//   - WithBudget, WithKey, WithSettled, WithNotStarted, WithObserver and
//     WithSpill for Schedule (WithSpill for Map in input order too).
package pipeline
