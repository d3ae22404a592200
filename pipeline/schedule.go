package pipeline

import (
	"context"
	"math"
	"sync"
	"time"
)

// Schedule starts a stage that calls work on each item of in when its
// limits let the item start, and emits the result: the general concurrent
// stage, for work that must be throttled, retried or kept in order.
//
// # Limits
//
// The stage draws on a Budget (WithBudget; else one of its own with
// WithConcurrency items in flight, default 1): items in flight overall and
// per key, and start rates overall and per key. The key of an item comes
// from WithKey. Limits are questions the stage asks ("may an item of this
// key start now, and if not, how long until it may?"), never a wait a
// goroutine sits in: an item held back by its key's limits holds no slot,
// so items of other keys go on, and a stage's goroutines exist only while
// there is work for them.
//
// # Retries
//
// work may ask for its item to be tried again after a wait, by calling
// Task.Retry: for a backoff, or for a wait the far side asked for. The item
// then holds no slot until its next try. Its Task, with its Seq and its
// count of tries, is the same from try to try.
//
// # The window
//
// The stage holds at most twice the budget's overall InFlight items:
// waiting for a limit, in flight, waiting for a retry, and done but not
// yet taken downstream. When that window is full it stops reading its
// input, so backpressure reaches the source and memory stays bounded.
// Within the window, an item waiting on its key never delays an item of
// another key; but a window full of one key's waiting items stops reading
// for every key, by design: what comes next in the input is not known
// until it is read.
//
// # Order
//
// Results come out as items finish, or in input order with
// WithInputOrder; then results that finish ahead of a slower item wait in
// the window, and, with WithSpill, beyond it in a file (see Spill).
//
// # Cancellation and failure
//
// A graceful cancel (the run's context ends) drains what was read: items
// in flight finish, items waiting for a retry keep the result of their
// last try, and items not yet started either go through work as usual
// or, with WithNotStarted, get the result it makes without starting. work
// gets a context that stays usable during that drain and ends only when
// the run is aborted; to cut long work short on a graceful cancel, watch
// the Pipeline's Context too. An error from work, or a panic, is fatal.
//
// Options: WithConcurrency or WithBudget, WithKey, WithInputOrder,
// WithSpill, WithSettled, WithNotStarted, WithObserver, WithBuffer,
// WithAdaptive (for the stage's own budget).
func Schedule[In, Out any](in Stream[In], work func(ctx context.Context, t *Task[In]) (Out, error), opts ...Option) Stream[Out] {
	in.take("Schedule")
	c := newConfig("Schedule", optConcurrency|optBudget|optKey|optInputOrder|optSpill|optSettled|optNotStarted|optObserver|optBuffer|optAdaptive, opts)
	if c.budget != nil && c.workersSet {
		panic("pipeline.Schedule: WithConcurrency and WithBudget both given; the budget's overall InFlight is the stage's concurrency")
	}
	if c.budget != nil && c.adaptive != nil {
		panic("pipeline.Schedule: WithAdaptive and WithBudget both given; give WithAdaptive to NewBudget")
	}
	out := make(chan Out, c.buffer)
	p := in.p
	s := newSched(p, in.ch, c, work, func(v Out) bool { return send(p, out, v) })
	s.offer = func(v Out) bool {
		select {
		case out <- v:
			return true
		default:
			return false
		}
	}
	p.Go(func(context.Context) error {
		defer close(out)
		return s.run()
	})
	return newStream[Out](p, out)
}

