package pipeline

import (
	"fmt"
	"time"
)

// An Event is something that happened in a scheduled stage: an item
// waited, started, was to be tried again or was done, or a key's limits
// changed. A stage reports its events to the function given WithObserver,
// for progress displays, summaries and logs.
type Event struct {
	Kind EventKind
	// Seq is the item's position in the stage's input, from 0; -1 for
	// EventLimits.
	Seq int64
	// Key is the item's key (see WithKey), or the key whose limits
	// changed.
	Key string
	// Try is, for EventStarted and EventRetrying, which call of the work
	// function it is about, from 1; for EventDone, how many calls the item
	// had, 0 for an item that never started.
	Try int
	// Reason is, for EventWaiting, what holds the item back; for
	// EventStarted, and EventDone of an item that never started, what had
	// held it, if anything, so that a count of waiting items can be kept
	// from the events alone.
	Reason WaitReason
	// Wait is, for EventRetrying, how long until the next try.
	Wait time.Duration
	// Limits is, for EventLimits, the key's new limits.
	Limits Limits
	// Adapted is, for EventLimits from a budget that adapts
	// (WithAdaptive), why the key's in-flight limit changed; 0 where
	// SetLimits changed it.
	Adapted Adaptation
	// Usual is, for EventLimits from a budget that adapts, the time the
	// key's items usually take, as the budget has learnt it; 0 before it
	// knows.
	Usual time.Duration
}

// An EventKind says what an Event reports.
type EventKind uint8

const (
	// EventWaiting: the item is ready to start, but a limit of its key's,
	// or the overall rate, holds it back (see WaitReason); it is reported
	// once, when the stage finds it so. Items waiting only for a free
	// overall slot are not reported: in a busy run, that is most of them.
	EventWaiting EventKind = iota + 1
	// EventStarted: the work function is being called for the item.
	EventStarted
	// EventRetrying: the work function asked to try the item again after
	// Wait; meanwhile it holds no slot.
	EventRetrying
	// EventDone: the item's result is final.
	EventDone
	// EventLimits: a key's limits changed (Budget.SetLimits), or its
	// in-flight limit adapted (WithAdaptive).
	EventLimits
)

var eventNames = [...]string{EventWaiting: "waiting", EventStarted: "started", EventRetrying: "retrying", EventDone: "done", EventLimits: "limits"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// An Adaptation says why a budget that adapts (WithAdaptive) changed a
// key's in-flight limit.
type Adaptation uint8

const (
	// AdaptedGrew: the key's items went well, and it may have more at
	// once.
	AdaptedGrew Adaptation = iota + 1
	// AdaptedRefused: an item was refused for overload (Task.Refused).
	AdaptedRefused
	// AdaptedSlowed: the key's items took Tolerance times their usual
	// time.
	AdaptedSlowed
	// AdaptedUndone: cuts for slow items that left them as slow were
	// undone; their time is the usual one now (Event.Usual).
	AdaptedUndone
)

var adaptationNames = [...]string{AdaptedGrew: "grew", AdaptedRefused: "refused", AdaptedSlowed: "slowed", AdaptedUndone: "undone"}

func (a Adaptation) String() string {
	if int(a) < len(adaptationNames) && adaptationNames[a] != "" {
		return adaptationNames[a]
	}
	return fmt.Sprintf("Adaptation(%d)", uint8(a))
}

// A WaitReason says what holds an item back.
type WaitReason uint8

const (
	// WaitKeyBusy: the item's key has as many items in flight as its
	// limits allow.
	WaitKeyBusy WaitReason = iota + 1
	// WaitRate: a start rate, overall or the key's, makes it wait its
	// turn.
	WaitRate
	// WaitPaused: an item of the key was refused with a pause (see
	// Task.Refused), which has not passed.
	WaitPaused
)

func (r WaitReason) String() string {
	switch r {
	case 0:
		return "none"
	case WaitKeyBusy:
		return "key busy"
	case WaitRate:
		return "rate"
	case WaitPaused:
		return "paused"
	}
	return fmt.Sprintf("WaitReason(%d)", uint8(r))
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

// slotFree is called by the budget, with b.mu held, when it hands the
// stage an overall slot.
func (s *sched[In, Out]) slotFree() {
	s.granted++
	s.dispatch()
}

func (s *sched[In, Out]) canTake(overall bool) bool {
	return !s.ended && (!overall || len(s.runnable) > 0) && (s.looking > 0 || s.idle > 0 || s.workers < s.maxWorkers)
}

func (s *sched[In, Out]) wakeLead() { s.kickLead() }

// limitsChanged is called by the budget, with b.mu held, with the
// EventLimits to report. A key asleep under its old rate wakes to look at
// the new one.
func (s *sched[In, Out]) limitsChanged(e Event) {
	key := e.Key
	k := s.keys[key]
	if s.one != nil && key == "" {
		k = s.one
	}
	if k != nil && k.sleeping {
		k.sleeping = false
		s.markRunnable(k)
		s.kickLead()
	}
	if s.observe != nil {
		s.event(e)
		s.kickLead() // to report it
	}
}
