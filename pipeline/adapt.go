package pipeline

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// Adaptive is how a Budget adapts the in-flight limit of each key to how
// its items go (WithAdaptive), for work whose right limit nobody knows in
// advance, such as requests to a server that refuses some once it has too
// many at once, or slows down. It works as TCP's congestion control does:
//
//   - A key starts at Start in flight and doubles its limit with each
//     round of items that go well (a slow start), so that a short list
//     does not pay for caution. It holds while its last window of items
//     took a little longer than usual (1.25 times it, at the default
//     Tolerance of 2) by about as much as more were in flight than in the
//     window before (see loadExplains), as TCP's HyStart leaves its slow
//     start on a rise in delay: the key sent more, and they waited.
//
//   - An item refused for overload (Task.Refused) cuts the key's limit
//     to 70%, once per round: items already in flight when it was cut were
//     sent at the old limit, and their refusals say nothing new; a pause
//     the refusal asks for is taken once per round too. A server that
//     refuses a share of what it is sent whatever the load (a flaky
//     backend's 503s) is told from one that refuses what is past what it
//     takes by the key's last 128 first tries of items (a URL refused
//     every time is refused on each retry too): where those that ran with
//     fewest in flight were refused as often as the others (three quarters
//     as often at least, and half of all at most), or where a refusal came
//     after a whole round of tries at the limit, each with it full and
//     none refused (refusals that come evenly spaced come always at the
//     top of the limit's sawtooth, as a full server's do), the cuts since
//     the first refusal are undone (LimitRefusedAnyway), and refusals cut
//     nothing, nor hold back tries let go, until its last 128 first tries
//     have fifteen in a hundred more refused than that share, which
//     follows them slowly: then the undo is undone, and the key's
//     refusals are the load's for as long as it is remembered (a server
//     whose capacity others share, or dropped).
//
//   - Items that take Tolerance times the key's usual time cut the limit
//     to 80%, and the limit does not grow while they are slow: a server
//     that slows down under load is queueing, and more at once only
//     lengthen its queue. One slow window may also be the items' own
//     spread, or a pause of the server's: the first cut of a slowdown goes
//     further only where the window before was faster by about as much as
//     it had fewer in flight (see loadExplains), to where the load and time
//     of the window say the items would take a little longer than usual,
//     a quarter of the limit at least; the next ones, each judged on a
//     window of items sent after the one before, go there too, halving it
//     at most, and never to 1. Times are judged as medians of windows of
//     items in the order they started (see slowed), so that neither the
//     slow tail real servers have (one answer in twenty taking twenty
//     times the rest) nor the fastest answers, which end first, mislead
//     it; tries the work function marks Task.Untimed are left out, and
//     items less than a millisecond slower than usual are not slow. The
//     usual time is the least median of a window whose items say it
//     closely enough (its standard error a quarter of it at most: 8
//     answers of 10 to 500ms do not). A window more than half of whose
//     items took a little longer than usual is judged on them, before its
//     last item ends. Cuts
//     that halved the limit and left the items as slow are undone at
//     once, and their time becomes the usual one: the items are slower
//     for reasons of their own, such as a costlier endpoint. Where they
//     did make the items faster, the time the items would take alone,
//     drawn through the two, becomes the usual one if it grew that much.
//
//   - Once the key's server is shown to queue (a second cut of a slowdown
//     in a row, or one the load explains), the key's limit settles where
//     its items take a little longer than usual: it grows toward where
//     the last window says they would take a quarter of the way from their
//     usual time to Tolerance times it (1.25 times it), by the window's
//     load and time (a server that queues answers as many a second
//     however many wait: Little's law), a quarter more than the window
//     had in flight at most and one more at least; holds where they take
//     longer; and past half the way (1.5 times), by more than twice the
//     standard error of the window's median, steps down (LimitEased) by
//     one, or to where their window says they would take 1.25 times it,
//     to 2 at least, each step judged on a window of items sent after the
//     last. A server with a fixed pool of workers answers as many a second
//     however many wait in its queue: just past its pool, the key has all
//     of its throughput at little more than the usual time. Where each
//     more at once slows every answer a little, with no such point, the
//     key gives up throughput to keep its answers near their usual time.
//
//   - A limit once cut grows by one per round of items that go well
//     (additive increase), and by one per four rounds near where it was
//     last cut from, so that probing past what the server takes is rare.
//     A server that asks for a pause with a refusal costs one per probe:
//     past where such a refusal left the limit, it grows so slowly that
//     pauses take a tenth of the time at most (a pause of 2 s, answers of
//     100 ms: one more per 200 rounds). Past where it was last cut from,
//     the server has more room than it had, or what was refused was an
//     item's own fault: the step doubles with each round in a row that
//     goes well, so that a key cut to 1 by a few bad items, or a server
//     that scales out, finds its level in a few rounds, not a hundred.
//
//   - A try that has run for twice what would cut the limit (2 × Tolerance ×
//     the key's usual time, or its recent time where that is longer; before it
//     has one, its longest answer so far), and for a second at least, gives
//     its slot back to the key and runs on outside the limit, whichever stage
//     drawing on the budget it is of: an item that never answers teaches the
//     limit nothing, and a few at the head of a list would hold a key that
//     starts at 2 until they time out. One that a try begun after it has
//     overtaken, answered in time (neither refused, untimed nor timed out), is
//     late for reasons of its own: it goes, and its time is not the key's (as
//     with Task.Untimed). Of those no answer had overtaken when they went, as
//     many as the limit go, and as many again for each such time the key goes
//     without an answer in time, so that a server that answers nothing gets a
//     few more at once a second, not a flood; once some are out, as many more
//     as may be let go start beside them, outside the limit, so that such a
//     key's items fail about as fast as at its ceiling, not one a second
//     (EventOverdue reports those let go, not those). Overdue tries do not
//     grow the limit when they end, and the key never has more in flight than
//     its Limits' InFlight. A refusal while other tries let go are in flight
//     says the server may count them: those hold slots again, and none more
//     is let go, until they have all ended or for an overdue time, twice as
//     long each time a refusal after it says so again (up to a minute).
//
//   - A try that had no answer in its time (Task.TimedOut) went nowhere: it
//     never grows the limit, and no time of the key's is learnt from it
//     before the key has answered, so that a server that answers nothing
//     stays at Start, with a few more let go each second. Against a usual
//     time learnt from answers, timeouts are slow: a window half or more of
//     whose items timed out cuts the limit (LimitTimedOut) where its median,
//     taking their timeouts for their times, is over a quarter of the way
//     from the usual time to Tolerance times it (their own median is about
//     that or more, and the items are lost, which more at once only add
//     to, as where a server's queue outlasts the timeout), to where the
//     window's load and that bound say at most; and a server that stops
//     answering is cut down to 1, never restored for them. Its tries are
//     still let go after twice what would cut the limit, not after four
//     times the timeout. Work that times out should say so: a timeout it
//     does not mark is taken for an answer that took the timeout.
//
// A key's limit grows only while the key uses half of it or more, never beyond
// its Limits' InFlight (or the budget's overall InFlight, where the key
// has none), and is never below 1. A try that began before the run was
// cancelled and ends after it teaches it nothing, unless it was refused:
// the cancel may have cut it short. The zero value is ready to use.
type Adaptive struct {
	// Start is each key's limit when it is first seen; 0 means 2.
	Start int
	// Tolerance is how many times its usual time an item may take before
	// the key's limit is cut; 0 means 2. At least 1.
	Tolerance float64
}

