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

// DefaultRetryStatuses are the statuses retried by default: too many
// requests, and a gateway or server that is briefly down.
var DefaultRetryStatuses = []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// DefaultRetryKinds are the failures retried by default: those where the
// server may well answer the next time.
var DefaultRetryKinds = []Kind{KindConnect, KindTimeout, KindNetwork}

// retryPolicy says which outcomes are worth another attempt.
type retryPolicy struct {
	statuses map[int]bool
	kinds    map[Kind]bool
}

func newRetryPolicy(statuses []int, kinds []Kind) retryPolicy {
	p := retryPolicy{statuses: make(map[int]bool, len(statuses)), kinds: make(map[Kind]bool, len(kinds))}
	for _, s := range statuses {
		p.statuses[s] = true
	}
	for _, k := range kinds {
		p.kinds[k] = true
	}
	return p
}

// wants reports whether rec, the outcome of an attempt, should be tried
// again. A request that may have reached the server is retried only when
// its method is idempotent, or when unsafe retries were asked for; a failed
// connection never reached it.
func (p retryPolicy) wants(rec *Record, method string, unsafe bool) bool {
	if rec.Err == nil {
		return false
	}
	switch rec.Err.Kind {
	case KindHTTPStatus:
		if !p.statuses[rec.Status] {
			return false
		}
	case KindCanceled, KindInvalidInput:
		return false
	default:
		if !p.kinds[rec.Err.Kind] {
			return false
		}
		if rec.Err.Kind == KindConnect {
			return true
		}
	}
	return unsafe || idempotent(method)
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
