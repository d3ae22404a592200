package pipeline

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sourcegraph/conc/panics"
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
// WithSpill, WithSettled, WithNotStarted, WithObserver, WithBuffer.
func Schedule[In, Out any](in Stream[In], work func(ctx context.Context, t *Task[In]) (Out, error), opts ...Option) Stream[Out] {
	c := newConfig(opts)
	if c.budget != nil && c.workersSet {
		panic("pipeline.Schedule: WithConcurrency and WithBudget both given; the budget's overall InFlight is the stage's concurrency")
	}
	out := make(chan Out, c.buffer)
	p := in.p
	s := newSched(p, in.ch, c, work, func(v Out) bool { return send(p, out, v) })
	p.Go(func(ctx context.Context) error {
		defer close(out)
		return s.run(ctx)
	})
	return Stream[Out]{p: p, ch: out}
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
	emitting bool             // a goroutine is handing results on
	ready    []*item[In, Out] // unordered: done without a worker of their own
	order    reorder[In, Out] // ordered: done, waiting for their turn
	memDone  int              // ordered: done and in memory, waiting for their turn
	pending  []Event
	err      error // a fatal error met while the lock was held
}

// item is an item on its way through the stage.
type item[In, Out any] struct {
	task       Task[In]
	out        Out
	key        *stageKey[In, Out]
	waited     WaitReason
	notStarted bool     // its result is notStarted's, made when it is handed on
	spilled    bool     // its result is in the spill file at ref
	ref        spillRef // where
}

