package stages

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// WithPerHost limits Fetch to n requests in flight per host (host and port),
// on top of the overall limit of WithConcurrency. A host at its limit makes
// only its own requests wait: requests to other hosts go on. 0, the
// default, means no per-host limit.
func WithPerHost(n int) Option {
	nonNegative("WithPerHost", n)
	return set(optPerHost, func(s *settings) { s.perHost = n })
}

// WithRate limits how many requests Fetch starts, overall: n per period,
// evenly spaced (WithRate(50, time.Second), WithRate(3000, time.Minute)).
// Retries count too. Requests wait for their turn without holding a slot
// of the concurrency limit. n of 0 means no limit. Panics if n is negative,
// or if n is positive and per is not.
func WithRate(n int, per time.Duration) Option {
	r := limit("WithRate", n, per)
	return set(optRate, func(s *settings) { s.rate = r })
}

// WithHostRate is WithRate for each host on its own.
func WithHostRate(n int, per time.Duration) Option {
	r := limit("WithHostRate", n, per)
	return set(optHostRate, func(s *settings) { s.hostRate = r })
}

// WithBurst lets up to n requests start at once under WithRate and
// WithHostRate, after a quiet spell, instead of evenly spaced (default 1).
// Panics if n < 1.
func WithBurst(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("stages.WithBurst: n must be at least 1, not %d", n))
	}
	return set(optBurst, func(s *settings) { s.burst = n })
}

// limit returns n per period as a rate per second, or panics, naming the
// option, on a rate that means nothing.
func limit(option string, n int, per time.Duration) float64 {
	nonNegative(option, n)
	if n == 0 {
		return 0
	}
	if per <= 0 {
		panic(fmt.Sprintf("stages.%s: the period must be positive, not %v", option, per))
	}
	return float64(n) / per.Seconds()
}

// WithBudget makes Fetch draw on b for its limits, in place of its own:
// b's overall limits bound the requests in flight and their start rate,
// and its per-key limits apply to each host (host and port, as
// "example.com:443"). Give the same Budget to several Fetch stages, or to
// other scheduled stages, and they share it: with 4 per host, at most 4
// requests to a host are in flight across all of them. It does not go
// with WithConcurrency, WithPerHost, WithRate, WithHostRate and WithBurst,
// which set up Fetch's own budget; Fetch panics when given both.
func WithBudget(b *pipeline.Budget) Option {
	if b == nil {
		panic("stages.WithBudget: nil Budget")
	}
	return set(optBudget, func(s *settings) { s.budget = b })
}

// WithObserver makes Fetch report each request's progress to observe:
// waiting on a limit, started, retried after a wait, done (see
// pipeline.Event, whose Seq is the Request's place in Fetch's input, and
// whose Key is the host when Fetch keys its limits by host). observe is
// called one event at a time, in order, and must be quick.
func WithObserver(observe func(pipeline.Event)) Option {
	return set(optObserver, func(s *settings) { s.observe = observe })
}

// WithAutoThrottle makes Fetch find how many requests each host takes at
// once, rather than be told: per host, the number in flight starts at 2,
// doubles while answers come well, is cut when the host refuses requests
// (429, 503; a 502, a 504, a connection refused or reset before the
// host answered, on an item's first try, as one whose every try fails
// says more of the item than of the load) or its answers slow down to
// twice their usual time, and then grows back (see pipeline.Adaptive).
// A try that failed for reasons of its own (a 404, a connection broken in
// a body) is not taken for how fast the host answers. It stays within
// WithConcurrency overall, and WithPerHost is its ceiling; a Retry-After
// on a refusal pauses the host for as long as it asks, up to
// WithMaxRetryWait.
// WithObserver hears each change of a host's limit (pipeline.EventLimits).
func WithAutoThrottle() Option {
	return set(optAutoThrottle, func(s *settings) { s.autoThrottle = true })
}

