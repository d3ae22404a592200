package pipeline

import "time"

// An adaptive key's limit learns from answers, and an item that never
// answers (a request the server holds until the timeout) teaches it
// nothing while it holds a slot: two such items at the head of a list
// would hold a key that starts at 2 for as long as they run, and its
// thousand quick items behind them with it. So an item whose try has run
// for overdueTimes what would cut the limit, and at least minOverdue,
// gives its slot back to the key and runs on outside the limit (see
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

// tries is a stage key's tries in flight that hold a slot of its adaptive
// limit, oldest first: a list through the items, so that taking one out
// when it ends costs nothing however many are in flight.
type tries[In, Out any] struct {
	head, tail *item[In, Out]
}

func (l *tries[In, Out]) push(it *item[In, Out]) {
	it.prev, it.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = it
	} else {
		l.head = it
	}
	l.tail = it
}

func (l *tries[In, Out]) remove(it *item[In, Out]) {
	if it.prev != nil {
		it.prev.next = it.next
	} else {
		l.head = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	} else {
		l.tail = it.prev
	}
	it.prev, it.next = nil, nil
}

// watchOverdue sets a timer for when the oldest try of k in flight will
// be overdue, unless one is set. Called with b.mu held, when k is found
// at its limit.
func (s *sched[In, Out]) watchOverdue(k *stageKey[In, Out]) {
	a, head := k.bk.adapt, k.tries.head
	if a == nil || head == nil || !k.overdueAt.IsZero() || k.bk.overdue >= a.inFlight() {
		return
	}
	k.overdueAt = head.task.began.Add(a.overdueAfter())
	s.addTimer(timer[In, Out]{at: k.overdueAt, key: k, overdue: true})
}

// letGoOverdue takes k's overdue tries out of its limit, as many as it
// may, and wakes the stages waiting for a slot of its budget key. Called
// with b.mu held, when the timer watchOverdue set is due.
func (s *sched[In, Out]) letGoOverdue(k *stageKey[In, Out], now time.Time) {
	k.overdueAt = time.Time{}
	a := k.bk.adapt
	let := false
	for it := k.tries.head; it != nil && k.bk.overdue < a.inFlight(); it = k.tries.head {
		if now.Sub(it.task.began) < a.overdueAfter() {
			break
		}
		k.tries.remove(it)
		it.overdue = true
		k.bk.overdue++
		let = true
	}
	if let {
		k.bk.wakeAll()
	}
	if k.bk.full() {
		s.watchOverdue(k) // the next oldest, or the usual time grew
	}
}

// ended takes the try of it out of its key's tries in flight, or out of
// the key's overdue ones. Called with b.mu held.
func (k *stageKey[In, Out]) ended(it *item[In, Out]) {
	if it.overdue {
		it.overdue = false
		k.bk.overdue--
		return
	}
	k.tries.remove(it)
}
