package pipeline

import (
	"context"
	"time"

	"github.com/sourcegraph/conc/panics"
)

// worker runs items until there is none it may start, then waits to be
// woken.
func (s *sched[In, Out]) worker(ctx context.Context) {
	b := s.b
	b.mu.Lock()
	s.looking--
	for { // b.mu is held at the top of the loop
		it := s.pick()
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
			s.looking--
			continue
		}
		s.dispatch() // more may start: let another worker take the next
		b.mu.Unlock()
		s.report()

		t := &it.task
		t.retry, t.refused, t.untimed, t.timedOut, t.pause = false, false, false, false, 0
		out, err := s.call(ctx, t)
		b.mu.Lock()
		s.release(it)
		if err != nil {
			b.mu.Unlock()
			s.p.Fail(err)
			return
		}
		it.out = out
		if t.retry && !s.canceled {
			s.retry(it)
			continue
		}
		s.done(it)
		if s.ordered {
			if !s.deposit(it) {
				return
			}
			continue
		}
		if s.offer != nil && s.offer(out) {
			// Handed on without waiting, so under the lock: one lock
			// taken per item the less.
			s.handedOn()
			continue
		}
		s.dropGrants() // about to block downstream: hold no slot meanwhile
		b.mu.Unlock()
		s.report()
		if !s.deliver(out) {
			return
		}
		b.mu.Lock()
		s.handedOn()
	}
}

// call calls work, turning a panic into an error of the run.
func (s *sched[In, Out]) call(ctx context.Context, t *Task[In]) (out Out, err error) {
	defer func() {
		if r := recover(); r != nil {
			rec := panics.NewRecovered(1, r)
			err = rec.AsError()
		}
	}()
	return s.work(ctx, t)
}

