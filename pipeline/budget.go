package pipeline

import (
	"cmp"
	"container/heap"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sourcegraph/conc/panics"
	"golang.org/x/time/rate"
)

// Limits bound how the items of a scheduled stage start: how many run at
// once, and how fast they start. The zero value sets no limit.
type Limits struct {
	// InFlight is how many items may run at once; 0 means no limit, but
	// the overall limits of a Budget need at least 1.
	InFlight int
	// Rate is how many items may start per second, evenly spaced: 20 is
	// one every 50ms, 1.0/60 one a minute. 0 means no limit. Retries count.
	Rate float64
	// Burst is how many items may start at once under Rate after a quiet
	// spell; 0 means 1.
	Burst int
}

func (l Limits) limiter() *rate.Limiter {
	if l.Rate <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(l.Rate), max(l.Burst, 1))
}

// A Budget is a set of limits on how scheduled work starts, overall and
// per key, that one or several Schedule stages draw on. Two stages given
// the same Budget share it: with 4 in flight per key, the two stages
// together run at most 4 items of a key at once.
//
// A stage takes a slot of the budget when it calls its work function for
// an item and gives it back as soon as that call returns, before the
// result goes downstream, so stages that share a budget never wait on
// each other's slots while blocked on one another's output.
//
// The state of a key (its items in flight, its rate limiter) lasts while
// the key has work, and after that only until its rate limiter has
// forgotten its recent starts (and, WithAdaptive, for a minute after its
// last item, to keep what its limit has learnt), so that a budget over
// millions of keys stays small and a key's rate is kept across a quiet
// spell.
//
// A Budget is safe for concurrent use.
type Budget struct {
	mu      sync.Mutex
	overall Limits
	lim     *rate.Limiter // overall start rate; nil for none
	running int
	// reserved counts the overall slots handed to a waiting stage and
	// not yet taken by it (see release).
	reserved int
	perKey   func(key string) Limits
	adaptive *Adaptive // nil: the keys' in-flight limits are fixed
	keys     map[string]*budgetKey
	idle     idleKeys // keys with nothing running whose limiters still remember starts

	stages []scheduler // the stages drawing on the budget, to wake and to inform
	// waiting are the stages that found every overall slot taken, to wake
	// when one is given back.
	waiting []scheduler
}

// NewBudget returns a Budget with the given overall limits, whose
// InFlight must be at least 1, and the limits of each key that perKey
// returns (nil for no per-key limits). perKey is called when a key is
// first seen, and again when it comes back after it was forgotten, with
// the budget locked: never for two keys at once, and it must not call the
// Budget. Negative limits from it are an error of the run. NewBudget
// panics on an overall InFlight below 1 and on negative overall limits,
// which are programming errors.
//
// Options: WithAdaptive.
func NewBudget(overall Limits, perKey func(key string) Limits, opts ...Option) *Budget {
	c := newConfig("NewBudget", optAdaptive, opts)
	if overall.InFlight < 1 {
		panic(fmt.Sprintf("pipeline.NewBudget: overall InFlight must be at least 1, not %d", overall.InFlight))
	}
	mustValid("overall", overall)
	return &Budget{
		overall:  overall,
		lim:      overall.limiter(),
		perKey:   perKey,
		adaptive: c.adaptive,
		keys:     make(map[string]*budgetKey),
	}
}

func mustValid(what string, l Limits) {
	if l.InFlight < 0 || l.Rate < 0 || l.Burst < 0 {
		panic(fmt.Sprintf("pipeline: negative %s limits %+v", what, l))
	}
}

