package stages

import (
	"container/heap"
	"time"
)

// An event is something the schedule must do at a given time: retry a job
// after its backoff, wake a host whose rate limiter said to wait, or forget
// a host whose limiter has refilled.
type event struct {
	at   time.Time
	job  *job       // a retry is due
	host *hostState // a host wakes, or may be forgotten
}

// events is a min-heap of events by time.
type events []event

func (e events) Len() int           { return len(e) }
func (e events) Less(i, j int) bool { return e[i].at.Before(e[j].at) }
func (e events) Swap(i, j int)      { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)        { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	ev := old[len(old)-1]
	old[len(old)-1] = event{}
	*e = old[:len(old)-1]
	return ev
}

func (e *events) add(ev event) { heap.Push(e, ev) }

// next returns the time of the earliest event; ok is false when there is
// none.
func (e events) next() (at time.Time, ok bool) {
	if len(e) == 0 {
		return time.Time{}, false
	}
	return e[0].at, true
}

// due pops the earliest event if it is due at now.
func (e *events) due(now time.Time) (event, bool) {
	if len(*e) == 0 || (*e)[0].at.After(now) {
		return event{}, false
	}
	return heap.Pop(e).(event), true
}