// WithAdaptive makes a Budget, or the budget a Schedule makes for itself,
// adapt each key's in-flight limit to how its items go (see Adaptive).
// The limit of a key is reported to the observer (EventLimits) each time
// it changes. Panics on a Start below 0 or a Tolerance below 1 (other
// than 0).
func WithAdaptive(a Adaptive) Option {
	if a.Start < 0 || a.Tolerance != 0 && !(a.Tolerance >= 1) || math.IsInf(a.Tolerance, 0) {
		panic(fmt.Sprintf("pipeline.WithAdaptive: Start must be at least 0 and Tolerance 0 or at least 1, not %+v", a))
	}
	a.Start = cmp.Or(a.Start, 2)
	a.Tolerance = cmp.Or(a.Tolerance, 2)
	return func(c *config) { c.adaptive = &a; c.given |= optAdaptive }
}

// A key's times are judged as medians of windows of its items (see
// slowed), so that a key whose items vary in time, as requests do (50 to
// 250 ms, or a slow tail), is not cut for its own spread. A key whose
// items take either very little or very long in about equal shares (fast
// failures among slow answers) may still be, as its medians jump between
// the two; a Tolerance above that spread avoids it.
const (
	// refusedCut and slowCut are what a refusal and a slowdown leave of a
	// key's limit, at most. A refusal is the server's own word, and a cut
	// by 0.7 (CUBIC's) leaves the limit between 70% and 100% of what the
	// server takes; a slowdown may be noise, and is cut less, unless its
	// window's load and time say the server queues (see slowCut).
	refusedCut = 0.7
	slowCut    = 0.8

	// plateau is how many rounds the limit takes to grow by one near
	// where the server last refused.
	plateau = 4

	// windowItems is how many items' times a median is taken of.
	windowItems = 32
	// openWindows is how many windows a key gathers at once beside those
	// its limit needs, up to maxWindows (1,000 in flight: 8 KB); an item
	// of a window older still is left out of the judging.
	openWindows = 4
	maxWindows  = 64
	// warmUp is how many items after a cut the limit is not cut again
	// for a slowdown.
	warmUp = 8
	// idleRounds is how many of its recent times a key may go without an
	// item ending before its growth step and its slowdown are forgotten.
	idleRounds = 10
	// minSlowdown is, in seconds, how much slower than usual items must
	// be, at least, to be slow: answers of a server on the same machine
	// take some hundred microseconds, and twice that is the client's own
	// jitter, not the server's load.
	minSlowdown = 0.001
)

