package pipeline

import (
	"slices"
	"time"

	"github.com/sourcegraph/conc/panics"
)

// maxBatch bounds how many items the lead takes in at one wake-up.
const maxBatch = 64

// arrival is an item the lead has read, with what it found out about it
// before taking the lock: its key, or that it is settled, and with what.
type arrival[In, Out any] struct {
	v       In
	key     string
	settled bool
	out     Out
}

// run is the lead: it reads the input, keeps time, notices a cancel, and
// wakes or starts workers when items may start. Its error, or a panic in
// the user's functions it calls, aborts the run before it waits for the
// workers, whose work may end only with the run.
func (s *sched[In, Out]) run() (err error) {
	defer s.end()
	defer func() {
		if r := recover(); r != nil {
			rec := panics.NewRecovered(1, r)
			err = rec.AsError()
		}
		if err != nil {
			s.p.Fail(err)
		}
	}()
	b := s.b
	b.mu.Lock()
	b.stages = append(b.stages, s)

	cancel := s.p.ctx.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var timerAt time.Time
	for { // b.mu is held at the top of the loop
		if s.err != nil {
			b.mu.Unlock()
			return s.err
		}
		s.fire()
		s.dispatch()
		emit := !s.emitting && s.readyToEmit()
		if emit {
			s.emitting = true
		}
		finished := !s.inOpen && s.held == 0
		var input <-chan In
		room := s.window - s.held
		if s.inOpen && room > 0 {
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
			b.mu.Lock()
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
			open := ok && s.gather(v, room)
			b.mu.Lock()
			for _, a := range s.batch {
				s.admit(a)
			}
			clear(s.batch)
			s.batch = s.batch[:0]
			s.inOpen = open
		case <-s.kick:
			b.mu.Lock()
		case <-alarm:
			timerAt = time.Time{}
			b.mu.Lock()
		case <-cancel:
			cancel = nil
			b.mu.Lock()
			if !s.canceled { // a worker may have been first (see pick)
				s.cancel()
			}
		case <-s.p.abort:
			return nil
		}
	}
}

// gather puts v, and the items the input has ready besides, up to room,
// in s.batch with their keys, without the lock: the key and settled
// functions are the user's code. Waking the lead costs more than taking an
// item in, so each wake-up takes all there is. It reports whether the
// input is still open.
func (s *sched[In, Out]) gather(v In, room int) bool {
	s.batch = append(s.batch[:0], s.arrive(v))
	for len(s.batch) < min(room, maxBatch) {
		select {
		case v, ok := <-s.in:
			if !ok {
				return false
			}
			s.batch = append(s.batch, s.arrive(v))
		default:
			return true
		}
	}
	return true
}

func (s *sched[In, Out]) arrive(v In) arrival[In, Out] {
	a := arrival[In, Out]{v: v}
	if s.settled != nil {
		if a.out, a.settled = s.settled(v); a.settled {
			return a
		}
	}
	if s.keyOf != nil {
		a.key = s.keyOf(v)
	}
	return a
}

// admit takes in a new item, with b.mu held.
func (s *sched[In, Out]) admit(a arrival[In, Out]) {
	it := &item[In, Out]{task: Task[In]{Value: a.v, Seq: s.nextSeq, Key: a.key}}
	s.nextSeq++
	s.held++
	switch {
	case a.settled:
		it.out = a.out
	case s.canceled && s.notStarted != nil:
		it.notStarted = true
	default:
		k, err := s.stageKey(a.key)
		if err != nil {
			s.err = err
			return
		}
		it.key = k
		k.queue = append(k.queue, it)
		if s.observe != nil {
			if r := s.holdReason(k); r != 0 {
				s.waiting(it, r)
			} else {
				k.fresh++ // reported if the key is held back before it starts
			}
		}
		s.markRunnable(k)
		return
	}
	s.done(it)
	s.finish(it)
}

// holdReason says what would hold back an item that joins k's queue now.
func (s *sched[In, Out]) holdReason(k *stageKey[In, Out]) WaitReason {
	now := time.Now()
	switch {
	case k.bk.adapt != nil && !k.bk.adapt.paused(now).IsZero():
		return WaitPaused
	case k.sleeping:
		return WaitRate
	case k.bk.full():
		return WaitKeyBusy
	case k.bk.lim != nil && untilToken(k.bk.lim, now) > 0, s.b.lim != nil && untilToken(s.b.lim, now) > 0:
		return WaitRate
	}
	return 0
}

// fire handles the timers that are due, with b.mu held.
func (s *sched[In, Out]) fire() {
	if len(s.timers) == 0 {
		return
	}
	now := time.Now()
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
				s.forget(k)
				continue
			}
			k.queue = append(k.queue, nil)
			copy(k.queue[1:], k.queue)
			k.queue[0] = t.item // a retry is older than what is queued
			if s.observe != nil {
				if r := s.holdReason(k); r != 0 {
					s.waiting(t.item, r)
				}
			}
			s.markRunnable(k)
		case t.overdue:
			if t.at.Equal(t.key.overdueAt) {
				s.overdueDue(t.key, now)
			}
		case t.key != nil:
			t.key.sleeping = false
			s.markRunnable(t.key)
			s.forget(t.key)
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
			s.done(it)
			s.finish(it)
		}
		clear(k.queue[len(kept):])
		k.queue = kept
		k.fresh = min(k.fresh, len(kept))
		if len(kept) == 0 {
			k.unwait() // nothing left to wait for
		}
		k.giveBack()
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
		s.done(t.item)
		s.finish(t.item)
		return true
	})
	for _, k := range s.keys {
		s.forget(k)
	}
}

// end lets the workers go, waits for them, and leaves the budget. It is
// called with b.mu not held.
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
	// Out of every list first, so that what leave hands on goes to
	// others.
	b.stages = slices.DeleteFunc(b.stages, func(o scheduler) bool { return o == scheduler(s) })
	b.waiting = slices.DeleteFunc(b.waiting, func(o scheduler) bool { return o == scheduler(s) })
	s.leave()
}
