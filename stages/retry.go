package stages

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry defaults: a couple of tries rides out a blip or a brief overload,
// and a server that asks for more than half a minute is not coming back
// soon enough for a bulk run to wait on it.
const (
	DefaultRetries      = 2
	DefaultMaxRetryWait = 30 * time.Second
)

// retryBase is the first backoff ceiling; each retry doubles it, up to
// maxBackoff, a day, which keeps the arithmetic far from overflow.
const (
	retryBase  = 250 * time.Millisecond
	maxBackoff = 24 * time.Hour
)

// DefaultRetryStatuses returns the statuses retried by default: too many
// requests, and a gateway or server that is briefly down.
func DefaultRetryStatuses() []int {
	return []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
}

// DefaultRetryKinds returns the failures retried by default: those where
// the server may well answer the next time.
func DefaultRetryKinds() []Kind { return []Kind{KindConnect, KindTimeout, KindNetwork} }

// RetryableKinds returns the kinds of failure that WithRetryOn takes: those
// where another attempt may go otherwise. The others (invalid input, a
// body too large or not decodable, a redirect loop, a cancel) would only
// fail again.
func RetryableKinds() []Kind {
	return []Kind{KindDNS, KindConnect, KindTLS, KindTimeout, KindNetwork}
}

// A RetryPolicy decides, after an attempt of Fetch that failed, whether to
// try the request again and after how long. rec is the attempt's record:
// rec.Attempts counts the attempts so far, rec.Err says what went wrong and
// rec.Status what the server answered, if it did. req is the item, with
// its Method set to the one the request was made with. retryAfter is the
// wait the server asked for in a Retry-After header, 0 when it asked none.
//
// A request waiting for its retry holds no slot of Fetch's limits, and
// Fetch never retries once the run is cancelled. A policy is called from
// several goroutines at once.
type RetryPolicy func(req *Request, rec *Record, retryAfter time.Duration) (wait time.Duration, retry bool)

// retryRules are the rules of Fetch's default policy, which the retry
// options set.
type retryRules struct {
	retries  int
	statuses map[int]bool
	kinds    map[Kind]bool
	unsafe   bool
	maxWait  time.Duration
}

func newRetryRules(s *settings) *retryRules {
	r := &retryRules{
		retries:  s.retries,
		statuses: make(map[int]bool, len(s.retryStatuses)),
		kinds:    make(map[Kind]bool, len(s.retryKinds)),
		unsafe:   s.retryUnsafe,
		maxWait:  s.maxRetryWait,
	}
	for _, st := range s.retryStatuses {
		r.statuses[st] = true
	}
	for _, k := range s.retryKinds {
		r.kinds[k] = true
	}
	return r
}

// policy is Fetch's default RetryPolicy: up to the retries asked for, of
// the statuses and kinds asked for, after an exponential backoff with full
// jitter or the server's Retry-After, capped. A request that may have
// reached the server is retried only when its method is idempotent, or
// when unsafe retries were asked for; a failed connection never reached
// it.
func (r *retryRules) policy(req *Request, rec *Record, retryAfter time.Duration) (time.Duration, bool) {
	if rec.Err == nil || rec.Attempts > r.retries {
		return 0, false
	}
	switch rec.Err.Kind {
	case KindHTTPStatus:
		if !r.statuses[rec.Status] {
			return 0, false
		}
	default:
		if !r.kinds[rec.Err.Kind] {
			return 0, false
		}
	}
	if rec.Err.Kind != KindConnect && !r.unsafe && !idempotent(req.Method) {
		return 0, false
	}
	return backoff(rec.Attempts, retryAfter, r.maxWait), true
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// backoff is how long to wait before attempt n+1, after n attempts: the
// server's Retry-After when it gave one, else exponential backoff with full
// jitter (a random wait up to a ceiling that doubles each time), which
// spreads the retries of many requests that failed together. Either is
// capped by limit.
func backoff(n int, retryAfter time.Duration, limit time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, limit)
	}
	ceiling := min(limit, maxBackoff)
	if n < 30 {
		ceiling = min(retryBase<<(n-1), ceiling)
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// parseRetryAfter reads a Retry-After header: a number of seconds, or an
// HTTP date. It returns 0 when there is none or it cannot be read.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || secs > int64(maxBackoff/time.Second) {
			return maxBackoff // more than any cap: the cap decides
		}
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