// newBudget returns the budget Fetch draws on: the one given, or its own
// from the limit options.
func (s *settings) newBudget() *pipeline.Budget {
	if s.budget != nil {
		return s.budget
	}
	overall := pipeline.Limits{InFlight: s.concurrencyOr(DefaultConcurrency), Rate: s.rate, Burst: s.burst}
	var perHost func(string) pipeline.Limits
	if s.perHost > 0 || s.hostRate > 0 {
		host := pipeline.Limits{InFlight: s.perHost, Rate: s.hostRate, Burst: s.burst}
		perHost = func(string) pipeline.Limits { return host }
	}
	if s.autoThrottle {
		return pipeline.NewBudget(overall, perHost, pipeline.WithAdaptive(pipeline.Adaptive{}))
	}
	return pipeline.NewBudget(overall, perHost)
}

// untimed reports whether rec's try failed for reasons of its own, so
// that its time says nothing of how fast its host answers, as an adaptive
// budget hears it (Task.Untimed): a 404, a connection broken in a body, a
// body too large, a request that was never sent, a 502 (the time of a
// gateway that had no answer). A try that timed out took long by the
// host's doing (see timedOut), as did a 5xx or a 408, which speak of the
// host's state; one whose body is not what was asked for was answered in
// full.
func untimed(rec *Record) bool {
	if rec.Err == nil {
		return false
	}
	switch rec.Err.Kind {
	case KindTimeout, KindDecode:
		return false
	case KindHTTPStatus:
		return (rec.Status < 500 && rec.Status != http.StatusRequestTimeout) || rec.Status == http.StatusBadGateway
	}
	return true
}

// timedOut reports whether rec's try went nowhere in its time, as an
// adaptive budget hears it (Task.TimedOut): a timeout, before the server
// sent a status or in a body that trickles or stalls. Taken for answers,
// the body timeouts of a host that sends headers and then nothing grew
// its limit to -c.
func timedOut(rec *Record) bool {
	return rec.Err != nil && rec.Err.Kind == KindTimeout
}

// refused reports whether rec, of an item's try'th try, says its host
// refused the request for overload, as an adaptive budget hears it
// (Task.Refused). A 429 or 503 says so on any try. A 502 or 504, a
// gateway whose upstream failed or did not answer in time, says so on an
// item's first try: a gateway shedding load answers them by the hundred,
// at once or after its own timeout, and taken for answers their times
// set the host's usual time (a 502 in 100 µs) or were learnt as it (a
// 504 after 1 s), so that the host was never held down; on the item's
// retries they say more of the item. A connection refused or reset says
// so only before the server answered, and only on an item's first try. A
// server that has begun an answer (a status, headers) took the request:
// a connection broken in its body says nothing of the load, and cut the
// limit by 30% for each such URL. And on its retries a broken connection
// says more of the item than of the load, as an item whose request breaks
// the server's handler fails every try, and each would cut its host's
// limit again, down to one for all its other items (5 such URLs among
// 1,500 took a run from 0.6 s to 35 s).
func refused(rec *Record, try int) bool {
	if rec.Err == nil {
		return false
	}
	switch rec.Err.Kind {
	case KindHTTPStatus:
		switch rec.Status {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			return true
		case http.StatusBadGateway, http.StatusGatewayTimeout:
			return try == 1
		}
		return false
	case KindConnect, KindNetwork:
		return try == 1 && rec.Status == 0
	}
	return false
}

// WithRetries sets how many times Fetch retries a request that failed in a
// way worth retrying (see WithRetryOn), after a backoff (default
// DefaultRetries; 0 for none). The record's Attempts counts them all.
// Panics if n is negative.
func WithRetries(n int) Option {
	nonNegative("WithRetries", n)
	return set(optRetries, func(s *settings) { s.retries = n })
}

