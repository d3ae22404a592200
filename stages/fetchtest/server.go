package fetchtest

import (
	"fmt"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
)

// A Server is a fake API listening on a loopback address (see the package
// doc for what it serves).
type Server struct {
	// URL is the base URL, "http://127.0.0.1:port", with no trailing slash.
	URL string

	srv *fakeapi.Server
}

// NewServer starts a Server on a free port of 127.0.0.1, or of the address
// WithAddr gives. The caller should Close it when done. It panics if it
// cannot listen, as httptest.NewServer does: a test cannot go on without it.
func NewServer(opts ...Option) *Server {
	c := config{addr: "127.0.0.1:0"}
	for _, o := range opts {
		o(&c)
	}
	srv, err := fakeapi.Start(c.addr, c.api)
	if err != nil {
		panic(fmt.Sprintf("fetchtest: %v", err))
	}
	return &Server{URL: srv.URL(), srv: srv}
}

// Close closes the server's connections, cutting off requests in flight,
// and returns once nothing it started is left running, so that a goroutine
// leak check after it passes. It may be called more than once.
func (s *Server) Close() { _ = s.srv.Close() }

// Stats returns what the server has seen since it started or since Reset.
func (s *Server) Stats() Stats {
	st := s.srv.Handler().Stats()
	return Stats{Requests: st.Requests, InFlight: st.InFlight, PeakInFlight: st.PeakInFlight, ByStatus: st.ByStatus}
}

// Reset zeroes the counts of Stats but InFlight, whose requests are still
// running, restarts PeakInFlight from it, and forgets the count of every
// fail= id, so that one server can serve several cases of a test.
func (s *Server) Reset() { s.srv.Handler().Reset() }

// Stats is what a Server has seen.
type Stats struct {
	Requests     int64         // every request, answered or not
	InFlight     int64         // requests being served now, held by latency, hang or trickle included
	PeakInFlight int64         // the most InFlight has been: how a test checks a limit on requests at once
	ByStatus     map[int]int64 // responses by status sent; a request the client left before a status is in Requests only
}

// An Option configures a Server.
type Option func(*config)

type config struct {
	addr string
	api  fakeapi.Config
}

// WithAddr makes the server listen on addr, such as "127.0.0.2:0" for a
// second host beside the first (any address of 127.0.0.0/8 is loopback on
// Linux; macOS has only 127.0.0.1 unless more are configured).
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithLatency holds each request before it is answered for a time drawn
// from [min, max], once per URL path (default none). A request's latency=
// query overrides it.
func WithLatency(min, max time.Duration) Option {
	return func(c *config) { c.api.Latency.Min, c.api.Latency.Max = min, max }
}

// WithTail makes a fraction rate of URL paths, in [0, 1], slow outliers
// whose latency is factor times their draw (0 means 10): a slow tail,
// always the same paths, for tests of what one slow item holds up.
func WithTail(rate, factor float64) Option {
	return func(c *config) { c.api.Latency.TailRate, c.api.Latency.TailFactor = rate, factor }
}

// WithPosts sets how many posts a listing holds (default 5, about 2 KB of
// JSON). A request's bytes= query overrides it.
func WithPosts(n int) Option { return func(c *config) { c.api.Posts = n } }

// WithSeed chooses one of many equally plausible fake worlds: listings,
// comments and latencies are a function of the seed and the URL (default 0).
func WithSeed(seed uint64) Option { return func(c *config) { c.api.Seed = seed } }