// sched is a running Schedule stage. One goroutine, the lead, reads the
// input, keeps time and notices a cancel; workers, started as the work
// needs them up to the overall InFlight, pick the next item that may start
// themselves, so that in a busy run an item costs no hand-off beyond its
// way in and out. All state is guarded by the budget's mutex, which stages
// sharing the budget share too.
type sched[In, Out any] struct {
	p          *Pipeline
	b          *Budget
	in         <-chan In
	work       func(context.Context, *Task[In]) (Out, error)
	deliver    func(Out) bool
	offer      func(Out) bool // hands a result on if that needs no wait; nil where it cannot tell
	keyOf      func(In) string
	notStarted func(In) Out
	settled    func(In) (Out, bool)
	observe    func(Event)
	spill      *spillFile[Out]
	ordered    bool
	window     int
	maxWorkers int

	kick     chan struct{} // wakes the lead; capacity 1
	wake     chan struct{} // wakes an idle worker; closed when the stage ends
	workerWG sync.WaitGroup
	obsMu    sync.Mutex // delivers events one batch at a time, in order
	spare    []Event

	// Guarded by b.mu.
	keys     map[string]*stageKey[In, Out]
	one      *stageKey[In, Out] // the key of every item, without WithKey
	runnable []*stageKey[In, Out]
	timers   timers[In, Out]
	rateWake time.Time // a timer is set for the overall rate; zero when none
	alarmAt  time.Time // when the lead will look at the timers next; zero when it will not
	held     int       // items read and not yet handed on, less those spilled
	nextSeq  int64
	inOpen   bool
	canceled bool
	ended    bool
	workers  int
	idle     int
	looking  int // workers woken or started that have not yet looked for an item
	granted  int // overall slots handed to the stage by another's release
	// keyGrants counts the slots handed to its keys, so that dropGrants
	// costs nothing when there are none, as in a stage of its own.
	keyGrants int
	emitting  bool             // a goroutine is handing results on
	ready     []*item[In, Out] // unordered: done without a worker of their own
	order     reorder[In, Out] // ordered: done, waiting for their turn
	memDone   int              // ordered: done and in memory, waiting for their turn
	pending   []Event
	err       error // a fatal error met while the lock was held

	batch []arrival[In, Out] // the lead's: items taken in at one wake-up
}

// item is an item on its way through the stage.
type item[In, Out any] struct {
	task       Task[In]
	out        Out
	key        *stageKey[In, Out]
	waited     WaitReason
	notStarted bool // its result is notStarted's, made when it is handed on
	// flight is, for an adaptive key, its try in flight: made at its
	// first, so that other items do not carry one.
	flight *flight
}

func newSched[In, Out any](p *Pipeline, in <-chan In, c config, work func(context.Context, *Task[In]) (Out, error), deliver func(Out) bool) *sched[In, Out] {
	b := c.budget
	if b == nil {
		b = NewBudget(Limits{InFlight: c.workers}, nil)
		b.adaptive = c.adaptive
	}
	s := &sched[In, Out]{
		p:          p,
		b:          b,
		in:         in,
		work:       work,
		deliver:    deliver,
		keyOf:      as[func(In) string](c.key, "WithKey"),
		notStarted: as[func(In) Out](c.notStarted, "WithNotStarted"),
		settled:    as[func(In) (Out, bool)](c.settled, "WithSettled"),
		observe:    c.observe,
		ordered:    c.ordered,
		window:     window(b.overall.InFlight),
		maxWorkers: b.overall.InFlight,
		kick:       make(chan struct{}, 1),
		wake:       make(chan struct{}, b.overall.InFlight),
		inOpen:     true,
	}
	if spec := as[*Spill[Out]](c.spill, "WithSpill"); spec != nil && s.ordered {
		s.spill = newSpillFile(spec)
		p.Cleanup(s.spill.remove)
	}
	if s.keyOf == nil {
		s.one = &stageKey[In, Out]{s: s}
	} else {
		s.keys = make(map[string]*stageKey[In, Out])
	}
	if s.ordered {
		s.order.init(s.window)
	}
	return s
}

// window returns how many items a stage with the given concurrency holds:
// twice as many, so that as many again as run can wait for their turn or
// their key, without overflowing.
func window(concurrency int) int {
	if concurrency > math.MaxInt/2 {
		return math.MaxInt
	}
	return 2 * concurrency
}
