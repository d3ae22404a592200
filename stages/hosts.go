package stages

import (
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// hostState is what the schedule knows of one host: the requests it runs
// and queues, and its rate limiter. It exists only while the host has work,
// or while its limiter still remembers recent starts, so that memory stays
// bounded however many distinct hosts pass through a run.
type hostState struct {
	key      string
	running  int
	queue    []*job // waiting for a slot of this host, oldest first
	waiting  int    // jobs in backoff before a retry
	lim      *rate.Limiter
	sleeping bool // its limiter said to wait; a wake event is due
	runnable bool // in the schedule's list of hosts that can start a job
}

// idle reports whether the host has nothing running, queued or waiting.
func (h *hostState) idle() bool {
	return h.running == 0 && len(h.queue) == 0 && h.waiting == 0 && !h.sleeping
}

// push queues j behind the host's other jobs.
func (h *hostState) push(j *job) { h.queue = append(h.queue, j) }

// pushFront queues j before the others: a retry is older than they are.
func (h *hostState) pushFront(j *job) {
	h.queue = append(h.queue, nil)
	copy(h.queue[1:], h.queue)
	h.queue[0] = j
}

func (h *hostState) pop() *job {
	j := h.queue[0]
	h.queue[0] = nil
	h.queue = h.queue[1:]
	if len(h.queue) == 0 {
		h.queue = nil // let the backing array go
	}
	return j
}

// hostKey returns the host and port of a raw URL, in lower case, with the
// scheme's default port when it names none, so that http://a and
// http://a:80 share their limits. It does not parse the URL whole: it is
// only a key for per-host limits, and an item whose URL does not parse
// fails when its request is made.
func hostKey(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return ""
	}
	rest := raw[i+3:]
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	if strings.LastIndexByte(rest, ':') <= strings.LastIndexByte(rest, ']') { // no port
		switch strings.ToLower(raw[:i]) {
		case "http":
			rest += ":80"
		case "https":
			rest += ":443"
		}
	}
	return strings.ToLower(rest)
}

// waitFor takes a token from lim if one is free and returns 0; else it
// returns how long until one will be, taking nothing.
func waitFor(lim *rate.Limiter, now time.Time) time.Duration {
	if lim.AllowN(now, 1) {
		return 0
	}
	missing := 1 - lim.TokensAt(now)
	return max(time.Duration(missing/float64(lim.Limit())*float64(time.Second)), time.Microsecond)
}

// hasToken reports whether lim would let a request start now, taking
// nothing.
func hasToken(lim *rate.Limiter, now time.Time) bool { return lim.TokensAt(now) >= 1 }

// refilled returns when lim will have its whole burst again, after which
// forgetting it changes nothing.
func refilled(lim *rate.Limiter, now time.Time) time.Time {
	missing := float64(lim.Burst()) - lim.TokensAt(now)
	if missing <= 0 {
		return now
	}
	return now.Add(time.Duration(missing / float64(lim.Limit()) * float64(time.Second)))
}
