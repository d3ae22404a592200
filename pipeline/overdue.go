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
// slot back. Before the key has a usual time, its longest answer so far
// stands for it: a server slow at every request is not taken for one that
// does not answer once its first answers are in. A recent time of
// timeouts is not one: a server that stops answering would have every
// try run to its timeout, one slot each, as it is cut down to one.
func (a *adapter) overdueAfter() time.Duration {
	usual := a.usual
	if usual == 0 {
		usual = a.early
	}
	if !a.recentUnanswered {
		usual = max(usual, a.recent)
	}
	return max(minOverdue, seconds(overdueTimes*a.cfg.Tolerance*usual))
}

// A flight is a try of an adaptive key in flight, as the key's budget
// keeps it, whichever stage it is of: in the key's list of those that
// hold a slot of its limit, oldest first, or overdue. Items carry their
// own, so that taking one out of the list when its try ends costs nothing
// however many are in flight.
type flight struct {
	prev, next *flight
	began      time.Time
	late       lateness
	// beforeCancel: it began before the run was cancelled, which may cut
	// it short.
	beforeCancel bool
	// flown is the key's adapter's flown as it began (see loadSince).
	flown float64
	// The item's stage, Seq, key and try, to report it overdue.
	stage scheduler
	seq   int64
	key   string
	try   int
}

// lateness says whether a try was let go, overdue, and why.
type lateness uint8

const (
	notLate   lateness = iota
	overtaken          // a try of the key begun after it was answered in time
	unproven           // none was: the key may not be answering at all
)

// lateTries are an adaptive key's tries in flight that hold a slot of
// its limit, and what it knows to let them go.
type lateTries struct {
	// flights are the tries in flight that hold a slot, oldest first; overdue
	// counts those that do not: those that have run so far past the key's
	// usual time that they were let go, and probes, which started outside the
	// limit; unproven counts those of them that no answer had overtaken (every
	// probe). answeredBegan is when the latest try to begin of those answered
	// in time (neither refused, untimed nor timed out) began, and quietSince
	// when the last try to end in time with an answer of any kind (not a
	// timeout) ended, or when the key's first try began (see letGoOverdue).
	flights       flights
	overdue       int
	unproven      int
	answeredBegan time.Time
	quietSince    time.Time
	// countsUntil: the key's server refused while tries let go were in
	// flight, so it may count every request it holds, answered or not,
	// and letting more go would only have more refused. Until then, or
	// until those have all ended, none more is let go, and they hold slots
	// again. It lapses, as the refusal may have had another cause (a blip
	// of 503s), and held slots of a key whose tries hang until they end
	// (for ever, without a timeout): after an overdue time at first, and
	// twice as long each time a refusal after it lapsed, or after those
	// ended, says it again (countsFor), for as long as the key is
	// remembered.
	countsUntil time.Time
	countsFor   time.Duration
	// fullSince is when the key was last found at its limit with items
	// waiting, after a stage of it had nothing more to start: probes count
	// the key's quiet from then on, not from before, when it had nothing
	// to send (see probes).
	fullSince time.Time
}

// maxCountsFor is the longest a refusal keeps tries let go holding slots.
const maxCountsFor = time.Minute

// counted reports whether k's server is taken to count its tries let go
// (see lateTries.countsUntil). Called with b.mu held.
func (k *budgetKey) counted() bool {
	if k.late.countsUntil.IsZero() {
		return false
	}
	if time.Now().Before(k.late.countsUntil) {
		return true
	}
	k.late.countsUntil = time.Time{} // lapsed: no clock to read from now on
	return false
}