// SetLimits gives key its own limits from now on, in place of what perKey
// gave it, for as long as the key is remembered (see Budget): a key with no
// work and no recent starts to remember is forgotten at once, and comes
// back with perKey's limits. A key at a higher in-flight limit than before
// can start more at once; one at a lower limit starts no more until it is
// below it. Stages drawing on the budget report the change to their
// observers (see EventLimits).
func (b *Budget) SetLimits(key string, l Limits) {
	mustValid("key", l)
	b.mu.Lock()
	now := time.Now()
	k := b.keys[key]
	if k == nil {
		b.sweep()
		k = b.newKey(key, l)
	}
	k.limits = l
	if k.adapt != nil {
		k.adapt.setCeiling(b.ceiling(l))
	}
	switch {
	case l.Rate <= 0:
		k.lim = nil
	case k.lim == nil:
		k.lim = l.limiter()
	default:
		k.lim.SetLimitAt(now, rate.Limit(l.Rate))
		k.lim.SetBurstAt(now, max(l.Burst, 1))
	}
	k.wakeAll()
	stages := b.stages
	for _, s := range stages {
		s.limitsChanged(Event{Kind: EventLimits, Seq: -1, Key: key, Limits: l})
	}
	b.forget(k)
	b.mu.Unlock()
}

// adapted reports the new adaptive limit of k to the stages drawing on the
// budget, and wakes those waiting for a slot of k. Called with b.mu held.
func (b *Budget) adapted(k *budgetKey) {
	l := k.limits
	l.InFlight = k.adapt.inFlight()
	e := Event{Kind: EventLimits, Seq: -1, Key: k.key, Limits: l, Change: k.adapt.why,
		Usual: time.Duration(k.adapt.usual * float64(time.Second))}
	for _, s := range b.stages {
		s.limitsChanged(e)
	}
	k.wakeAll()
}

// Limits returns the limits of key now: those SetLimits gave it, or else
// those of perKey. An adaptive budget's in-flight limit of the moment is
// not among them: the observer hears it (EventLimits).
func (b *Budget) Limits(key string) Limits {
	b.mu.Lock()
	if k := b.keys[key]; k != nil {
		defer b.mu.Unlock()
		return k.limits
	}
	b.mu.Unlock()
	if b.perKey == nil {
		return Limits{}
	}
	return b.perKey(key)
}

// limitsOf returns what perKey says of key. It is called with b.mu held,
// so a panic in perKey becomes an error rather than a lock never released.
func (b *Budget) limitsOf(key string) (l Limits, err error) {
	if b.perKey == nil {
		return Limits{}, nil
	}
	if r := panics.Try(func() { l = b.perKey(key) }); r != nil {
		return Limits{}, r.AsError()
	}
	if l.InFlight < 0 || l.Rate < 0 || l.Burst < 0 {
		return Limits{}, fmt.Errorf("pipeline: negative limits %+v for key %q", l, key)
	}
	return l, nil
}

// budgetKey is what a budget knows of one key.
type budgetKey struct {
	key     string
	limits  Limits
	lim     *rate.Limiter
	running int
	// late is, for an adaptive key, its tries in flight, and those let go
	// for want of an answer (see lateTries).
	late     *lateTries
	reserved int      // slots handed to a waiting stage's key, not yet taken
	users    int      // stages that have work of the key
	queued   bool     // in the budget's idle heap
	adapt    *adapter // its adaptive in-flight limit; nil for a fixed one
	// waiters are the stages' keys that found this key at its limit,
	// longest waiting first.
	waiters []keyWaiter
}

// keyWaiter is a stage's key, waiting for a slot of its budget key.
type keyWaiter interface {
	// stage is the stage the key belongs to.
	stage() scheduler
	// slotFree says the key may have a free slot: granted, it was handed
	// one that no other stage can take. Called with the budget locked.
	slotFree(granted bool)
}

// scheduler is what a budget asks of a stage drawing on it.
type scheduler interface {
	// slotFree says an overall slot was handed to the stage. Called with
	// the budget locked.
	slotFree()
	// limitsChanged reports new limits of a key (an EventLimits). Called
	// with the budget locked.
	limitsChanged(e Event)
	// canTake reports whether a worker of the stage will look for an item
	// at once if asked: a slot handed to a stage that cannot would be held
	// while its workers are blocked downstream.
	canTake(overall bool) bool
	// wakeLead wakes the stage to look again, without handing it anything.
	wakeLead()
	// overdue reports that a try of the stage's is overdue (an
	// EventOverdue). Called with the budget locked.
	overdue(f *flight, ran time.Duration)
}

