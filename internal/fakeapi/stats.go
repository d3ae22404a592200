package fakeapi

import "sync/atomic"

// Stats is what a Handler has seen since it was made or last Reset.
// Requests to /stats and /stats/reset are not counted.
type Stats struct {
	// Requests counts every request, answered or not.
	Requests int64 `json:"requests"`

	// InFlight is the number of requests inside the Handler right now,
	// including ones held by latency, hang or trickle.
	InFlight int64 `json:"in_flight"`

	// PeakInFlight is the highest InFlight has been; it is how a test checks
	// that a client's concurrency limit held.
	PeakInFlight int64 `json:"peak_in_flight"`

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
	byStatus [600]atomic.Int64
}

func (c *counters) begin() {
	c.requests.Add(1)
	n := c.inFlight.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			return
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
	for code := range c.byStatus {
		c.byStatus[code].Store(0)
	}
	c.peak.Store(c.inFlight.Load())
}
