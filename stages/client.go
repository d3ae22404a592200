package stages

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fetchpipe/fetchpipe/stages/internal/h1"
)

// fileReserve is how many open files, of the process's limit, a fetch
// leaves to what is not a connection: standard streams, input and output
// files, DNS lookups, a connection being closed while its successor opens.
const fileReserve = 64

// MaxConcurrency returns the most requests this process can have in
// flight at once, each on a connection of its own, within its open-file
// limit (less a reserve for what is not a connection), or 0 where it
// cannot tell. A Fetch given more fails requests with "too many open
// files" once that many are in flight; the command refuses a -c above it.
func MaxConcurrency() int {
	limit := openFileLimit()
	if limit == 0 {
		return 0
	}
	return max(limit-fileReserve, 1)
}

// newClient returns the client Fetch shares across all its requests, tuned
// for many requests at once to many hosts: idle connections are kept per
// host up to the concurrency, so that keep-alive actually saves the
// handshakes, and HTTP/2 is used where the server offers it.
//
// Idle connections are capped overall too, so that connections in use and
// idle ones stay within the open-file limit: a run over many hosts would
// otherwise keep idle connections to each, until a dial failed with "too
// many open files".
func newClient(s *settings) *http.Client {
	concurrency := s.concurrencyOr(DefaultConcurrency)
	dialer := &net.Dialer{
		Timeout:   s.connectTimeout,
		KeepAlive: 30 * time.Second,
	}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true, // a custom DialContext turns HTTP/2 off otherwise
		MaxIdleConns:          idleCap(concurrency, openFileLimit()),
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		TLSClientConfig:       s.tls.Clone(), // nil: the defaults
		ExpectContinueTimeout: time.Second,
		// Requests are small; a small write buffer saves memory on every
		// one of thousands of open connections.
		WriteBufferSize: 1 << 10,
		ReadBufferSize:  readBuffer(concurrency),
	}
	// Plain http:// requests are made by a transport that spends no
	// goroutine of its own on them (net/http's spends two a connection):
	// with thousands in flight, their stacks were most of the memory.
	h := &h1.Transport{
		Fallback:            t,
		Proxy:               t.Proxy,
		DialContext:         t.DialContext,
		MaxIdleConns:        t.MaxIdleConns,
		MaxIdleConnsPerHost: t.MaxIdleConnsPerHost,
		IdleConnTimeout:     t.IdleConnTimeout,
		ReadBufferSize:      t.ReadBufferSize,
		WriteBufferSize:     t.WriteBufferSize,
	}
	check := checkRedirect(s.maxRedirects, s.trustRedirects)
	if s.traces(TraceRedirect) {
		check = traced(check, s.trace)
	}
	return &http.Client{Transport: h, CheckRedirect: check}
}

// errRedirect marks a redirect that Fetch refused to follow.
type errRedirect struct{ msg string }

func (e *errRedirect) Error() string { return e.msg }

// checkRedirect stops at a loop, which would otherwise only end at the
// redirect limit, at that limit, and at a redirect to a URL that is not
// HTTP. With a limit of 0 the redirect response itself is the answer.
// Unless trusted, it keeps the request's credentials at their origin (see
// keepCredentialsHome).
func checkRedirect(limit int, trusted bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if limit == 0 {
			return http.ErrUseLastResponse
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return &errRedirect{fmt.Sprintf("redirect to %s, which is not an http or https URL", redactURL(req.URL))}
		}
		if bad := checkParsed(req.URL, redactURL(req.URL)); bad != nil {
			// A port out of range, no host: what an input URL is refused
			// for, a redirect is refused for, rather than tried thrice.
			return &errRedirect{"redirect refused: " + bad.Message}
		}
		next := req.URL.String()
		for _, prev := range via {
			if prev.URL.String() == next {
				return &errRedirect{fmt.Sprintf("redirect loop: %s leads back to itself after %d redirects", redactURL(req.URL), len(via))}
			}
		}
		// via holds the requests made so far: the first, then one per
		// redirect followed.
		if len(via) > limit {
			return &errRedirect{fmt.Sprintf("stopped after %d redirects", limit)}
		}
		if trusted {
			// net/http drops Authorization and Cookie for another host
			// name itself: trusted, they go on all the same.
			for k, v := range via[0].Header {
				if _, ok := req.Header[k]; !ok {
					req.Header[k] = v
				}
			}
			// The URL's own user info becomes an Authorization on a copy
			// net/http makes of the first request, not on the first
			// request itself: it goes on here.
			if u := via[0].URL.User; u != nil && req.Header.Get("Authorization") == "" {
				pw, _ := u.Password()
				req.SetBasicAuth(u.Username(), pw)
			}
		} else {
			keepCredentialsHome(req, via[0])
		}
		return nil
	}
}

// keepCredentialsHome drops from req, a redirect, every header that may
// carry a credential when req goes to another origin than first: another
// scheme, host or port. net/http drops Authorization and Cookie only when
// the host name changes, so they went on to another port of the host, and
// from https down to plain http; and it sends any other header, such as
// an X-Api-Key, anywhere. Here only headers known to carry none go on:
// what may not be sent on is not sent on.
func keepCredentialsHome(req, first *http.Request) {
	if sameOrigin(req.URL, first.URL) {
		return
	}
	for k := range req.Header {
		if !harmlessHeaders[k] {
			delete(req.Header, k)
		}
	}
}

// harmlessHeaders may follow a redirect anywhere: they describe what the
// client can take, or what it sends, and carry no secret.
var harmlessHeaders = map[string]bool{
	"Accept": true, "Accept-Charset": true, "Accept-Encoding": true, "Accept-Language": true,
	"Cache-Control": true, "Content-Language": true, "Content-Type": true, "Pragma": true,
	"If-Match": true, "If-Modified-Since": true, "If-None-Match": true, "If-Range": true,
	"If-Unmodified-Since": true, "Range": true, "User-Agent": true,
	// Not Referer, which net/http sets to the URL redirected from, whose
	// query may hold an api_key.
}

// sameOrigin reports whether a and b have one scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

// port returns u's port, or its scheme's default.
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// readBuffer is the size of each connection's read buffer with
// concurrency connections. The buffer lives as long as its connection in
// net/http's Transport, and while a request is on it in h1's: one for each
// request in flight, and in net/http's for each idle connection too. A
// response's headers and a small body fit in 4 KiB, read in one system
// call. A body read into a buffer as large as this one's passes it by, so
// a smaller one costs a read per response beyond its first bytes, not per
// byte: about a microsecond, worth paying where thousands of requests are
// in flight and memory, not CPU, is what runs out (30 MB at 10,000).
func readBuffer(concurrency int) int {
	if concurrency > 1024 {
		return 1 << 10
	}
	return 4 << 10
}

// idleCap is the most idle connections each of the client's two
// transports (h1's for http, net/http's for https) should keep, with
// concurrency connections in use and an open-file limit (0 if unknown): as
// many as may be in use, within half what the limit leaves, since a run
// over many hosts of both schemes fills both.
func idleCap(concurrency, limit int) int {
	n := concurrency
	if limit > 0 {
		n = min(n, (limit-concurrency-fileReserve)/2)
	}
	return max(n, 1) // 0 would mean no cap at all
}

// traced reports each redirect that check lets through to trace.
func traced(check func(*http.Request, []*http.Request) error, trace func(Trace)) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		err := check(req, via)
		if it := traceItemOf(req.Context()); err == nil && it != nil {
			trace(Trace{Event: TraceRedirect, Seq: it.seq, URL: it.url, Try: it.try, To: redactURL(req.URL)})
		}
		return err
	}
}