// dispatch wakes idle workers, or starts new ones, for the items that may
// start, less the workers already on their way to them. A worker that
// takes an item calls it again, so where it cannot tell how many may start
// (keys, rates), one worker at a time is enough: they come in a chain.
// Called with b.mu held.
func (s *sched[In, Out]) dispatch() {
	if s.ended || len(s.runnable) == 0 {
		return
	}
	b := s.b
	if b.full() && s.granted == 0 {
		b.waitSlot(s) // another stage drawing on the budget has them all
		return
	}
	want := 1
	if k := s.one; k != nil && b.lim == nil && k.bk.lim == nil {
		// Without keys or rates, as many may start as are queued, up to
		// the free slots: wake them all at once, rather than in a chain,
		// for a run that starts a thousand requests at a time.
		want = min(len(k.queue), b.overall.InFlight-b.running-b.reserved+s.granted)
		if k.bk.inFlight() > 0 {
			want = min(want, k.bk.room()+k.granted)
		}
	}
	// A key found full, or a queue emptied by a cancel, still needs a
	// worker to look: pick moves the key to its waiters, or gives the
	// grants back.
	want = max(want, 1)
	for ; want > s.looking; s.looking++ {
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
		default:
			return
		}
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

// pick takes the next item that may start now, taking its slots and
// tokens, or returns nil. Keys take turns, so that none starves the
// others. Called with b.mu held.
func (s *sched[In, Out]) pick() *item[In, Out] {
	b := s.b
	if s.p.aborted() {
		return nil
	}
	if !s.canceled && s.p.ctx.Err() != nil {
		// The lead may not have applied the cancel yet: workers freed by
		// the tries it cut short would start items it holds back (due
		// retries, and those WithNotStarted catches), and Fetch would make
		// canceled records of requests begun after it.
		s.cancel()
	}
	var now time.Time // read only when a rate needs it: reading the clock costs
	for len(s.runnable) > 0 {
		if b.full() && s.granted == 0 {
			b.waitSlot(s)
			return nil
		}
		if b.lim != nil {
			now = time.Now()
			if d := untilToken(b.lim, now); d > 0 {
				if s.rateWake.IsZero() {
					s.rateWake = now.Add(d)
					s.addTimer(timer[In, Out]{at: s.rateWake})
					for _, k := range s.runnable {
						s.announce(k, WaitRate)
					}
				}
				if s.granted > 0 { // the lead's timer may be long in coming
					b.giveBack(s.granted)
					s.granted = 0
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
		if k.bk.full() && k.granted == 0 {
			s.markRunnable(k) // which makes it wait for a slot
			continue
		}
		if a := k.bk.adapt; a != nil && !a.pausedUntil.IsZero() {
			if now.IsZero() {
				now = time.Now()
			}
			if until := a.paused(now); !until.IsZero() {
				k.sleeping = true
				k.dropGrants()
				s.addTimer(timer[In, Out]{at: until, key: k})
				s.announce(k, WaitPaused)
				continue
			}
		}
		if k.bk.lim != nil {
			if now.IsZero() {
				now = time.Now()
			}
			if d := takeToken(k.bk.lim, now); d > 0 {
				k.sleeping = true
				k.dropGrants() // a slot held while the key sleeps would stay idle
				s.addTimer(timer[In, Out]{at: now.Add(d), key: k})
				s.announce(k, WaitRate)
				continue
			}
		}
		if b.lim != nil {
			b.lim.AllowN(now, 1) // untilToken said there is one
		}
		it := k.pop()
		if s.granted > 0 {
			s.granted--
			b.reserved--
		}
		if k.granted > 0 {
			k.granted--
			s.keyGrants--
			k.bk.reserved--
		}
		k.giveBack()
		k.running++
		k.bk.running++
		b.running++
		s.markRunnable(k)
		t := &it.task
		t.Try++
		if t.Try == 1 || k.bk.adapt != nil {
			if now.IsZero() {
				now = time.Now()
			}
			if t.Try == 1 {
				t.Started = now
			}
		}
		if a := k.bk.adapt; a != nil {
			t.round = a.start(now, k.bk.running-1)
			if it.flight == nil {
				it.flight = new(flight)
			}
			f := it.flight
			f.flown = a.flown
			f.stage, f.seq, f.try = s, t.Seq, t.Try
			f.beforeCancel = s.p.ctx.Err() == nil
			k.bk.takeOff(f, now)
			if len(k.queue) == 0 {
				k.bk.late.fullSince = time.Time{} // nothing more held back
			}
		}
		if s.observe != nil {
			s.event(Event{Kind: EventStarted, Seq: t.Seq, Key: t.Key, Try: t.Try, Reason: it.waited})
			it.waited = 0
		}
		return it
	}
	s.runnable = s.runnable[:0]
	if s.granted > 0 {
		b.giveBack(s.granted) // nothing left to start with them
		s.granted = 0
	}
	return nil
}

// release gives back the slot of an item whose try returned, with b.mu
// held; for an adaptive key, after telling its limit how the try went.
func (s *sched[In, Out]) release(it *item[In, Out]) {
	k := it.key
	bk := k.bk
	wasOverdue := false
	if a := bk.adapt; a != nil {
		now := time.Now()
		// Overdue tries run outside the limit, unless the server counts
		// them: they are not what the key uses of it.
		running := bk.holding()
		t := &it.task
		var itsOwn bool
		wasOverdue, itsOwn = bk.landed(it.flight, now, !t.refused && !t.untimed && !t.timedOut, t.timedOut)
		if t.refused && bk.late.overdue > 0 && a.ownRefused == 0 {
			// Others let go are out: not this one, which a gateway may
			// refuse once it gives up on it (a 504). A server that
			// refuses whatever it is sent says nothing of them by it.
			bk.countedBy(now)
		}
		took := now.Sub(it.flight.began)
		tr := try{round: t.round, took: took, timed: !t.untimed && !t.refused && !itsOwn,
			refused: t.refused, timedOut: t.timedOut, pause: t.pause, running: running,
			load: a.loadSince(it.flight.flown, took, now, bk.running), all: bk.running, outside: wasOverdue, retry: t.Try > 1}
		// A try the run's cancel may have cut short (Fetch's are) says
		// nothing of the key, unless it was refused: taken for an answer,
		// it grew the limit a run reports at its end. One begun since is
		// heard, as a stage may go on with what it has queued.
		cutShort := it.flight.beforeCancel && s.p.ctx.Err() != nil && !t.refused
		if !cutShort && a.done(tr, now) {
			s.b.adapted(bk)
		}
	}
	k.running--
	s.b.release(bk, s, wasOverdue)
	s.markRunnable(k)
}

// retry sets it to be tried again after the wait its work asked for.
func (s *sched[In, Out]) retry(it *item[In, Out]) {
	it.key.backoff++
	s.addTimer(timer[In, Out]{at: time.Now().Add(it.task.after), item: it})
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
func (s *sched[In, Out]) done(it *item[In, Out]) {
	if s.observe != nil {
		s.event(Event{Kind: EventDone, Seq: it.task.Seq, Key: it.task.Key, Try: it.task.Try, Reason: it.waited})
	}
	if k := it.key; k != nil {
		s.forget(k)
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

// dropGrants gives back the slots handed to the stage before one of its
// goroutines blocks handing results on: a slot held meanwhile would stay
// idle, and could be the one the stage downstream needs. Called with b.mu
// held.
func (s *sched[In, Out]) dropGrants() {
	if s.granted > 0 {
		s.b.giveBack(s.granted)
		s.granted = 0
	}
	if s.keyGrants == 0 {
		return
	}
	if s.one != nil {
		s.one.dropGrants()
	}
	for _, k := range s.keys {
		k.dropGrants()
	}
}
