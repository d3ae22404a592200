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
	// Try is, for EventStarted, EventRetrying and EventOverdue, which
	// call of the work function it is about, from 1; for EventDone, how
	// many calls the item had, 0 for an item that never started.
	Try int
	// Reason is, for EventWaiting, what holds the item back; for
	// EventStarted, and EventDone of an item that never started, what had
	// held it, if anything, so that a count of waiting items can be kept
	// from the events alone.
	Reason WaitReason
	// Wait is, for EventRetrying, how long until the next try; for
	// EventOverdue, how long the try had run.
	Wait time.Duration
	// Limits is, for EventLimits, the key's new limits.
	Limits Limits
	// Change is, for EventLimits, what changed the key's limits:
	// Budget.SetLimits, or how its items went, for a budget that adapts
	// (WithAdaptive).
	Change LimitChange
	// Usual is, for EventLimits of a budget that adapts, the time the
	// key's items usually take, as the budget has learnt it; 0 before it
	// knows, and on a change by SetLimits.
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
	// EventOverdue: the item's try had run for Wait with no answer, and
	// gave its slot of its key's adaptive limit back (see Adaptive); it
	// runs on, and is still in flight.
	EventOverdue
)

var eventNames = [...]string{EventWaiting: "waiting", EventStarted: "started", EventRetrying: "retrying", EventDone: "done",
	EventLimits: "limits", EventOverdue: "overdue"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// A LimitChange says what changed a key's limits (EventLimits).
type LimitChange uint8

const (
	// LimitSet: Budget.SetLimits set them.
	LimitSet LimitChange = iota
	// LimitGrew: the key's items went well, and a budget that adapts
	// (WithAdaptive) lets it have more at once.
	LimitGrew
	// LimitRefused: an item was refused for overload (Task.Refused), and
	// the key's in-flight limit was cut.
	LimitRefused
	// LimitSlowed: the key's items took more than Tolerance times their
	// usual time, and its in-flight limit was cut.
	LimitSlowed
	// LimitRestored: cuts for slow items that left them as slow with half
	// as many at once were undone; their time is the usual one now
	// (Event.Usual).
	LimitRestored
	// LimitEased: the key's server queues (its limit was cut for slow
	// items, twice in a row or as more at once explain), and its items took
	// somewhat longer than usual, so its in-flight limit was stepped down,
	// by one or to where they would take a little longer than usual (see
	// Adaptive).
	LimitEased
	// LimitRefusedAnyway: the key's tries that ran with fewest in flight
	// were refused as often as the others, so its server refuses a share
	// of them whatever it is sent, and its cuts for refusals were undone
	// (see Adaptive).
	LimitRefusedAnyway
	// LimitTimedOut: half or more of a window of the key's items had no
	// answer in their time (Task.TimedOut), a time somewhat longer than
	// the usual one of those answered before, and its in-flight limit was
	// cut as for slow items: such items are lost, and more at once only
	// lose more (see Adaptive).
	LimitTimedOut
)

var limitChangeNames = [...]string{LimitSet: "set", LimitGrew: "grew", LimitRefused: "refused", LimitSlowed: "slowed", LimitRestored: "restored", LimitEased: "eased", LimitRefusedAnyway: "refused anyway", LimitTimedOut: "timed out"}

func (c LimitChange) String() string {
	if int(c) < len(limitChangeNames) {
		return limitChangeNames[c]
	}
	return fmt.Sprintf("LimitChange(%d)", uint8(c))
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