// adapter is the adaptive limit of one key, changed with the budget
// locked.
type adapter struct {
	cfg     *Adaptive
	limit   float64 // fractional, for additive increase by 1/limit a success
	ceiling int

	recent, usual float64 // latency in seconds (see slowed)
	// prevRecent and prevLoad are recent and recentLoad of the window
	// judged before (see loadExplains).
	prevRecent, prevLoad float64
	early                float64 // the longest timed try before usual is known
	recentWindow         int64   // the window recent is the median of
	recentLoad           float64 // the key's items in flight over that window's items' lives, on average
	recentSE             float64 // the standard error of recent, from its window's spread (see medianSpread); 0 for an early judgement's bound
	// recentUnanswered: half or more of that window's items had no answer
	// in their time (Task.TimedOut), and its median is a bound.
	recentUnanswered bool
	slow             bool        // recent is Tolerance times usual
	why              LimitChange // what last changed the limit
	// windows are the key's open windows of times, made at its second
	// item: a key of one item (a list of a million hosts, one URL each)
	// costs none, as the budget remembers every key for a minute.
	windows  []timeWindow
	sinceCut int // samples since the last cut

	// started numbers the items as they start; an item's number says
	// which round it belongs to. Signals from items started before the
	// last cut (at or below cutAt) do not cut again.
	started, cutAt int64

	// backedOffAt is the limit before the last cut, for a refusal or a
	// slowdown, around which growth is slow (CUBIC's W_max); 0 before
	// the first.
	backedOffAt float64
	// step is what the limit grows by in a round past backedOffAt (0
	// means 1), doubled with each round in a row there that goes well;
	// grown counts that round's items.
	step, grown float64
	// slowing is what the key remembers of its cuts for slow items since
	// they began; nil while its items are not slow.
	slowing *slowdown
	// queues: the key's server queues what it is sent, as a second cut
	// for slow items in a row, or one that more at once explain, says
	// (see slowdown), and its limit moves toward where its items take a
	// little longer than usual (see settle).
	queues bool
	// judgeFrom is the first window of items sent after the last cut or
	// step down, on which the next is judged. A step up does not hold
	// back a cut.
	judgeFrom int64
	// ownRefused is the share of its tries the key's server refuses
	// whatever it is sent, once its tries showed it (see triedWith):
	// refusals then cut nothing, until its last tries have many more;
	// tries are its last tries, once it has had a refusal.
	ownRefused float64
	tries      *lastTries
	// undoneFrom is the limit an undo of refusals' cuts raised (0: none
	// since the last judging); refusesForLoad: the key's last tries after
	// such an undo had many more refused, so its refusals are the load's
	// for as long as it is remembered (see refusedMore).
	undoneFrom     float64
	refusesForLoad bool
	// level is the limit whose tries clean counts, those begun after
	// levelFrom that ran with the limit full and were not refused (see
	// cleanRound).
	level     int
	levelFrom int64
	clean     int
	// refusedFrom is the limit before the first of the cuts for refusals
	// in a row, to undo them (see triedWith); 0 once anything else moved
	// the limit, or it grew back.
	refusedFrom float64
	// pausedAt is where the items started when a refusal of a server
	// that refuses anyway last paused the key: once per round.
	pausedAt int64
	// pauseCost is the longest pause a refusal asked for, and paidAt
	// where the last such refusal left the limit: growth past it is slow
	// (see done).
	pauseCost, paidAt float64

	// flown is the integral over time of the key's items in flight, all
	// of them, in item-seconds, up to flownAt: an item's load is what it
	// grew by over the item's life, over its time (see fly).
	flown   float64
	flownAt time.Time

	// pausedUntil is when a pause a refusal asked for ends.
	pausedUntil time.Time
	// lastUsed is when an item of the key last ended: what the limit has
	// learnt is kept for adaptMemory after it.
	lastUsed time.Time
}

// adaptMemory is how long a key with nothing to do keeps its adapted
// limit, as a rate limiter keeps its recent starts.
const adaptMemory = time.Minute

// setCeiling sets what the limit may grow to, and lowers the limit to it.
func (a *adapter) setCeiling(n int) {
	a.ceiling = n
	a.limit = min(a.limit, float64(n))
}

func newAdapter(cfg *Adaptive, ceiling int) *adapter {
	return &adapter{cfg: cfg, limit: float64(min(cfg.Start, ceiling)), ceiling: ceiling}
}

// inFlight is the key's limit now.
func (a *adapter) inFlight() int { return max(int(a.limit), 1) }

// start numbers an item that starts at now, with aloft of the key's
// items in flight before it.
func (a *adapter) start(now time.Time, aloft int) int64 {
	a.fly(now, aloft)
	a.started++
	return a.started
}

// fly adds to flown the time since flownAt, at aloft in flight: called as
// each item of the key starts and ends, before the count changes.
func (a *adapter) fly(now time.Time, aloft int) {
	if !a.flownAt.IsZero() {
		a.flown += float64(aloft) * now.Sub(a.flownAt).Seconds()
	}
	a.flownAt = now
}

// loadSince returns how many of the key's items were in flight on average
// since flown was at, over took seconds, or at if that is no time:
// Little's law, the server's throughput over the time an item took, wants
// the load over the item's life, not at its end, which in a slow start is
// twice what the item ran under.
func (a *adapter) loadSince(flownAt float64, took time.Duration, now time.Time, aloft int) float64 {
	a.fly(now, aloft)
	if took <= 0 {
		return float64(aloft)
	}
	return (a.flown - flownAt) / took.Seconds()
}

// A try is what an adapter hears of one try of an item.
type try struct {
	round   int64         // the round it started in (see start)
	took    time.Duration // how long its call took
	timed   bool          // whether took says how fast the key answers (Task.Untimed)
	refused bool          // refused for overload (Task.Refused)
	// timedOut: it had no answer in its time (Task.TimedOut), which took
	// is a bound of.
	timedOut bool
	pause    time.Duration // the pause a refusal asked for
	// running is the key's items in flight within its limit at the try's
	// end, the try itself included unless outside.
	running int
	// load is the key's items in flight on average over the try's life,
	// those let go outside the limit included (see loadSince).
	load float64
	// all is the key's items in flight at the try's end, those let go
	// outside the limit included: what its server may see.
	all     int
	outside bool // it was overdue, and ran outside the limit
	// retry: it was not the item's first try. Those say less of the
	// load than of the item: a URL that answers 503 every time is
	// refused on each, and at the end of a list they are all that is
	// left, which took its host for a full one and ran them one at a
	// time.
	retry bool
}