// key returns the state of key, creating it if need be. Called with b.mu
// held.
func (b *Budget) key(key string) (*budgetKey, error) {
	k := b.keys[key]
	if k == nil {
		b.sweep() // a new key is the moment to let go of old ones
		l, err := b.limitsOf(key)
		if err != nil {
			return nil, err
		}
		k = b.newKey(key, l)
	}
	return k, nil
}

// newKey makes the state of key, of limits l, and keeps it. Called with
// b.mu held.
func (b *Budget) newKey(key string, l Limits) *budgetKey {
	k := &budgetKey{key: key, limits: l, lim: l.limiter()}
	if b.adaptive != nil {
		k.adapt = newAdapter(b.adaptive, b.ceiling(l))
		k.late = new(lateTries)
	}
	b.keys[key] = k
	return k
}

// ceiling is what an adaptive key's limit may grow to: its own in-flight
// limit, or else the overall one.
func (b *Budget) ceiling(l Limits) int {
	return cmp.Or(l.InFlight, b.overall.InFlight)
}

// inFlight is k's in-flight limit now; 0 for none.
func (k *budgetKey) inFlight() int {
	if k.adapt != nil {
		return k.adapt.inFlight()
	}
	return k.limits.InFlight
}

// full reports whether k can start no more items now, for its in-flight
// limit, but with a slot handed to it (see release).
func (k *budgetKey) full() bool {
	return k.inFlight() > 0 && k.room() <= 0
}

// room is how many more items of k may start now, for a key with an
// in-flight limit, less the slots handed out. Overdue items hold no slot
// of an adaptive limit, unless its server counts them (see
// lateTries.countsUntil), but count against its ceiling; where items hold
// all its slots, probes may start beside them (see probes).
func (k *budgetKey) room() int {
	l := k.inFlight()
	if k.adapt == nil {
		return l - k.running - k.reserved
	}
	inside := l - k.holding()
	if inside <= 0 && k.late.unproven > 0 {
		inside = k.probes(time.Now())
	}
	return min(inside, k.adapt.ceiling-k.running) - k.reserved
}

// full reports whether every overall slot is taken or handed out.
func (b *Budget) full() bool { return b.running+b.reserved >= b.overall.InFlight }

// wait registers w to be told when k has a free slot.
func (k *budgetKey) wait(w keyWaiter) { k.waiters = append(k.waiters, w) }

// wakeAll tells the waiting stages' keys that k may have free slots, after
// its limits rose. Those that find it taken again wait again.
func (k *budgetKey) wakeAll() {
	ws := k.waiters
	k.waiters = ws[:0] // a waiter that waits again takes the place of one already told
	for i := range ws {
		w := ws[i]
		w.slotFree(false)
	}
	clear(ws[len(k.waiters):])
}

// release gives back a slot of key k that stage s held, for a try that
// was overdue or not (see budgetKey.landed). Called with b.mu held.
//
// A slot that another stage waits for is handed to the one that has
// waited longest, for the key and then overall: s goes on to pick its next
// item at once, and would otherwise take back every slot it frees, so
// that stages sharing a budget would not take turns.
func (b *Budget) release(k *budgetKey, s scheduler, wasOverdue bool) {
	k.running--
	b.running--
	k.handOver(s)
	b.handOver(s)
	if wasOverdue && k.full() {
		// The key is as full as before, for an overdue try holds no slot
		// (where the server does not count them), but it may let go of
		// another now: its waiters look again, and set a timer for the
		// next (watchOverdue).
		k.wakeAll()
	}
	b.forget(k)
}

// handOver hands a free slot of k to the key waiting longest for one of
// another stage than s. s's own keys are only woken: s picks next anyway,
// and has just had its turn.
func (k *budgetKey) handOver(s scheduler) {
	for len(k.waiters) > 0 && !k.full() {
		w := k.waiters[0]
		k.waiters[0] = nil
		k.waiters = k.waiters[1:]
		if w.stage() == s || !w.stage().canTake(false) {
			w.slotFree(false)
			continue
		}
		k.reserved++
		w.slotFree(true)
		return
	}
}

