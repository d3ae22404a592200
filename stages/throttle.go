package stages

import (
	"time"

	"golang.org/x/time/rate"
)

// WithPerHost limits Fetch to n requests in flight per host (host and port),
// on top of the overall limit of WithConcurrency. A host at its limit makes
// only its own requests wait: requests to other hosts go on. 0, the
// default, means no per-host limit.
func WithPerHost(n int) Option { return func(s *settings) { s.perHost = max(n, 0) } }

// WithRate limits how many requests Fetch starts, overall: n per period,
// evenly spaced (WithRate(50, time.Second), WithRate(3000, time.Minute)).
// Retries count too. Requests wait for their turn without holding a slot
// of the concurrency limit. n of 0 or less means no limit.
func WithRate(n int, per time.Duration) Option {
	return func(s *settings) { s.rate = limit(n, per) }
}

// WithHostRate is WithRate for each host on its own.
func WithHostRate(n int, per time.Duration) Option {
	return func(s *settings) { s.hostRate = limit(n, per) }
}

// WithBurst lets up to n requests start at once under WithRate and
// WithHostRate, after a quiet spell, instead of evenly spaced (default 1).
func WithBurst(n int) Option { return func(s *settings) { s.burst = max(n, 1) } }

func limit(n int, per time.Duration) rate.Limit {
	if n <= 0 || per <= 0 {
		return 0
	}
	return rate.Limit(float64(n) / per.Seconds())
}

// WithRetries sets how many times Fetch retries a request that failed in a
// way worth retrying (see WithRetryOn), after a backoff (default
// DefaultRetries; 0 for none). The record's Attempts counts them all.
func WithRetries(n int) Option { return func(s *settings) { s.retries = max(n, 0) } }

// WithRetryOn sets what is worth retrying: the statuses of a response, and
// the kinds of a failure without one (default DefaultRetryStatuses and
// DefaultRetryKinds). A request that may have reached the server is retried
// only if its method is idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE)
// or WithRetryUnsafe is given; one that failed to connect never reached it.
func WithRetryOn(statuses []int, kinds ...Kind) Option {
	return func(s *settings) { s.retryStatuses, s.retryKinds = statuses, kinds }
}

// WithRetryUnsafe lets Fetch retry POST, PATCH and other methods that may
// not be repeated safely, for APIs that make them idempotent themselves.
func WithRetryUnsafe() Option { return func(s *settings) { s.retryUnsafe = true } }

// WithMaxRetryWait caps the wait before a retry (default
// DefaultMaxRetryWait), whether it comes from the backoff or from the
// server's Retry-After. 0 retries at once.
func WithMaxRetryWait(d time.Duration) Option {
	return func(s *settings) { s.maxRetryWait = max(d, 0) }
}

// WithConnectTimeout limits how long Fetch's own client waits for a
// connection (default DefaultConnectTimeout; 0 leaves it to the operating
// system, which on Linux gives up after about two minutes). It does not
// apply with WithClient.
func WithConnectTimeout(d time.Duration) Option {
	return func(s *settings) { s.connectTimeout = max(d, 0) }
}

// WithMaxRedirects sets how many redirects Fetch's own client follows before
// it gives up with a redirect record (default DefaultMaxRedirects; 0 follows
// none and records the redirect response itself). It does not apply with
// WithClient.
func WithMaxRedirects(n int) Option { return func(s *settings) { s.maxRedirects = max(n, 0) } }