// done takes in how an item's try went, and reports whether the key's
// limit changed.
func (a *adapter) done(t try, now time.Time) bool {
	round, pause := t.round, t.pause
	before := a.inFlight()
	if a.recent > 0 && now.Sub(a.lastUsed).Seconds() > idleRounds*a.recent {
		// What the key's last items said of how its server takes more,
		// or is slow, is old news after a pause of its own.
		a.step, a.grown, a.slow, a.slowing, a.queues = 0, 0, false, nil, false
		a.judgeFrom = 0
		a.ownRefused, a.refusedFrom, a.tries, a.undoneFrom, a.refusesForLoad = 0, 0, nil, 0, false
		a.clean = 0 // nor is a round of tries before the pause one with the next
	}
	a.lastUsed = now
	if t.timed && !t.timedOut && a.usual == 0 {
		// A try let go that was answered counts: a server slow at every
		// request shows it so (see overdueAfter). A timeout does not: it
		// would stand for a usual time of the timeout, and nothing more
		// would be let go.
		a.early = max(a.early, t.took.Seconds())
	}
	// Every try counts in its window, so that windows are whole; the
	// median is of the timed ones.
	slowed := a.slowed(round, t.took.Seconds(), t.timed, t.timedOut, t.load)
	if !t.retry && a.triedWith(t.all, round, t.refused) && a.refusedFrom > 0 {
		// The refusals' cuts in a row are undone. (What this refusal
		// would have paused or cut, it does not: the server refuses
		// anyway.)
		a.undoneFrom = a.limit
		a.limit = max(a.limit, min(a.refusedFrom, float64(a.ceiling)))
		a.why, a.refusedFrom = LimitRefusedAnyway, 0
		return a.inFlight() != before
	}
	switch {
	case t.refused && a.ownRefused > 0:
		// The server refuses a share whatever it is sent (see
		// triedWith): no word on the load, nor on slow items before it;
		// a pause it asks for is taken once per round.
		if pause > 0 && round > a.pausedAt {
			a.pausedUntil = later(a.pausedUntil, now.Add(pause))
			a.pausedAt = a.started
		}
	case t.refused:
		// A refusal is the server's own word that the load was too much:
		// cuts for slow items before it are not to be undone (see
		// slowdown).
		a.slowing = nil
		if round > a.cutAt {
			// The first refusal of a round says where the server's limit
			// is, and pauses the key if it asks; those of items sent at
			// the same limit say nothing more, and do not pause it again.
			if pause > 0 {
				a.pausedUntil = later(a.pausedUntil, now.Add(pause))
				// Each probe past what the server takes costs such a
				// pause: see the growth past paidAt below.
				a.pauseCost = max(a.pauseCost, pause.Seconds())
			}
			before := a.limit
			a.backedOffAt = before
			if a.cut(round, refusedCut, LimitRefused) && a.refusedFrom == 0 {
				a.refusedFrom = before
			}
		}
		if pause > 0 {
			a.paidAt = a.limit // growth past it costs pauses: slow
		}
	default:
		if slowed && a.sinceCut >= warmUp && a.recentWindow >= a.judgeFrom {
			// The recent time lags by some items: those that ran before
			// the cut are not a reason to cut again, and a cut is judged
			// on a window of items sent after it.
			a.slowdown(round)
			break
		}
		if a.queues && a.settle(t) {
			a.step, a.grown = 0, 0
			break
		}
		// Growing a limit the key does not use would only let a burst
		// through later, unchecked; growing one whose items are slow
		// would only queue more of them; and a try that ran outside it
		// (overdue) says nothing of it: a server slow at every request
		// would grow twice as fast, for its first tries let go. Nor does
		// a timeout, though the item's own: it went nowhere.
		if float64(t.running) < a.limit/2 || a.slow || t.outside || t.timedOut || a.slowStartHeld() {
			a.step, a.grown = 0, 0
			break
		}
		a.why = LimitGrew
		switch {
		case a.cutAt == 0 && !a.queues: // slow start: never cut yet
			a.limit++ // one more for each that went well: doubles a round
		case a.pauseCost > 0 && a.limit >= a.paidAt:
			// Past where a refusal that cost a pause left it, probe so
			// seldom that pauses take a tenth of the time at most: a
			// round takes about the recent time.
			rounds := float64(plateau)
			if a.recent > 0 {
				rounds = max(rounds, 10*a.pauseCost/a.recent)
			}
			a.limit += 1 / (rounds * a.limit)
		case a.backedOffAt > 0 && math.Abs(a.limit-a.backedOffAt) < 1:
			// Near where the server last refused or slowed, probe
			// slowly: each refusal there costs refused items, and a pause
			// if the server asks for one (CUBIC's plateau, in short).
			a.limit += 1 / (plateau * a.limit)
			a.step, a.grown = 0, 0
		case a.backedOffAt > 0 && a.limit > a.backedOffAt:
			// The server takes more than where it last objected: it has
			// more room now (others left, it scaled out), or what was
			// refused was an item's own fault, not the load. One more a
			// round would take a hundred rounds to find a hundred more:
			// the step doubles with each round in a row that goes well
			// (CUBIC's probing, in short), until a refusal or a slowdown.
			step := max(a.step, 1)
			a.limit += step / a.limit
			if a.grown++; a.grown >= a.limit {
				a.step, a.grown = min(2*step, a.limit), 0
			}
		default:
			a.limit += 1 / a.limit // one more a round
			a.step, a.grown = 0, 0
		}
		a.limit = min(a.limit, float64(a.ceiling))
		if a.refusedFrom > 0 && a.limit >= a.refusedFrom {
			a.refusedFrom = 0 // grown back: nothing of those cuts to undo
		}
	}
	return a.inFlight() != before
}

