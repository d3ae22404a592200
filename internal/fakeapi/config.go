package fakeapi

import "time"

// Config chooses how a Handler behaves when a request does not say otherwise.
// The zero value is useful: no latency, five posts per listing, seed 0.
type Config struct {
	// Latency is how long each /r/ request is held before its response starts.
	// A request's latency= parameter overrides it.
	Latency Latency

	// Posts is the number of posts per listing; 0 or less means 5. A post is
	// 300-400 bytes of compact JSON, so Posts sets the body size. A request's
	// bytes= parameter overrides it.
	Posts int

	// Seed selects one of many equally plausible fake worlds: listings and
	// latencies are a pure function of Seed and the URL path.
	Seed uint64
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
