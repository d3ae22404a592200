package fakeapi

import "sync/atomic"

// Stats is what a Handler has seen since it was made or last Reset.
// Requests to /stats and /stats/reset are not counted.
type Stats struct {
	// Requests counts every request, answered or not.
	Requests int64 `json:"requests"`

	// InFlight is the number of requests inside the Handler right now,
	// including ones held by latency, hang or trickle. A request refused for
	// Config.Capacity is never in flight.
	InFlight int64 `json:"in_flight"`

	// PeakInFlight is the highest InFlight has been; it is how a test checks
	// that a client's concurrency limit held. With Config.Capacity it never
	// exceeds Capacity.
	PeakInFlight int64 `json:"peak_in_flight"`

	// Refused counts requests answered 429 because Config.Capacity were
	// already in flight. They are also in Requests and in ByStatus[429],
	// which a status=429 request joins too; Refused counts only refusals.
	Refused int64 `json:"refused"`

	// ByStatus counts responses by the status code sent. A request that ended
	// before a status was sent (the client left during latency or hang) is in
	// Requests but not here. Codes never sent are absent.
	ByStatus map[int]int64 `json:"by_status"`
}

// counters are the Handler's live Stats. Every field is an atomic so the
// normal path takes no lock; statuses index a fixed array for the same reason.
type counters struct {
	requests atomic.Int64
	inFlight atomic.Int64
	peak     atomic.Int64
	refused  atomic.Int64
	byStatus [600]atomic.Int64
}

// begin counts a request and admits it unless capacity (if above 0) are
// already in flight. An admitted request is in flight until end; a refused
// one is counted in Refused and must not call end. others is how many were
// in flight besides this request when it arrived.
func (c *counters) begin(capacity int) (others int64, ok bool) {
	c.requests.Add(1)
	others, ok = c.reserve(capacity)
	if !ok {
		c.refused.Add(1)
		return others, false
	}
	n := others + 1
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			return others, true
		}
	}
}

// reserve takes a place in flight if there is one. Checking and taking are
// one compare-and-swap, so however many requests arrive at once, at most
// capacity are ever admitted together, and a refused request never holds a
// place, even for an instant, that another could have had.
func (c *counters) reserve(capacity int) (others int64, ok bool) {
	if capacity <= 0 {
		// One add, which stays cheap under contention where a
		// compare-and-swap loop would retry.
		return c.inFlight.Add(1) - 1, true
	}
	for {
		n := c.inFlight.Load()
		if n >= int64(capacity) {
			return n, false
		}
		if c.inFlight.CompareAndSwap(n, n+1) {
			return n, true
		}
	}
}

func (c *counters) end() { c.inFlight.Add(-1) }

func (c *counters) status(code int) {
	if code >= 0 && code < len(c.byStatus) {
		c.byStatus[code].Add(1)
	}
}

// snapshot reads each counter once. Under load the fields are not one
// consistent instant, which is fine for what they are used for.
func (c *counters) snapshot() Stats {
	s := Stats{
		Requests:     c.requests.Load(),
		InFlight:     c.inFlight.Load(),
		PeakInFlight: c.peak.Load(),
		Refused:      c.refused.Load(),
		ByStatus:     make(map[int]int64),
	}
	for code := range c.byStatus {
		if n := c.byStatus[code].Load(); n != 0 {
			s.ByStatus[code] = n
		}
	}
	return s
}

// reset leaves InFlight alone: those requests are still running and will
// decrement it, so zeroing it would drive it negative. The peak restarts from
// what is in flight now.
func (c *counters) reset() {
	c.requests.Store(0)
	c.refused.Store(0)
	for code := range c.byStatus {
		c.byStatus[code].Store(0)
	}
	c.peak.Store(c.inFlight.Load())
}
