package stages

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// An Option configures a stage. Each stage's doc lists the options it
// takes, and it panics when it is given another, or two that exclude each
// other (such as WithBudget and WithConcurrency): an option that would do
// nothing is a mistake, and one found when the stage is made, before a
// single request, is cheaper than a run that quietly ignores it. So each
// stage gets its own option list.
type Option func(*settings)

type settings struct {
	given option // the options given, to check against what a stage takes

	concurrency int
	ordered     bool
	buffer      []pipeline.Option // pipeline.WithBuffer when set, so 0 stays 0

	client   *http.Client
	timeout  time.Duration
	maxBody  int64
	method   string
	header   http.Header
	template string
	decode   *Format // WithDecode: decode in Fetch's workers
	maxDepth int

	budget         *pipeline.Budget
	observe        func(pipeline.Event)
	perHost        int
	rate           float64 // starts per second
	hostRate       float64
	burst          int
	retries        int
	retryPolicy    RetryPolicy
	retryStatuses  []int
	retryKinds     []Kind
	maxRetryWait   time.Duration
	retryUnsafe    bool
	connectTimeout time.Duration
	maxRedirects   int
	trustRedirects bool
	grace          time.Duration
	trace          func(Trace)
	traced         uint8 // the TraceEvents trace hears, as bits
	tls            *tls.Config
	// responseHeaders are lower-case patterns of the response headers
	// to keep in records.
	responseHeaders []headerPattern
	query           *Query
	save            *saver
	spool           *pipeline.Spill[Record]
	autoThrottle    bool
	shard           shard
}

// Defaults, chosen for a polite bulk fetch: enough requests in flight to
// hide latency, not so many that one host sees a flood.
const (
	DefaultConcurrency = 50
	DefaultTimeout     = 30 * time.Second
	DefaultMaxBody     = 16 << 20

	// DefaultConnectTimeout bounds setting up a connection: a host that
	// does not accept one in this time is down or unreachable.
	DefaultConnectTimeout = 10 * time.Second
	DefaultMaxRedirects   = 10
)

// newSettings applies opts for the stage fn, which takes the options in
// takes, and panics if it was given any other (see check).
func newSettings(fn string, takes option, opts []Option) *settings {
	s := &settings{
		timeout:        DefaultTimeout,
		maxBody:        DefaultMaxBody,
		burst:          1,
		retries:        DefaultRetries,
		retryStatuses:  DefaultRetryStatuses(),
		retryKinds:     DefaultRetryKinds(),
		maxRetryWait:   DefaultMaxRetryWait,
		connectTimeout: DefaultConnectTimeout,
		maxRedirects:   DefaultMaxRedirects,
		maxDepth:       DefaultMaxDepth,
	}
	for _, o := range opts {
		o(s)
	}
	s.check(fn, takes)
	return s
}

// stage returns the pipeline options of a stage whose default concurrency
// is def.
func (s *settings) stage(def int) []pipeline.Option {
	opts := []pipeline.Option{pipeline.WithConcurrency(s.concurrencyOr(def))}
	if s.ordered {
		opts = append(opts, pipeline.WithInputOrder())
	}
	return append(opts, s.buffer...)
}

// WithConcurrency sets how many items a stage works on at once: for Fetch,
// the requests in flight (default DefaultConcurrency); for Decode, the
// bodies decoded in parallel (default 1). Panics if n < 1.
func WithConcurrency(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("stages.WithConcurrency: n must be at least 1, not %d", n))
	}
	return set(optConcurrency, func(s *settings) { s.concurrency = n })
}

// WithInputOrder makes a stage emit records in input order rather than as
// they complete. Early records wait in a bounded window: for Fetch, the
// items it holds (see Fetch); for Decode, that of pipeline.WithInputOrder.
func WithInputOrder() Option { return set(optInputOrder, func(s *settings) { s.ordered = true }) }