// WithRetryOn sets what is worth retrying: the statuses of a response, and
// the kinds of a failure without one, among RetryableKinds (default
// DefaultRetryStatuses and DefaultRetryKinds). A request that may have
// reached the server is retried only if its method is idempotent (GET,
// HEAD, OPTIONS, TRACE, PUT, DELETE) or WithRetryUnsafe is given; one that
// failed to connect never reached it. WithRetryOn panics on a kind that
// another attempt cannot mend, and on a status outside 100-599.
func WithRetryOn(statuses []int, kinds ...Kind) Option {
	for _, st := range statuses {
		if st < 100 || st > 599 {
			panic(fmt.Sprintf("stages.WithRetryOn: %d is not an HTTP status", st))
		}
	}
	for _, k := range kinds {
		if !slices.Contains(RetryableKinds(), k) {
			panic(fmt.Sprintf("stages.WithRetryOn: %q is not a kind worth retrying; RetryableKinds lists those that are", k))
		}
	}
	statuses, kinds = slices.Clone(statuses), slices.Clone(kinds)
	return set(optRetryOn, func(s *settings) { s.retryStatuses, s.retryKinds = statuses, kinds })
}

// WithRetryPolicy replaces Fetch's decision to retry, for rules the retry
// options cannot express: policy is called after every attempt that failed
// and says whether to try again and after how long (see RetryPolicy). The
// options WithRetries, WithRetryOn, WithRetryUnsafe and WithMaxRetryWait
// make those rules, so they do not go with it.
func WithRetryPolicy(policy RetryPolicy) Option {
	if policy == nil {
		panic("stages.WithRetryPolicy: nil policy")
	}
	return set(optRetryPolicy, func(s *settings) { s.retryPolicy = policy })
}

// WithRetryUnsafe lets Fetch retry POST, PATCH and other methods that may
// not be repeated safely, for APIs that make them idempotent themselves.
func WithRetryUnsafe() Option { return set(optRetryUnsafe, func(s *settings) { s.retryUnsafe = true }) }

// WithMaxRetryWait caps the wait before a retry (default
// DefaultMaxRetryWait), whether it comes from the backoff or from the
// server's Retry-After. 0 retries at once. Panics if d is negative.
func WithMaxRetryWait(d time.Duration) Option {
	nonNegative("WithMaxRetryWait", d)
	return set(optMaxRetryWait, func(s *settings) { s.maxRetryWait = d })
}

// WithConnectTimeout limits how long Fetch's own client waits for a
// connection (default DefaultConnectTimeout; 0 leaves it to the operating
// system, which on Linux gives up after about two minutes). It sets up
// Fetch's own client, so it does not go with WithClient. Panics if d is
// negative.
func WithConnectTimeout(d time.Duration) Option {
	nonNegative("WithConnectTimeout", d)
	return set(optConnectTimeout, func(s *settings) { s.connectTimeout = d })
}

// WithMaxRedirects sets how many redirects Fetch's own client follows before
// it gives up with a redirect record (default DefaultMaxRedirects; 0 follows
// none and records the redirect response itself). It sets up Fetch's own
// client, so it does not go with WithClient. Panics if n is negative.
func WithMaxRedirects(n int) Option {
	nonNegative("WithMaxRedirects", n)
	return set(optMaxRedirects, func(s *settings) { s.maxRedirects = n })
}

// WithTrustRedirects makes Fetch's own client send every header of a
// request on after a redirect, wherever it leads, as curl's
// --location-trusted does. Without it, a redirect to another origin (a
// scheme, host or port other than the request's) carries only headers
// that hold no secret (Accept, Content-Type, User-Agent and their like),
// so that an Authorization, a Cookie or an X-Api-Key never leaves the
// origin it was given for. It sets up Fetch's own client, so it does not go
// with WithClient, whose own redirect policy applies.
func WithTrustRedirects() Option {
	return set(optTrustRedirects, func(s *settings) { s.trustRedirects = true })
}

// WithGrace gives the requests in flight when the run's context is
// cancelled d more to finish, and their own records, before they are cut
// short as canceled (default 0: at once). Reading stops at the cancel, and
// items not yet started get canceled records then, grace or not. A run
// that ends at its context's deadline gets no grace: a deadline is a
// deadline. Panics if d is negative.
func WithGrace(d time.Duration) Option {
	nonNegative("WithGrace", d)
	return set(optGrace, func(s *settings) { s.grace = d })
}
