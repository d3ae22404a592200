package fakeapi

import (
	"fmt"
	"math"
	"time"
)

// Config chooses how a Handler behaves when a request does not say otherwise.
// The zero value is useful: no latency, five posts per listing, seed 0, no
// limit on requests at once.
type Config struct {
	// Latency is how long each /r/ request is held before its response starts.
	// A request's latency= parameter overrides it; LoadLatency scales either.
	Latency Latency

	// Posts is the number of posts per listing; 0 or less means 5. A post is
	// 300-400 bytes of compact JSON, so Posts sets the body size. A request's
	// bytes= parameter overrides it.
	Posts int

	// Seed selects one of many equally plausible fake worlds: listings and
	// latencies are a pure function of Seed and the URL path.
	Seed uint64

	// Capacity is how many requests the Handler serves at once, counted as
	// Stats.InFlight counts them (every request but /stats and
	// /stats/reset); 0 means unlimited. A request that arrives while
	// Capacity are in flight is refused at once, without its latency:
	// 429 Too Many Requests and {"error":"over capacity"}, as an overloaded
	// API's front end answers. A refused request is never in flight, so it
	// takes no place from the others, and Stats.Refused counts it. No query
	// parameter changes Capacity. NewHandler panics if it is negative.
	Capacity int

	// CapacityRetryAfter, if not empty, is sent verbatim as the Retry-After
	// header of a refusal for Capacity: "1" (seconds) or an HTTP date. Empty
	// sends none, as many real APIs do.
	CapacityRetryAfter string

	// LoadLatency makes latency climb with load, as a real server's queue
	// does; 0 means off. A request admitted while k other requests are in
	// flight (as Stats.InFlight counts them) is held for
	//
	//	latency × (1 + k/LoadLatency)
	//
	// where latency is its usual one: the Latency draw, or latency=. With
	// LoadLatency 10, a request that finds 10 others in flight waits twice
	// its latency, and one that finds 30, four times; one alone waits its
	// latency. k is taken once, on arrival: a request already waiting does
	// not slow down when more arrive. LoadLatency only scales latency there
	// is, so with none it does nothing. NewHandler panics if it is negative.
	LoadLatency int

	// Workers is how many requests the Handler works on at once, as a
	// server with a fixed pool of workers does; 0 means as many as arrive.
	// A request that finds Workers at work waits its turn, first come first
	// served, and its latency starts when it gets one: with k in flight
	// beyond Workers, each answer takes about latency × k/Workers, and no
	// more are answered a second however many are sent. Unlike
	// LoadLatency, a client that sends no more than Workers at once sees
	// no slowdown at all. A hang= request keeps its worker until the
	// client goes away. NewHandler panics if it is negative.
	Workers int
}

// check reports a Config that NewHandler refuses.
func (c Config) check() error {
	if c.Capacity < 0 {
		return fmt.Errorf("fakeapi: Config.Capacity %d is negative (0 means unlimited)", c.Capacity)
	}
	if c.LoadLatency < 0 {
		return fmt.Errorf("fakeapi: Config.LoadLatency %d is negative (0 means off)", c.LoadLatency)
	}
	if c.Workers < 0 {
		return fmt.Errorf("fakeapi: Config.Workers %d is negative (0 means no queue)", c.Workers)
	}
	return nil
}

// loaded returns d, a request's usual latency, scaled for the other
// requests in flight beside it; see Config.LoadLatency.
func (c Config) loaded(d time.Duration, others int64) time.Duration {
	if c.LoadLatency <= 0 || others <= 0 || d <= 0 {
		return d
	}
	x := float64(d) * (1 + float64(others)/float64(c.LoadLatency))
	if x >= math.MaxInt64 {
		return math.MaxInt64 // a client waiting this long has long since left
	}
	return time.Duration(x)
}

// defaultPosts keeps the zero Config's bodies near 2 KB, a typical small
// API response.
const defaultPosts = 5

func (c Config) posts() int {
	if c.Posts <= 0 {
		return defaultPosts
	}
	return c.Posts
}

// Latency is a distribution of per-request delays. Each URL path draws once
// from it (deterministically, from Config.Seed and the path), so repeating a
// request repeats its latency, as a slow endpoint would.
//
// Min == Max gives a fixed delay; Min < Max gives a uniform draw in [Min, Max].
// Max below Min is read as Max == Min. The zero value means no delay.
type Latency struct {
	Min, Max time.Duration

	// TailRate is the fraction of paths, in [0, 1], that are slow outliers.
	// Which paths are outliers is decided by hash, not by chance, so a test
	// can find them again. 0 means no tail.
	TailRate float64

	// TailFactor multiplies an outlier's drawn latency. 0 means 10, a common
	// p99-to-median ratio; values below 1 make outliers faster.
	TailFactor float64
}

// defaultTailFactor is used when a tail is asked for without saying how long.
const defaultTailFactor = 10

// latencyDomain keeps latency draws independent of content draws for the
// same seed and path.
const latencyDomain = 0x6c6174656e6379

// draw returns the latency for path. It hashes nothing when there is nothing
// to draw, so the zero Latency costs one comparison per request.
func (l Latency) draw(seed uint64, path string) time.Duration {
	lo, hi := max(l.Min, 0), max(l.Max, 0)
	if hi < lo {
		hi = lo
	}
	if hi == 0 {
		return 0
	}
	r := rng(hashKey(seed^latencyDomain, path))
	// Both draws are always taken, so whether a path is in the tail does not
	// depend on Min and Max.
	u, t := r.next(), r.float()
	d := lo + time.Duration(u%uint64(hi-lo+1))
	if t < l.TailRate {
		f := l.TailFactor
		if f == 0 {
			f = defaultTailFactor
		}
		d = max(time.Duration(float64(d)*f), 0)
	}
	return d
}
