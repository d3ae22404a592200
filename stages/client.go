package stages

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// newClient returns the client Fetch shares across all its requests, tuned
// for many requests at once to many hosts: idle connections are kept per
// host up to the concurrency, so that keep-alive actually saves the
// handshakes, and HTTP/2 is used where the server offers it.
func newClient(concurrency int, connectTimeout time.Duration, maxRedirects int) *http.Client {
	dialer := &net.Dialer{
		Timeout:   connectTimeout,
		KeepAlive: 30 * time.Second,
	}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true, // a custom DialContext turns HTTP/2 off otherwise
		MaxIdleConns:          0,    // no overall cap: the per-host cap is the one that matters
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Requests are small; a small write buffer saves memory on every
		// one of thousands of open connections.
		WriteBufferSize: 1 << 10,
		ReadBufferSize:  4 << 10,
	}
	return &http.Client{Transport: t, CheckRedirect: checkRedirect(maxRedirects)}
}

// errRedirect marks a redirect that Fetch refused to follow.
type errRedirect struct{ msg string }

func (e *errRedirect) Error() string { return e.msg }

// checkRedirect stops at a loop, which would otherwise only end at the
// redirect limit, and at that limit. With a limit of 0 the redirect
// response itself is the answer.
func checkRedirect(limit int) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if limit == 0 {
			return http.ErrUseLastResponse
		}
		next := req.URL.String()
		for _, prev := range via {
			if prev.URL.String() == next {
				return &errRedirect{fmt.Sprintf("redirect loop: %s leads back to itself after %d redirects", redactURL(req.URL), len(via))}
			}
		}
		if len(via) >= limit {
			return &errRedirect{fmt.Sprintf("stopped after %d redirects", limit)}
		}
		return nil
	}
}