// slowStartHeld reports whether a key in its slow start holds its limit:
// its last window judged took longer than the limit may grow at, by about
// as much as more were in flight than in the one before (loadExplains).
// The key sent more, and they waited: doubling on while the window is
// judged whole, a slow start went on past 50 against 8 workers, and the
// items sent meanwhile waited five times their usual time. Only a hold,
// no cut and no word that the server queues: windows of answers that
// merely vary in time (10 to 500ms) differ as much, and the slow start
// goes on once a window is faster.
func (a *adapter) slowStartHeld() bool {
	return a.cutAt == 0 && !a.queues && a.usual > 0 && a.recent > a.usual*a.growsUpTo() && a.loadExplains()
}

// The bands of settle, as shares of the way from a key's usual time to
// Tolerance times it: with the default Tolerance of 2, the limit grows
// toward where items would take 1.25 times their usual time, and items
// over 1.5 times it step it down.
const (
	settleGrow = 0.25
	settleEase = 0.5
)

// band is how many times their usual time a key's items take at share of
// the way from it to Tolerance times it.
func (a *adapter) band(share float64) float64 { return 1 + share*(a.cfg.Tolerance-1) }

// growsUpTo is how many times their usual time a key's items may take and
// still let a key whose server queues grow (see settle).
func (a *adapter) growsUpTo() float64 { return a.band(settleGrow) }

// settle steps the limit of a key whose server queues (a.queues) toward
// where its items take a little longer than their usual time: a server
// with a fixed pool of workers answers no more a second once they are all
// busy, and what is sent beyond only waits in its queue, so a limit just
// past that point has the server's whole throughput at little more than
// its usual time. Halving on each slowdown, as TCP does, would leave the
// key below that point half the time, and growing until the next one
// would queue its items for twice their time the other half. It reports
// whether it held the limit back from growing: while the last step down
// is not judged on a window of items sent after it, and once the limit
// is where the recent window says items would take settleGrow of the way
// to Tolerance times their usual time (queuedAt). That bound moves with
// each window, a quarter past its load at most: growing by one a round
// until a window says the limit is past it, a key went from 9 to 13 in
// the four rounds a window of 9 in flight takes, and its items waited
// for three windows more. Past settleEase of the way, it steps the
// limit down, by one or to queuedAt, but not below 2.
func (a *adapter) settle(t try) bool {
	if a.recentUnanswered || a.recentWindow < a.judgeFrom {
		return true
	}
	slower := a.recent-a.usual > minSlowdown
	switch {
	case !slower || a.recent <= a.usual*a.growsUpTo():
		// One more in flight than the window had, at least: a limit of
		// 2.5 would never have a third.
		upTo := a.recentLoad * a.growsUpTo()
		if slower {
			upTo = a.queuedAt()
		}
		return a.limit >= max(upTo, a.recentLoad+1)
	case a.recent-2*a.recentSE <= a.usual*a.band(settleEase) || !t.timed || t.outside || t.timedOut || a.limit < 3:
		// Past settleEase by more than the window's median may be off
		// (twice its standard error): answers of 10 to 500ms vary by 40ms
		// from window to window, and the usual time, their least median,
		// is lower by as much again, so that windows of a server with
		// room seemed to take 1.5 times it, and eased it down to 2. Nor
		// is 2 stepped down: with one other in flight an item queues
		// behind one at most, and a usual time drawn through two loads
		// (relearnAlone) may be below what it takes alone.
		return true
	}
	step := math.Floor(a.limit) - 1
	if q := a.queuedAt(); q > 0 {
		step = min(step, max(math.Floor(q), math.Floor(a.limit/2)))
	}
	a.limit = max(step, 2)
	a.judgeFrom = a.windowAfterChange()
	a.why, a.refusedFrom = LimitEased, 0
	return true
}

// windowAfterChange returns the first window that says what a change of
// the limit now did: the first whose items all started after as many
// again as the limit now allows. Once those have started, those in flight
// at the change, and what a server queued of them, are about done: each
// started with fewer than the limit in flight. (As many again as the
// limit before a cut waited a window more: a cut from 35 to 13 was judged
// 54 items after the items took 13's time.)
func (a *adapter) windowAfterChange() int64 {
	return windowAfter(a.started + int64(a.inFlight()))
}

// cut lowers the limit by factor, unless it was cut since the item of
// round started, and reports whether it did.
func (a *adapter) cut(round int64, factor float64, why LimitChange) bool {
	if round <= a.cutAt {
		return false
	}
	a.why = why
	if why != LimitRefused {
		a.refusedFrom = 0 // not refusals' cuts in a row any more
	}
	a.cutAt, a.sinceCut = a.started, 0
	a.step, a.grown = 0, 0
	a.limit = max(math.Floor(a.limit*factor), 1)
	a.judgeFrom = a.windowAfterChange()
	return true
}

// A slowdown is what a key remembers of its cuts for slow items, from
// the first until its items are no longer slow, to tell a server that
// queues the key's items from items slower for reasons of their own.
type slowdown struct {
	from      float64 // the limit before the first cut
	baseLimit float64 // the limit after it
	// base and baseLoad are the median time of baseWindow, the first
	// window of items started after those in flight at the first cut
	// were done, and its items in flight (timeWindow.load); 0 until it is
	// whole.
	base, baseLoad float64
	baseWindow     int64
	// halfWindow is the same window for the cut that brought the limit to
	// half of baseLimit or less, once there was one (halved).
	halfWindow int64
	halved     bool
	judged     bool // what halving did is known: nothing more to learn
}

