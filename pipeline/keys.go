package pipeline

import (
	"slices"
	"time"
)

// stageKey is what a scheduled stage knows of one key: its items waiting
// to start, running and waiting for a retry. It lasts while the stage has
// items of the key; what the key may do is in its budgetKey, shared with
// the other stages that draw on the budget.
type stageKey[In, Out any] struct {
	s        *sched[In, Out]
	key      string
	bk       *budgetKey
	queue    []*item[In, Out] // ready to start, oldest first
	running  int
	backoff  int  // items waiting for a retry
	sleeping bool // its rate limiter said to wait; a timer will wake it
	runnable bool // in the stage's list of keys that may start an item
	waiting  bool // in bk's list of waiters for a slot
	granted  int  // slots of bk handed to it by another stage's release
	// overdueAt is when a timer will let go of the overdue tries of bk
	// (see watchOverdue); zero when none is set.
	overdueAt time.Time
	// fresh counts the items at the back of the queue not yet reported
	// to the observer as waiting: they are reported when the key is found
	// held back, not each time a worker looks.
	fresh int
}

// stageKey returns the state of key, making it if need be. Called with
// b.mu held.
func (s *sched[In, Out]) stageKey(key string) (*stageKey[In, Out], error) {
	k := s.one
	if k == nil {
		if k = s.keys[key]; k != nil {
			return k, nil
		}
		k = &stageKey[In, Out]{s: s, key: key}
		s.keys[key] = k
	} else if k.bk != nil {
		return k, nil
	}
	bk, err := s.b.key(key)
	if err != nil {
		delete(s.keys, key)
		return nil, err
	}
	k.bk = bk
	bk.users++
	return k, nil
}

// markRunnable puts k in the list of keys that may start an item, if it
// may; a key at its in-flight limit waits to be told of a free slot.
// Called with b.mu held.
func (s *sched[In, Out]) markRunnable(k *stageKey[In, Out]) {
	if k.runnable || len(k.queue) == 0 || k.sleeping {
		return
	}
	if k.bk.full() && k.granted == 0 {
		if !k.waiting {
			k.waiting = true
			k.bk.wait(k)
			s.announce(k, WaitKeyBusy)
			s.watchOverdue(k)
		}
		return
	}
	k.runnable = true
	s.runnable = append(s.runnable, k)
}

func (k *stageKey[In, Out]) stage() scheduler { return k.s }

// slotFree is called by the budget, with b.mu held, when k's budget key
// may have a free slot, or handed k one.
func (k *stageKey[In, Out]) slotFree(granted bool) {
	k.waiting = false
	if granted {
		k.granted++
		k.s.keyGrants++
	}
	k.s.markRunnable(k)
	if k.runnable {
		k.s.kickLead()
		if granted {
			k.s.dispatch()
		}
	}
}

// giveBack returns the slots handed to k once it has nothing left to
// start.
func (k *stageKey[In, Out]) giveBack() {
	if len(k.queue) == 0 {
		k.dropGrants()
	}
}

// dropGrants returns the slots handed to k, and hands them on.
func (k *stageKey[In, Out]) dropGrants() {
	if n := k.granted; n > 0 {
		k.granted = 0
		k.s.keyGrants -= n
		k.bk.giveBack(n)
	}
}

// pop takes the oldest item of k's queue.
func (k *stageKey[In, Out]) pop() *item[In, Out] {
	it := k.queue[0]
	k.queue[0] = nil
	k.queue = k.queue[1:]
	if len(k.queue) == 0 {
		k.queue = nil // let the backing array go
	}
	k.fresh = min(k.fresh, len(k.queue))
	return it
}

// forget drops k when the stage has nothing of it left, so that a stage
// over millions of keys holds only those with work. Called with b.mu held.
func (s *sched[In, Out]) forget(k *stageKey[In, Out]) {
	if k == s.one || k.running > 0 || len(k.queue) > 0 || k.backoff > 0 || k.sleeping || s.keys[k.key] != k {
		return
	}
	delete(s.keys, k.key)
	k.unwait()
	k.giveBack()
	k.bk.users--
	s.b.forget(k.bk)
}

// leave gives back the stage's hold on its keys when it ends, so that a
// budget that outlives the run forgets them in time, and hands on the
// slots handed to it. Called with b.mu held, once every worker is done.
func (s *sched[In, Out]) leave() {
	drop := func(k *stageKey[In, Out]) {
		if k.bk == nil {
			return
		}
		k.unwait()
		k.queue = nil
		k.giveBack()
		k.bk.users--
		s.b.forget(k.bk)
	}
	if s.one != nil {
		drop(s.one)
	}
	for key, k := range s.keys {
		delete(s.keys, key)
		drop(k)
	}
	if s.granted > 0 {
		s.b.giveBack(s.granted)
		s.granted = 0
	}
}

// announce reports the items of k not yet reported as waiting, now that
// k is found held back for reason: retries put back at the front of the
// queue, and the items that joined at its back since the last report.
// Called with b.mu held.
func (s *sched[In, Out]) announce(k *stageKey[In, Out], reason WaitReason) {
	if s.observe == nil {
		return
	}
	for _, it := range k.queue {
		if it.task.Try == 0 {
			break
		}
		s.waiting(it, reason)
	}
	for _, it := range k.queue[len(k.queue)-k.fresh:] {
		s.waiting(it, reason)
	}
	k.fresh = 0
}

// waiting reports it as waiting for reason, once.
func (s *sched[In, Out]) waiting(it *item[In, Out], reason WaitReason) {
	if it.waited == 0 {
		it.waited = reason
		s.event(Event{Kind: EventWaiting, Seq: it.task.Seq, Key: it.task.Key, Reason: reason})
	}
}

// unwait takes k out of its budget key's waiters.
func (k *stageKey[In, Out]) unwait() {
	if k.waiting {
		k.waiting = false
		k.bk.waiters = slices.DeleteFunc(k.bk.waiters, func(w keyWaiter) bool { return w == keyWaiter(k) })
	}
}
