package pipeline

import "time"

// An adaptive key's limit learns from answers, and an item that never
// answers (a request the server holds until the timeout) teaches it
// nothing while it holds a slot: two such items at the head of a list
// would hold a key that starts at 2 for as long as they run, and its
// thousand quick items behind them with it. So a try that has run for
// overdueTimes what would cut the limit, and at least minOverdue, gives
// its slot back to the key and runs on outside the limit (see
// budgetKey.room).
const (
	// overdueTimes is how many times the key's Tolerance times its usual
	// time a try may run before it is overdue: twice what would be a
	// slowdown, so that items of a server that queues are cut for, not
	// let go.
	overdueTimes = 2
	// minOverdue is how long a try runs, at least, before it is overdue,
	// and before the key has a usual time: a second, as TCP's first
	// retransmission timeout is (RFC 6298).
	minOverdue = time.Second
)

// overdueAfter is how long a try of the key may run before it gives its
// slot back.
func (a *adapter) overdueAfter() time.Duration {
	return max(minOverdue, seconds(overdueTimes*a.cfg.Tolerance*max(a.usual, a.recent)))
}

// A flight is a try of an adaptive key in flight, as the key's budget
// keeps it, whichever stage it is of: in the key's list of those that
// hold a slot of its limit, oldest first, or overdue. Items carry their
// own, so that taking one out of the list when its try ends costs nothing
// however many are in flight.
type flight struct {
	prev, next *flight
	began      time.Time
	overdue    bool
}

// flights is a list of flights, oldest first.
type flights struct {
	head, tail *flight
}

func (l *flights) push(f *flight) {
	f.prev, f.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = f
	} else {
		l.head = f
	}
	l.tail = f
}

func (l *flights) remove(f *flight) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		l.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.next = nil, nil
}

// takeOff counts f, a try of k that starts, in flight. Called with b.mu
// held.
func (k *budgetKey) takeOff(f *flight, now time.Time) {
	f.began = now
	k.flights.push(f)
}

// landed takes f, a try of k that ended, out of its flights, or out of its
// overdue tries, and reports whether it was overdue. Called with b.mu
// held.
func (k *budgetKey) landed(f *flight) (wasOverdue bool) {
	if f.overdue {
		f.overdue = false
		k.overdue--
		return true
	}
	k.flights.remove(f)
	return false
}

// letGoOverdue takes k's overdue tries out of its limit, as many as it
// may, and reports whether it took any. Called with b.mu held.
func (k *budgetKey) letGoOverdue(now time.Time) bool {
	a, let := k.adapt, false
	after := a.overdueAfter()
	for f := k.flights.head; f != nil && k.overdue < a.inFlight() && now.Sub(f.began) >= after; f = k.flights.head {
		k.flights.remove(f)
		f.overdue = true
		k.overdue++
		let = true
	}
	return let
}

// watchOverdue sets a timer for when the oldest try of k's budget key in
// flight, of whichever stage, will be overdue, unless k has one set or
// the key has as many overdue as it may. Called with b.mu held, when k is
// found at its limit; and again, through the waiters, when an overdue try
// ends and leaves the key at its limit.
func (s *sched[In, Out]) watchOverdue(k *stageKey[In, Out]) {
	bk := k.bk
	a, head := bk.adapt, bk.flights.head
	if a == nil || head == nil || !k.overdueAt.IsZero() || bk.overdue >= a.inFlight() {
		return
	}
	k.overdueAt = head.began.Add(a.overdueAfter())
	s.addTimer(timer[In, Out]{at: k.overdueAt, key: k, overdue: true})
}

// overdueDue handles the timer watchOverdue set: it lets go of the
// overdue tries of k's budget key, and wakes the stages waiting for a
// slot of it. Called with b.mu held.
func (s *sched[In, Out]) overdueDue(k *stageKey[In, Out], now time.Time) {
	k.overdueAt = time.Time{}
	if k.bk.letGoOverdue(now) {
		k.bk.wakeAll() // k among them, which waits again if it must
	}
	if k.waiting {
		s.watchOverdue(k) // the next oldest, or the usual time grew
	}
}