// handOver hands a free overall slot to the stage waiting longest for
// one, other than s, which picks next anyway and has just had its turn.
func (b *Budget) handOver(s scheduler) {
	for len(b.waiting) > 0 && !b.full() {
		w := b.waiting[0]
		b.waiting[0] = nil
		b.waiting = b.waiting[1:]
		if w == s {
			continue
		}
		if !w.canTake(true) {
			w.wakeLead()
			continue
		}
		b.reserved++
		w.slotFree()
		return
	}
}

// giveBack returns n overall slots handed to a stage that no longer needs
// them, and hands them on.
func (b *Budget) giveBack(n int) {
	b.reserved -= n
	for range n {
		b.handOver(nil)
	}
}

// giveBack returns n slots of k handed to a stage's key that no longer
// needs them, and hands them on.
func (k *budgetKey) giveBack(n int) {
	k.reserved -= n
	for range n {
		k.handOver(nil)
	}
}

// waitSlot registers s to be told when an overall slot is given back.
func (b *Budget) waitSlot(s scheduler) {
	for _, w := range b.waiting {
		if w == s {
			return
		}
	}
	b.waiting = append(b.waiting, s)
}

// forget drops k if nothing uses it, its limiter has refilled and its
// adaptive limit has gone unused for adaptMemory, or queues it to be
// dropped once they have. Called with b.mu held.
func (b *Budget) forget(k *budgetKey) {
	if k.users > 0 || k.running > 0 || b.keys[k.key] != k {
		return
	}
	// What the key's limit has learnt holds for a while: a key that comes
	// back soon should not have to learn it again. And forgetting the
	// limiter before it has refilled would forget recent starts, and let
	// the key start again too soon. It is kept until the later of the two.
	now := time.Now()
	var until time.Time
	if k.adapt != nil {
		until = k.adapt.lastUsed.Add(adaptMemory)
	}
	if k.lim != nil {
		until = later(until, refilled(k.lim, now))
	}
	if until.After(now) {
		if !k.queued {
			k.queued = true
			heap.Push(&b.idle, idleKey{at: until, k: k})
		}
		return
	}
	delete(b.keys, k.key)
}

// sweep drops the idle keys whose limiters have refilled, and whose
// adaptive limits have been unused for adaptMemory, by now.
func (b *Budget) sweep() {
	if len(b.idle) == 0 {
		return
	}
	now := time.Now()
	for len(b.idle) > 0 && !b.idle[0].at.After(now) {
		k := heap.Pop(&b.idle).(idleKey).k
		k.queued = false
		b.forget(k)
	}
}

// remembered returns how many keys the budget holds, for tests.
func (b *Budget) remembered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.keys)
}

type idleKey struct {
	at time.Time
	k  *budgetKey
}

// idleKeys is a min-heap of keys by the time they may be forgotten (see
// forget).
type idleKeys []idleKey

func (h idleKeys) Len() int           { return len(h) }
func (h idleKeys) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h idleKeys) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idleKeys) Push(x any)        { *h = append(*h, x.(idleKey)) }
func (h *idleKeys) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = idleKey{}
	*h = old[:len(old)-1]
	return x
}

// takeToken takes a token from lim if one is free and returns 0; else it
// returns how long until one will be, taking nothing.
func takeToken(lim *rate.Limiter, now time.Time) time.Duration {
	if lim.AllowN(now, 1) {
		return 0
	}
	return untilToken(lim, now)
}

// untilToken returns how long until lim has a token, taking nothing.
func untilToken(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return max(seconds(missing/float64(lim.Limit())), time.Microsecond)
}

// refilled returns when lim will have its whole burst again, after which
// forgetting it changes nothing.
func refilled(lim *rate.Limiter, now time.Time) time.Time {
	missing := float64(lim.Burst()) - lim.TokensAt(now)
	if missing <= 0 || lim.Limit() <= 0 {
		return now
	}
	return now.Add(seconds(missing / float64(lim.Limit())))
}

// seconds converts a float of seconds to a Duration, saturating where a
// tiny rate asks for more than a Duration holds (a start every 300 years).
func seconds(f float64) time.Duration {
	const most = math.MaxInt64 / 2 // leaves room to add it to a time
	if f*float64(time.Second) >= most {
		return most
	}
	return time.Duration(f * float64(time.Second))
}