// WithBuffer sets the capacity of a stage's output channel (default 16);
// 0 makes every hand-off synchronous. Panics if n is negative or over
// pipeline.MaxBuffer.
func WithBuffer(n int) Option {
	if n < 0 || n > pipeline.MaxBuffer {
		panic(fmt.Sprintf("stages.WithBuffer: n must be from 0 to pipeline.MaxBuffer (%d), not %d", pipeline.MaxBuffer, n))
	}
	return set(optBuffer, func(s *settings) { s.buffer = []pipeline.Option{pipeline.WithBuffer(n)} })
}

// WithClient makes Fetch use c instead of a client of its own, for a custom
// transport, proxy or TLS set-up. Fetch sets no timeout on c: its own
// per-attempt timeout applies (WithTimeout). WithConnectTimeout,
// WithMaxRedirects, WithTrustRedirects and WithTLS set up Fetch's own
// client, so they do not go with it; c's own redirect policy applies.
func WithClient(c *http.Client) Option {
	if c == nil {
		panic("stages.WithClient: nil client")
	}
	return set(optClient, func(s *settings) { s.client = c })
}

// WithTimeout limits each attempt of Fetch, from the moment the request
// starts to the end of its body (default DefaultTimeout). 0 means no limit.
// Panics if d is negative.
func WithTimeout(d time.Duration) Option {
	nonNegative("WithTimeout", d)
	return set(optTimeout, func(s *settings) { s.timeout = d })
}

// WithMaxBody caps the body Fetch reads, in bytes (default DefaultMaxBody);
// a larger body ends as a too_large record. 0 means no cap. Panics if n is
// negative.
func WithMaxBody(n int64) Option {
	nonNegative("WithMaxBody", n)
	return set(optMaxBody, func(s *settings) { s.maxBody = n })
}

// WithMethod sets Fetch's method for requests that do not name their own
// (default GET). It panics on a method that is not a token (see
// CheckMethod), which every request would otherwise fail on.
func WithMethod(m string) Option {
	if err := CheckMethod(m); err != nil {
		panic("stages.WithMethod: " + err.Error())
	}
	return set(optMethod, func(s *settings) { s.method = m })
}

// WithHeader adds a header to every request Fetch makes; a Request's own
// header of the same name replaces it. May be given more than once. It
// panics on a name or value that cannot be sent (see CheckHeader).
func WithHeader(key, value string) Option {
	if err := CheckHeader(key, value); err != nil {
		panic("stages.WithHeader: " + err.Error())
	}
	return set(optHeader, func(s *settings) {
		if s.header == nil {
			s.header = make(http.Header)
		}
		s.header.Add(key, value)
	})
}

// WithTemplate makes a line source build each URL from a template: every
// "{}" in t is replaced by the line, escaped for the part of the URL it
// stands in, and every "{raw}" by the line as it is (for a whole URL, or a
// ready query string). A {} in a path is one segment ("/" escaped; a line
// "." or ".." is an invalid_input item), in a query one key or value ("&",
// "=", "+", "#" escaped), and in the host a host name or host:port (any
// other line is an invalid_input item), so that a line never changes the
// shape of the URL. "" means no template. It panics on a template with neither, which would fetch the
// same URL for every line (see CheckTemplate).
func WithTemplate(t string) Option {
	if err := CheckTemplate(t); err != nil {
		panic("stages.WithTemplate: " + err.Error())
	}
	return set(optTemplate, func(s *settings) { s.template = t })
}

// nonNegative panics, naming the option, if v is negative: a negative
// count or duration is a mistake, not a way to say "none".
func nonNegative[T int | int64 | time.Duration](option string, v T) {
	if v < 0 {
		panic(fmt.Sprintf("stages.%s: %v is negative", option, v))
	}
}

// WithTLS gives Fetch's own client the TLS settings c, such as the
// certificate authorities of an internal API (RootCAs), or a client
// certificate; c is copied. It sets up Fetch's own client, so it does
// not go with WithClient.
func WithTLS(c *tls.Config) Option {
	if c == nil {
		panic("stages.WithTLS: nil config")
	}
	c = c.Clone()
	return set(optTLS, func(s *settings) { s.tls = c })
}