// fewerInFlight is how far below baseLoad a window's load must be for
// its time to say what fewer at once do: a key that does not use its
// limit has as many in flight however it is cut.
const fewerInFlight = 0.75

// asSlow is how much faster than another a window's median may be and
// still be as slow: medians of windowItems answers that vary on their own
// differ by some percent from one window to the next.
const asSlow = 0.9

// slowdown answers a key whose recent items take Tolerance times their
// usual time by cutting its limit, unless cuts that halved the limit left
// the items as slow as they were after the first of them, each judged on
// a window of items that all started once those in flight at the cut
// were done. Fewer at once then did not make the items faster: they are
// slower for reasons of their own (a costlier endpoint, a server busy
// with others), not queued behind the key's own, and cutting on would
// take the key down to one for nothing. The cuts are undone at once, as
// TCP undoes a cut it learns was spurious, and the items' time is the
// usual one from then on: a server that did queue the key's items after
// all is cut again only once they take Tolerance times that.
//
// Cuts that halved the limit and made the items faster show that the
// server queues them, but they may also be slower alone than they were
// (a costlier endpoint of a server that queues): the time they would take
// alone, drawn as a line through the two windows' times against the
// items each had in flight, is their usual time from then on where it is
// Tolerance times the old one. Cut against the old one, the key went down
// to one for as long as the costlier items lasted.
func (a *adapter) slowdown(round int64) {
	if e := a.slowing; e != nil && e.halved && !e.judged && e.base > 0 && a.recentWindow >= e.halfWindow &&
		a.recentLoad <= fewerInFlight*e.baseLoad && // else, as many in flight: a later window may say
		!a.recentUnanswered { // timeouts, however many at once, are no endpoint's cost
		e.judged = true
		if a.recent >= asSlow*e.base {
			a.usual, a.slow = a.recent, false
			a.limit, a.slowing, a.queues = min(e.from, float64(a.ceiling)), nil, false
			a.why = LimitRestored
			return
		}
		if a.relearnAlone(e) {
			return
		}
	}
	if a.slowing != nil && a.limit <= 2 {
		// Not cut to 1 before what fewer at once did is judged: at 1
		// the items' time is taken for their usual one, however slow,
		// and a key whose items were costlier for a while stayed there.
		return
	}
	before, explained, judging := a.limit, a.loadExplains(), a.slowing != nil
	why := LimitSlowed
	if a.recentUnanswered {
		why = LimitTimedOut
	}
	if !a.cut(round, a.slowCut(), why) {
		return
	}
	if judging {
		a.limit = max(a.limit, 2) // halved from 3, not to 1 either
	}
	// A second cut of a slowdown, judged on items sent after the first,
	// says the items are still slow with fewer at once: not a pause of
	// the server's, such as its collector's, which one window shows. Nor
	// is a slowdown that more at once explain. (A slow start's hold on
	// windows that merely varied took a server whose answers took 10ms to
	// 500ms for one that queues, and stepped it down to 1.)
	a.queues = a.queues || a.slowing != nil || explained
	a.backedOffAt = before
	after := a.judgeFrom
	switch e := a.slowing; {
	case e == nil:
		a.slowing = &slowdown{from: before, baseLimit: a.limit, baseWindow: after}
	case !e.halved && a.limit <= e.baseLimit/2:
		e.halved, e.halfWindow = true, after
	}
}

// slowCut is what a cut for slow items leaves of the limit: slowCut, or
// less, to where the key's items would take a little longer than usual
// (queuedAt), where the load explains the slowdown or the slowdown has
// been cut already: a slow start that went on to 64 against a server of 8
// workers comes down in a cut or two, not ten.
func (a *adapter) slowCut() float64 {
	q := a.queuedAt()
	if q <= 0 || a.limit <= 0 {
		return slowCut
	}
	if a.slowing == nil && !a.loadExplains() {
		// The first cut of a slowdown is by a fifth, unless the load
		// says why: one window slower may be the items' own spread or a
		// pause of the server's (its collector's), that fewer at once do
		// nothing for; cut by three quarters for a pause of 300ms a
		// second, a key took 2.6 times as long.
		return slowCut
	}
	// Halved at most, so that a slowdown's cuts leave room for what fewer
	// at once do to be judged (see slowdown); but a first that the load
	// explains may go to a quarter.
	most := 0.5
	if a.slowing == nil {
		most = 0.25
	}
	return min(slowCut, max(q/a.limit, most))
}

// loadExplains reports whether the recent window is slower than the one
// judged before it by no more than its load grew, by a quarter or more:
// the key sent more, and each waited for those ahead of it, as when a
// slow start goes on past a server's workers. A pause of the server's, or
// a costlier endpoint, slows a window as loaded as the one before.
func (a *adapter) loadExplains() bool {
	if a.prevRecent <= 0 || a.prevLoad <= 0 || a.recent <= a.prevRecent {
		return false
	}
	grew := a.recentLoad / a.prevLoad
	return grew >= 1.25 && a.recent/a.prevRecent <= 1.25*grew
}

