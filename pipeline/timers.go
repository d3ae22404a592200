package pipeline

import (
	"container/heap"
	"time"
)

// A timer is something a scheduled stage must do at a given time: try an
// item again, wake a key whose rate limiter said to wait, or look again
// at the overall rate.
type timer[In, Out any] struct {
	at   time.Time
	item *item[In, Out]     // a retry is due
	key  *stageKey[In, Out] // the key may start again
	// overdue: the key's oldest try in flight may be overdue (see
	// watchOverdue).
	overdue bool
}

// timers is a min-heap of timers by time.
type timers[In, Out any] []timer[In, Out]

func (h timers[In, Out]) Len() int           { return len(h) }
func (h timers[In, Out]) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timers[In, Out]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timers[In, Out]) Push(x any)        { *h = append(*h, x.(timer[In, Out])) }
func (h *timers[In, Out]) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = timer[In, Out]{}
	*h = old[:len(old)-1]
	return t
}

func (h *timers[In, Out]) add(t timer[In, Out]) { heap.Push(h, t) }

// next returns the time of the earliest timer, zero when there is none.
func (h timers[In, Out]) next() time.Time {
	if len(h) == 0 {
		return time.Time{}
	}
	return h[0].at
}

// due pops the earliest timer if it is due at now.
func (h *timers[In, Out]) due(now time.Time) (timer[In, Out], bool) {
	if len(*h) == 0 || (*h)[0].at.After(now) {
		return timer[In, Out]{}, false
	}
	return heap.Pop(h).(timer[In, Out]), true
}

// drop removes the timers for which f returns true.
func (h *timers[In, Out]) drop(f func(timer[In, Out]) bool) {
	kept := (*h)[:0]
	for _, t := range *h {
		if !f(t) {
			kept = append(kept, t)
		}
	}
	clear((*h)[len(kept):])
	*h = kept
	heap.Init(h)
}