// countedBy takes a refusal at now, while tries of k let go are in
// flight, as its server's word that it counts them.
func (k *budgetKey) countedBy(now time.Time) {
	l := k.late
	switch {
	case l.countsFor == 0:
		l.countsFor = k.adapt.overdueAfter()
	case !now.Before(l.countsUntil): // again, once it lapsed
		l.countsFor = min(2*l.countsFor, maxCountsFor)
	}
	l.countsUntil = now.Add(l.countsFor)
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

// takeOff counts f, a try of k that starts, in flight: in its limit, or
// outside it, as a probe (see probes). Called with b.mu held, with f
// counted among k's running.
func (k *budgetKey) takeOff(f *flight, now time.Time) {
	f.began, f.key = now, k.key
	if k.holding() > k.adapt.inFlight() && k.probes(now) > 0 {
		// Not a start granted before a cut lowered the limit: that one
		// holds a slot, as the others do.
		f.late = unproven
		k.late.overdue++
		k.late.unproven++
		return
	}
	k.late.flights.push(f)
	if k.late.quietSince.IsZero() {
		k.late.quietSince = now
	}
}

// probes is how many tries of k may start now outside its limit, which tries
// in flight hold all of: once tries let go are out unproven and the key has
// been held back at its limit, with no answer, for an overdue time, as many as
// letGoOverdue would let go. They ramp up a key that answers nothing as
// letting go is meant to, by the limit each overdue time: each try in the
// limit would otherwise wait an overdue time for its slot to be let go, and a
// key cut to 1 by a server that stopped answering started one try a second,
// however many it had (1,700 URLs, retried, would have taken an hour). Called
// with b.mu held.
func (k *budgetKey) probes(now time.Time) int {
	if k.late.unproven == 0 || k.counted() {
		return 0
	}
	after := k.adapt.overdueAfter()
	if k.late.fullSince.IsZero() || now.Sub(k.late.fullSince) < after || now.Sub(k.late.quietSince) < after {
		return 0
	}
	// Counted from when the key was first held back, not from its last
	// answer: a key idle for 20 s with one hung try out had 40 probes at
	// once when its next items came.
	quiet := now.Sub(later(k.late.quietSince, k.late.fullSince))
	return max(k.unprovenAllowed(quiet, after)-k.late.unproven, 0)
}

// landed takes f, a try of k that ended at now, out of its flights, or
// out of its overdue tries; answered says the try's time is a measure of
// the key (neither refused, untimed nor timed out), timedOut that it had
// no answer (Task.TimedOut). It reports whether the try was overdue, and
// whether its time is the item's own, not the key's: it was let go, is as
// late, or timed out, and a try begun after it was answered in time.
// Called with b.mu held, before the adapter hears of the try.
func (k *budgetKey) landed(f *flight, now time.Time, answered, timedOut bool) (wasOverdue, itsOwn bool) {
	if f.late != notLate {
		wasOverdue = true
		if f.late == unproven {
			k.late.unproven--
		}
		f.late = notLate
		if k.late.overdue--; k.late.overdue == 0 {
			// The tries let go when the server was found to count them
			// are done: the next may be let go again, as a refusal then
			// may have had another cause (a blip of 503s); if it had
			// not, the next refusal says so again, for twice as long:
			// a server that does count them, with hung items among many,
			// had a hold of a second each time, and refused so often
			// that URLs ran out of retries.
			k.late.countsUntil = time.Time{}
		}
	} else {
		k.late.flights.remove(f)
	}
	if timedOut {
		// No answer, however soon its timeout came: the key has not
		// answered since.
		return wasOverdue, f.began.Before(k.late.answeredBegan)
	}
	if now.Sub(f.began) < k.adapt.overdueAfter() {
		k.late.quietSince = now
		// A refusal overtakes nothing: a server that refuses at once when
		// full is full of what it has not answered.
		if answered && f.began.After(k.late.answeredBegan) {
			k.late.answeredBegan = f.began
		}
		return wasOverdue, false
	}
	return wasOverdue, f.began.Before(k.late.answeredBegan)
}

// letGoOverdue takes k's overdue tries out of its limit, as many as it may,
// and reports whether it took any. A try that a later one has overtaken,
// answered in time (neither refused, untimed nor timed out), is late for
// reasons of its own, and goes; of those that no answer has overtaken, as many
// as the limit go, and as many again for each overdue time the key has gone
// without an answer in time, so that a few hung items at the head of a list
// are passed in a few seconds, and a server that answers nothing gets a few
// more at once each overdue time (a second, at first), not a flood. A try
// counts as unproven until it ends, though an answer overtake it later. Called
// with b.mu held.
func (k *budgetKey) letGoOverdue(now time.Time) bool {
	if k.counted() {
		return false
	}
	after := k.adapt.overdueAfter()
	let := false
	for f := k.late.flights.head; f != nil && now.Sub(f.began) >= after; f = k.late.flights.head {
		switch {
		case f.began.Before(k.late.answeredBegan):
			f.late = overtaken
		case k.late.unproven < k.unprovenAllowed(now.Sub(k.late.quietSince), after):
			f.late = unproven
			k.late.unproven++
		default:
			return let
		}
		k.late.flights.remove(f)
		k.late.overdue++
		let = true
		f.stage.overdue(f, now.Sub(f.began))
	}
	return let
}

// unprovenAllowed is how many tries no answer has overtaken may run
// outside k's limit once it has been quiet so long: as many as the limit,
// and as many again each overdue time.
func (k *budgetKey) unprovenAllowed(quiet, after time.Duration) int {
	return k.adapt.inFlight() * (1 + int(quiet/after))
}

// watchOverdue sets a timer for when the oldest try of k's budget key in
// flight, of whichever stage, may be let go, or the next probe may start, or a
// refusal's hold on the tries let go lapses, whichever comes first, unless k
// has one set as early; a timer of k's that is not the latest set does
// nothing. Called with b.mu held, when k is found at its limit; and again,
// through the waiters, when an overdue try ends and leaves the key at its
// limit.
func (s *sched[In, Out]) watchOverdue(k *stageKey[In, Out]) {
	bk := k.bk
	a := bk.adapt
	if a == nil {
		return
	}
	if bk.late.fullSince.IsZero() {
		bk.late.fullSince = time.Now()
	}
	counted := bk.counted()
	if bk.late.flights.head == nil && bk.late.unproven == 0 && !counted {
		return
	}
	after := a.overdueAfter()
	var at time.Time
	switch {
	case counted:
		at = bk.late.countsUntil // nothing is let go before
	case bk.late.unproven > 0 && bk.running < a.ceiling:
		// When the next probe may start: once the key has gone quiet
		// long enough for one more unproven try (unprovenAllowed). One
		// due already is held back by something else, which wakes the
		// key when it passes.
		probeAt := later(bk.late.quietSince, bk.late.fullSince).Add(time.Duration(max((bk.late.unproven+a.inFlight())/a.inFlight()-1, 1)) * after)
		if probeAt.After(time.Now()) {
			at = probeAt
		}
	}
	if head := bk.late.flights.head; head != nil && !counted {
		headAt := head.began.Add(after)
		if !head.began.Before(bk.late.answeredBegan) {
			// Unproven: not before the key has gone quiet long enough to
			// let one more such go.
			headAt = later(headAt, bk.late.quietSince.Add(time.Duration(bk.late.unproven/a.inFlight())*after))
		}
		if at.IsZero() || headAt.Before(at) {
			at = headAt
		}
	}
	if at.IsZero() || !k.overdueAt.IsZero() && !at.Before(k.overdueAt) {
		return
	}
	k.overdueAt = at
	s.addTimer(timer[In, Out]{at: at, key: k, overdue: true})
}

// overdueDue handles the timer watchOverdue set: it lets go of the
// overdue tries of k's budget key, and wakes the stages waiting for a
// slot of it, which a probe or the lapse of a refusal may have freed
// though nothing was let go. Called with b.mu held.
func (s *sched[In, Out]) overdueDue(k *stageKey[In, Out], now time.Time) {
	k.overdueAt = time.Time{}
	if k.bk.letGoOverdue(now) || !k.bk.full() {
		k.bk.wakeAll() // k among them, which waits again if it must
	}
	if k.waiting {
		s.watchOverdue(k) // the next oldest, or the usual time grew
	}
}

func (s *sched[In, Out]) overdue(f *flight, ran time.Duration) {
	if s.observe != nil {
		s.event(Event{Kind: EventOverdue, Seq: f.seq, Key: f.key, Try: f.try, Wait: ran})
		s.kickLead() // to report it: the timer that let it go may be another stage's
	}
}

// holding is how many of k's tries in flight hold a slot of its limit.
func (k *budgetKey) holding() int {
	if k.counted() {
		return k.running
	}
	return k.running - k.late.overdue
}