// queuedAt returns the load at which the key's items would take a little
// longer than usual (1 + settleGrow of the way to Tolerance times it),
// drawn from the recent window, or 0 if it says none: a server that queues
// answers each item in the time of those ahead of it, so the load of the
// window in the ratio of the time wanted to its time. Of a window of
// timeouts, whose median is a bound below its own, it is a bound above:
// a cut to it is never too deep.
func (a *adapter) queuedAt() float64 {
	if a.recentLoad <= 0 || a.recent <= 0 {
		return 0
	}
	return a.recentLoad * a.growsUpTo() * a.usual / a.recent
}

// relearnAlone takes as the key's usual time the time its items would
// take alone, drawn through the base window's and the recent one's, if
// it is Tolerance times the usual time, and reports whether the key's
// recent items are no longer slow against it.
func (a *adapter) relearnAlone(e *slowdown) bool {
	// The line t = alone + k × load through both windows; their loads
	// differ by a quarter of baseLoad at least.
	alone := (a.recent*e.baseLoad - e.base*a.recentLoad) / (e.baseLoad - a.recentLoad)
	if alone <= a.usual*a.cfg.Tolerance {
		return false
	}
	a.usual = alone
	if a.slow = a.slowerThanUsual(); a.slow {
		return false
	}
	// Against a usual time drawn, not seen, where the key settles is not
	// known either: it grows as any key does until its items are slow.
	a.slowing, a.queues = nil, false
	return true
}

// windowAfter returns the first window whose items all started after the
// item numbered n.
func windowAfter(n int64) int64 {
	id, _ := windowOf(n + 1)
	if prev, _ := windowOf(n); prev == id {
		id++
	}
	return id
}

// slowed takes in a try of the item numbered start as it started: the
// time it took, whether that time is a measure of the key (timed), and
// how many of the key's items were in flight over its life, on average.
// It reports whether the key's recent items take Tolerance times their
// usual time.
//
// Times are taken in windows of windowItems items by the order they
// started, and a window is judged once all of its items are done: the
// recent time is the median of the last window done, and the usual time
// the least such median whose error is small enough (maxUsualError). One
// more than half of whose items took longer than the limit may grow at is
// judged before that too, on a bound below its median (see judgeEarly),
// and again once whole. Taken in the order they end, the first items of
// a key, or of a larger limit, are the fastest of their lot, and a usual
// time learnt from them was too low, so that answers that merely vary in
// time looked slow against it. A median, not an average: the slow tail
// real answers have (one in twenty taking twenty times the rest) does not
// move it, where a server that queues, slowing every answer, does. A
// server slower for reasons of its own shows it at one in flight, where
// the key queues nothing: its recent time is then the usual one.
//
// Untimed tries (a 404 at once, a refusal) count in their window, so that
// it is whole when its last item is done, but not in its median; a window
// of fewer than half timed is not judged.
func (a *adapter) slowed(start int64, took float64, timed, timedOut bool, load float64) bool {
	if timed {
		a.sinceCut++
	}
	id, size := windowOf(start)
	if a.started < 2 {
		return false // one item alone is judged by nothing
	}
	// With L in flight, items of about L/windowItems windows end
	// interleaved: a window must stay open until its last ends, or none
	// would ever be whole.
	if need := min(2*int(a.limit)/windowItems+openWindows, maxWindows); len(a.windows) < need {
		grown := make([]timeWindow, need)
		for _, old := range a.windows {
			if old.n > 0 && old.id >= 0 {
				grown[old.id%int64(need)] = old
			}
		}
		a.windows = grown
	}
	w := &a.windows[id%int64(len(a.windows))]
	switch {
	case w.id > id:
		return false // a window long gone: its lot is judged without it
	case w.id < id:
		*w = timeWindow{id: id}
	}
	if timed {
		w.times[w.timed] = float32(took)
		w.load += float32(load)
		w.timed++
		if timedOut {
			w.timeouts++
		}
		if a.usual > 0 && took > a.usual*a.growsUpTo() {
			w.over++
		}
	}
	if w.n++; w.n < size {
		return a.judgeEarly(w, id, size)
	}
	w.id = -1 // done
	if id < a.recentWindow || w.timed < size/2 {
		// A window whose last item ended after a later window was whole
		// is older news than the later one: items that turn faster (a
		// list moving on to a cheaper endpoint) would otherwise be taken
		// for a slowdown.
		return false
	}
	// Half timeouts is as bad: the median would be an answer's time and a
	// timeout's, drawn together, which is neither.
	unanswered := 2*w.timeouts >= w.timed
	if unanswered && a.usual == 0 {
		// A key that has not answered yet: its timeouts are no time of
		// its, and as its usual time they would have let nothing go
		// (overdueAfter) for four times the timeout.
		return false
	}
	m, se := medianSpread(w.times[:w.timed])
	return a.judge(id, m, se, float64(w.load)/float64(w.timed), unanswered, false)
}

// judgeEarly judges window id, of size items, before it is whole, once
// more than half of them took longer than the limit may grow at (none
// untimed; a timeout's time is a bound below its own): its median will be
// at least the time of the shortest of the longest half of the window,
// which is known already.
// Judged whole, a window of a slow start is judged late, once its last
// item ends: against a server that queues, the limit doubled on to 64 in
// the time its items waited, and those of the next windows waited longer
// still. It reports what slowed does.
func (a *adapter) judgeEarly(w *timeWindow, id int64, size int) bool {
	if w.early || w.over <= size/2 || w.timed < w.n || id < a.recentWindow {
		return false
	}
	var sorted [windowItems]float32
	n := copy(sorted[:], w.times[:w.timed])
	slices.Sort(sorted[:n])
	bound := float64(sorted[n-1-size/2])
	if bound <= a.usual*a.growsUpTo() {
		// over was counted against a usual time since relearnt higher.
		return false
	}
	w.early = true
	// A timeout's time is a bound below its own too: more than half of
	// the window timed out is as unanswered as the window will be.
	return a.judge(id, bound, 0, float64(w.load)/float64(w.timed), 2*w.timeouts > size, true)
}