func newSched[In, Out any](p *Pipeline, in <-chan In, c config, work func(context.Context, *Task[In]) (Out, error), deliver func(Out) bool) *sched[In, Out] {
	b := c.budget
	if b == nil {
		b = NewBudget(Limits{InFlight: c.workers}, nil)
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
		window:     2 * b.overall.InFlight,
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

// run is the lead.
func (s *sched[In, Out]) run(ctx context.Context) error {
	b := s.b
	b.mu.Lock()
	b.stages = append(b.stages, s)
	b.mu.Unlock()
	defer s.end()

	cancel := s.p.ctx.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var timerAt time.Time
	for {
		b.mu.Lock()
		if s.err != nil {
			b.mu.Unlock()
			return s.err
		}
		now := time.Now()
		s.fire(now)
		s.dispatch()
		emit := !s.emitting && s.readyToEmit()
		if emit {
			s.emitting = true
		}
		finished := !s.inOpen && s.held == 0
		var input <-chan In
		if s.inOpen && s.held < s.window {
			input = s.in
		}
		at := s.timers.next()
		s.alarmAt = at
		b.mu.Unlock()
		s.report()

		if emit {
			if !s.emitReady() {
				return nil
			}
			continue
		}
		if finished {
			return nil
		}
		if !at.Equal(timerAt) {
			timer.Stop()
			if timerAt = at; !at.IsZero() {
				timer.Reset(max(time.Until(at), 0))
			}
		}
		var alarm <-chan time.Time
		if !timerAt.IsZero() {
			alarm = timer.C
		}
		select {
		case v, ok := <-input:
			if !ok {
				b.mu.Lock()
				s.inOpen = false
				b.mu.Unlock()
				continue
			}
			if s.settled != nil {
				if out, ok := s.settled(v); ok {
					b.mu.Lock()
					s.admitSettled(v, out, time.Now())
					b.mu.Unlock()
					continue
				}
			}
			key := ""
			if s.keyOf != nil {
				key = s.keyOf(v)
			}
			b.mu.Lock()
			s.admit(v, key, time.Now())
			b.mu.Unlock()
		case <-s.kick:
		case <-alarm:
			timerAt = time.Time{}
		case <-cancel:
			cancel = nil
			b.mu.Lock()
			s.cancel()
			b.mu.Unlock()
		case <-s.p.abort:
			return nil
		}
	}
}

// end lets the workers go, waits for them, and leaves the budget.
func (s *sched[In, Out]) end() {
	b := s.b
	b.mu.Lock()
	s.ended = true
	close(s.wake)
	clear(s.runnable)
	s.runnable = nil // a worker that looks for an item now finds none
	b.mu.Unlock()
	// After an abort, workers may still be returning from work, and give
	// back their slots as they do.
	s.workerWG.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	s.leave(time.Now())
	b.stages = slices.DeleteFunc(b.stages, func(o scheduler) bool { return o == scheduler(s) })
	b.waiting = slices.DeleteFunc(b.waiting, func(o scheduler) bool { return o == scheduler(s) })
}

// worker runs items until there is none it may start, then waits to be
// woken.
func (s *sched[In, Out]) worker(ctx context.Context) {
	b := s.b
	b.mu.Lock()
	for {
		it := s.pick(time.Now())
		if it == nil {
			if s.ended {
				b.mu.Unlock()
				return
			}
			s.idle++
			b.mu.Unlock()
			s.report()
			select {
			case _, ok := <-s.wake:
				if !ok {
					return
				}
			case <-s.p.abort:
				return
			}
			b.mu.Lock()
			continue
		}
		s.dispatch() // more may start: let another worker take the next
		b.mu.Unlock()
		s.report()

		t := &it.task
		t.retry = false
		var out Out
		var err error
		if r := panics.Try(func() { out, err = s.work(ctx, t) }); r != nil {
			err = r.AsError()
		}
		now := time.Now()
		b.mu.Lock()
		s.release(it, now)
		if err != nil {
			b.mu.Unlock()
			s.p.Fail(err)
			return
		}
		it.out = out
		if t.retry && !s.canceled {
			s.retry(it, now)
			continue
		}
		s.done(it, now)
		if s.ordered {
			if !s.deposit(it) {
				return
			}
			continue
		}
		b.mu.Unlock()
		s.report()
		if !s.deliver(out) {
			return
		}
		b.mu.Lock()
		s.handedOn()
	}
}

// dispatch wakes an idle worker, or starts one, when an item may start and
// none is looking for one. A worker that takes an item calls it again, so
// as many workers as the free slots need come in a chain.
func (s *sched[In, Out]) dispatch() {
	if s.ended || len(s.runnable) == 0 || s.b.running >= s.b.overall.InFlight {
		return
	}
	switch {
	case s.idle > 0:
		s.idle--
		s.wake <- struct{}{} // never blocks: it holds a place per worker
	case s.workers < s.maxWorkers:
		s.workers++
		s.workerWG.Add(1)
		s.p.Go(func(ctx context.Context) error {
			defer s.workerWG.Done()
			s.worker(ctx)
			return nil
		})
	}
}

// kickLead wakes the lead to look at the state again.
func (s *sched[In, Out]) kickLead() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// handedOn counts an item as handed downstream, with b.mu held.
func (s *sched[In, Out]) handedOn() {
	s.held--
	if s.held == s.window-1 || (s.held == 0 && !s.inOpen) {
		s.kickLead() // it may be waiting for room to read, or to finish
	}
}

// admit takes in a new item, with b.mu held.
func (s *sched[In, Out]) admit(v In, key string, now time.Time) {
	it := &item[In, Out]{task: Task[In]{Value: v, Seq: s.nextSeq, Key: key}}
	s.nextSeq++
	s.held++
	if s.canceled && s.notStarted != nil {
		it.notStarted = true
		s.done(it, now)
		s.finish(it)
		return
	}
	k, err := s.stageKey(key, now)
	if err != nil {
		s.err = err
		return
	}
	it.key = k
	k.queue = append(k.queue, it)
	if s.observe != nil {
		if r := s.holdReason(k, now); r != 0 {
			it.waited = r
			s.event(Event{Kind: EventWaiting, Seq: it.task.Seq, Key: key, Reason: r})
		}
	}
	s.markRunnable(k)
}

// admitSettled takes in an item that is settled already, with b.mu held.
func (s *sched[In, Out]) admitSettled(v In, out Out, now time.Time) {
	it := &item[In, Out]{task: Task[In]{Value: v, Seq: s.nextSeq}, out: out}
	s.nextSeq++
	s.held++
	s.done(it, now)
	s.finish(it)
}

// holdReason says what would hold back an item that joins k's queue now.
func (s *sched[In, Out]) holdReason(k *stageKey[In, Out], now time.Time) WaitReason {
	switch {
	case len(k.queue) > 1 && (k.bk.full() || k.sleeping):
		if k.sleeping {
			return WaitRate
		}
		return WaitKeyBusy
	case k.bk.full():
		return WaitKeyBusy
	case k.sleeping, k.bk.lim != nil && untilToken(k.bk.lim, now) > 0, s.b.lim != nil && untilToken(s.b.lim, now) > 0:
		return WaitRate
	}
	return 0
}

// pick takes the next item that may start now, taking its slots and
// tokens, or returns nil. Keys take turns, so that none starves the
// others. Called with b.mu held.
func (s *sched[In, Out]) pick(now time.Time) *item[In, Out] {
	b := s.b
	for len(s.runnable) > 0 {
		if b.running >= b.overall.InFlight {
			b.waitSlot(s)
			return nil
		}
		if b.lim != nil {
			if d := untilToken(b.lim, now); d > 0 {
				if s.rateWake.IsZero() {
					s.rateWake = now.Add(d)
					s.addTimer(timer[In, Out]{at: s.rateWake})
				}
				return nil
			}
		}
		k := s.runnable[0]
		s.runnable[0] = nil
		s.runnable = s.runnable[1:]
		k.runnable = false
		if len(k.queue) == 0 || k.sleeping {
			continue
		}
		if k.bk.full() {
			s.markRunnable(k) // which makes it wait for a slot
			continue
		}
		if k.bk.lim != nil {
			if d := takeToken(k.bk.lim, now); d > 0 {
				k.sleeping = true
				s.addTimer(timer[In, Out]{at: now.Add(d), key: k})
				continue
			}
		}
		if b.lim != nil {
			b.lim.AllowN(now, 1) // untilToken said there is one
		}
		it := k.pop()
		k.running++
		k.bk.running++
		b.running++
		s.markRunnable(k)
		t := &it.task
		t.Try++
		if t.Try == 1 {
			t.Started = now
		}
		if s.observe != nil {
			s.event(Event{Kind: EventStarted, Seq: t.Seq, Key: t.Key, Try: t.Try, Reason: it.waited})
			it.waited = 0
		}
		return it
	}
	s.runnable = s.runnable[:0]
	return nil
}

// release gives back the slot of an item whose try returned, with b.mu
// held.
func (s *sched[In, Out]) release(it *item[In, Out], now time.Time) {
	k := it.key
	k.running--
	s.b.release(k.bk, s, now)
	s.markRunnable(k)
}

// retry sets it to be tried again after the wait its work asked for.
func (s *sched[In, Out]) retry(it *item[In, Out], now time.Time) {
	it.key.backoff++
	s.addTimer(timer[In, Out]{at: now.Add(it.task.after), item: it})
	if s.observe != nil {
		s.event(Event{Kind: EventRetrying, Seq: it.task.Seq, Key: it.task.Key, Try: it.task.Try, Wait: it.task.after})
	}
}

// addTimer sets t, and wakes the lead if it is due before the lead would
// look at the timers. Called with b.mu held.
func (s *sched[In, Out]) addTimer(t timer[In, Out]) {
	s.timers.add(t)
	if s.alarmAt.IsZero() || t.at.Before(s.alarmAt) {
		s.alarmAt = t.at
		s.kickLead()
	}
}

// done makes it's result final, with b.mu held.
func (s *sched[In, Out]) done(it *item[In, Out], now time.Time) {
	if s.observe != nil {
		s.event(Event{Kind: EventDone, Seq: it.task.Seq, Key: it.task.Key, Try: it.task.Try})
	}
	if k := it.key; k != nil {
		s.forget(k, now)
	}
}

// finish queues the result of an item that no worker will hand on, with
// b.mu held; the lead hands it on.
func (s *sched[In, Out]) finish(it *item[In, Out]) {
	if s.ordered {
		s.order.put(it)
		s.memDone++
	} else {
		s.ready = append(s.ready, it)
	}
	s.kickLead()
}

// fire handles the timers that are due, with b.mu held.
func (s *sched[In, Out]) fire(now time.Time) {
	for {
		t, ok := s.timers.due(now)
		if !ok {
			return
		}
		switch {
		case t.item != nil:
			k := t.item.key
			k.backoff--
			if s.canceled {
				s.finish(t.item)
				s.forget(k, now)
				continue
			}
			k.queue = append(k.queue, nil)
			copy(k.queue[1:], k.queue)
			k.queue[0] = t.item // a retry is older than what is queued
			s.markRunnable(k)
		case t.key != nil:
			t.key.sleeping = false
			s.markRunnable(t.key)
			s.forget(t.key, now)
		default:
			s.rateWake = time.Time{}
		}
	}
}

// cancel ends the stage's waiting on a graceful cancel, with b.mu held:
// items waiting for a retry keep the result of their last try, and with
// WithNotStarted, items not yet started get its result.
func (s *sched[In, Out]) cancel() {
	s.canceled = true
	now := time.Now()
	each := func(k *stageKey[In, Out]) {
		kept := k.queue[:0]
		for _, it := range k.queue {
			switch {
			case it.task.Try > 0: // a retry that was due
			case s.notStarted != nil:
				it.notStarted = true
			default:
				kept = append(kept, it)
				continue
			}
			s.done(it, now)
			s.finish(it)
		}
		clear(k.queue[len(kept):])
		k.queue = kept
	}
	if s.one != nil {
		each(s.one)
	}
	for _, k := range s.keys {
		each(k)
	}
	s.timers.drop(func(t timer[In, Out]) bool {
		if t.item == nil {
			return false
		}
		t.item.key.backoff--
		s.done(t.item, now)
		s.finish(t.item)
		return true
	})
	for _, k := range s.keys {
		s.forget(k, now)
	}
}

// event queues e for the observer, with b.mu held.
func (s *sched[In, Out]) event(e Event) { s.pending = append(s.pending, e) }

// report hands the queued events to the observer, without b.mu held.
// Taking them and handing them on under obsMu keeps them in order.
func (s *sched[In, Out]) report() {
	if s.observe == nil {
		return
	}
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	s.b.mu.Lock()
	evs := s.pending
	s.pending = s.spare[:0]
	s.b.mu.Unlock()
	for i := range evs {
		s.observe(evs[i])
	}
	s.spare = evs
}

// slotFree is called by the budget, with b.mu held, when an overall slot
// this stage was waiting for is free.
func (s *sched[In, Out]) slotFree() { s.kickLead() }

// limitsChanged is called by the budget, with b.mu held.
func (s *sched[In, Out]) limitsChanged(key string, l Limits) {
	if s.observe != nil {
		s.event(Event{Kind: EventLimits, Seq: -1, Key: key, Limits: l})
		s.kickLead() // to report it
	}
}