// judge takes recent, of window id whose items had load in flight on
// average, as the key's recent time, and reports whether it is Tolerance
// times the usual time (see slowed). An early judgement's recent time
// (judgeEarly) is a bound below the window's median: it may cut the limit
// or hold it, but neither becomes a usual time, nor the base of a
// slowdown, nor says the items are no longer slow; the window judged
// whole does.
func (a *adapter) judge(id int64, recent, se, load float64, unanswered, early bool) bool {
	if id > a.recentWindow && !a.recentUnanswered {
		a.prevRecent, a.prevLoad = a.recent, a.recentLoad
	}
	a.recent, a.recentSE, a.recentLoad, a.recentWindow = recent, se, load, id
	a.recentUnanswered = unanswered
	if early {
		a.slow = a.slowJudged(unanswered)
		return a.slow
	}
	if (a.usual == 0 || a.recent < a.usual) && se <= maxUsualError*a.recent {
		a.usual = a.recent
	}
	if e := a.slowing; e != nil && e.base == 0 && id >= e.baseWindow && !unanswered {
		e.base, e.baseLoad = a.recent, a.recentLoad
	}
	a.slow = a.slowJudged(unanswered)
	if a.slow && a.limit <= 1 && !unanswered {
		a.usual, a.slow = a.recent, false
	}
	if !a.slow {
		a.slowing = nil
	}
	return a.slow
}

// recentOver reports whether the recent time is times the usual one, and
// at least minSlowdown more; never before the key has a usual time.
func (a *adapter) recentOver(times float64) bool {
	return a.usual > 0 && a.recent > a.usual*times && a.recent-a.usual > minSlowdown
}

// slowerThanUsual reports whether the recent time is Tolerance times the
// usual one (see recentOver).
func (a *adapter) slowerThanUsual() bool { return a.recentOver(a.cfg.Tolerance) }

// slowJudged reports whether the recent window, judged, is slow: Tolerance
// times the usual time, or, where half or more of its items timed out
// (unanswered), past where the limit may grow at (1.25 times the usual
// time, at the default Tolerance). Its median, of their timeouts and the
// answers beside them, is then a bound below its own, and the items are
// lost, which more at once only add to: a server that queued answers of
// 400 to 800ms past a timeout of 1s lost nine in ten of 600 URLs at 54 in
// flight, never cut, as twice their usual time was past the timeout.
func (a *adapter) slowJudged(unanswered bool) bool {
	return a.slowerThanUsual() || unanswered && a.recentOver(a.growsUpTo())
}

// maxUsualError is how large a share of its median a window's standard
// error (see medianSpread) may be for the median to be taken for the
// usual time: the first windows are of 8 items, so that a queue is seen
// early, and where answers take 10 to 500ms the median of 8 of them may
// be off by half. Taken for the usual time, such a median of 127ms, where
// 255ms is the answers' own, had the next window take twice it, and the
// key was cut to 1.
const maxUsualError = 0.25

// windowOf returns the window of the item numbered start, and how many
// items it has: the first few small, so that a server that queues as the
// key first grows is caught early, against what its first items took;
// then windowItems, whose medians vary less.
func windowOf(start int64) (id int64, size int) {
	const small = windowItems / 4
	if start <= firstWhole*small {
		return (start - 1) / small, small
	}
	return firstWhole + (start-1-firstWhole*small)/windowItems, windowItems
}

// firstWhole is the first window of windowItems items (see windowOf).
const firstWhole = 2

// A timeWindow gathers the times of the items of one window (windowOf).
type timeWindow struct {
	id       int64 // the window's number: its first item's, over windowItems
	n, timed int   // its items done, and those of them timed
	timeouts int   // those of its timed items that had no answer (Task.TimedOut)
	// over counts its timed items that took longer than the limit may grow
	// at (growsUpTo), and early says it was judged on them (judgeEarly).
	over  int
	early bool
	// load is the sum, over its timed items, of the key's items in flight
	// on average over each one's life (try.load): what they ran under.
	load  float32
	times [windowItems]float32 // seconds, of its timed items
}

// paused returns when the key may start again after a refusal's pause, or
// the zero time.
func (a *adapter) paused(now time.Time) time.Time {
	if a.pausedUntil.After(now) {
		return a.pausedUntil
	}
	return time.Time{}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// medianSpread returns the median of times, without changing them (a
// copy on the stack), and its standard error: how much medians of as
// many items vary from window to window, by the spread of these (their
// interquartile range over 1.349 is the deviation of a normal spread, and
// a median's error is 1.2533 times that over the root of their number).
func medianSpread(times []float32) (median, se float64) {
	var sorted [windowItems]float32
	n := copy(sorted[:], times)
	slices.Sort(sorted[:n])
	if n%2 == 1 {
		median = float64(sorted[n/2])
	} else {
		median = (float64(sorted[n/2-1]) + float64(sorted[n/2])) / 2
	}
	iqr := float64(sorted[n-1-n/4] - sorted[n/4]) // as many below the one as above the other
	return median, 1.2533 / 1.349 * iqr / math.Sqrt(float64(n))
}
