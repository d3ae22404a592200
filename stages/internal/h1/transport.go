// Package h1 is an HTTP/1.1 client transport that spends no goroutine of
// its own on a request.
//
// net/http's Transport gives every connection two goroutines, one that
// writes requests and one that reads responses, and hands each request
// between them and the caller over channels. With thousands of requests
// in flight their stacks are most of the process's memory (10,000
// requests: 30,000 goroutines and 165 MB of stack; 10,000 and 83 MB
// here), and the hand-offs cost CPU (a request and its 2 KB answer on
// loopback, the server in the same process: 15.0-16.5 us and 57
// allocations through net/http's, 13.7-15.3 us and 37 here). A fetch has a
// goroutine waiting on each request anyway: here that goroutine writes
// the request and reads the response itself, through net/http's own
// Request.Write and ReadResponse, so that the bytes on the wire and their
// parsing are net/http's. What is this package's is only the connection's
// life: when it may be reused, when it must be closed.
//
// It makes plain http:// requests whose bodies are small enough to be
// written whole before the answer is read; everything else (https, with its
// HTTP/2, a request sent through a proxy, an Upgrade, Expect: 100-continue,
// a large body) goes to a fallback RoundTripper, net/http's. It asks for no
// compression and undoes none: the caller's Accept-Encoding, if any, is
// sent as it is, and the body comes back as the server sent it.
package h1

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/idna"
)

// Transport is an http.RoundTripper for plain HTTP/1.1 with keep-alive.
// Its zero value is not usable: Fallback is required. It is safe for
// concurrent use, and like net/http's it should be reused, not made per
// request, so that its idle connections are.
type Transport struct {
	// Fallback makes every request this Transport does not: one whose
	// scheme is not http, one Proxy sends through a proxy, a CONNECT, an
	// Upgrade, one with Expect: 100-continue or with trailers, one whose
	// body is over MaxBody or of unknown length, and one with a Cancel
	// channel (which http.Client sets when it has a Timeout).
	Fallback http.RoundTripper

	// Proxy says which requests go through a proxy (and so to Fallback),
	// as http.Transport's Proxy does. Nil: none.
	Proxy func(*http.Request) (*url.URL, error)

	// DialContext makes connections. Nil: a zero net.Dialer's. A
	// connection that is not a socket of this system (syscall.Conn), and
	// any on a system that is not Unix, is not checked before reuse: a
	// request on one the server closed while idle fails (only one that may
	// be sent twice is sent again), and bytes the server sent while it sat
	// idle (a 408 before it closes it) are read as the request's answer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// MaxIdleConns caps idle connections across all hosts; beyond it, the
	// one idle longest is closed. Zero: no cap.
	MaxIdleConns int

	// MaxIdleConnsPerHost caps each host's idle connections. Zero: 2, as
	// http.DefaultMaxIdleConnsPerHost.
	MaxIdleConnsPerHost int

	// IdleConnTimeout is how long a connection may sit idle and still be
	// reused; one idle longer is closed the next time a connection is
	// taken or put back. Zero: no limit.
	IdleConnTimeout time.Duration

	// MaxResponseHeaderBytes caps the bytes read before a response's body
	// (its 1xx responses' too). Zero: 10 MiB, as net/http's default.
	MaxResponseHeaderBytes int64

	// ReadBufferSize and WriteBufferSize size each connection's buffers.
	// Zero: 4 KiB. A write buffer is lent to a connection only while it
	// writes a request, and a read buffer only while a request is on it.
	ReadBufferSize, WriteBufferSize int

	mu        sync.Mutex
	idle      map[string][]*conn // by host:port, in the order they went idle
	lru       idleList           // all of them, in that order
	closeIdle bool               // CloseIdleConnections ran, and no request since

	readers, writers sync.Pool
}

// RoundTrip makes req on a connection of its own, reused from an earlier
// request to the host where one is idle, or hands it to Fallback. The
// response's body must be read to its end, or closed, for the connection
// to be reused: a body closed before its end closes the connection rather
// than read on. The end of req's context ends the request wherever it is:
// before it is sent (then it is not), while it dials, writes, waits for
// the response or reads its body (then the connection is closed); the
// error is then the context's cause. Only a Read of req's own body that
// blocks holds it up, as in net/http.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.handles(req) {
		return t.Fallback.RoundTrip(req)
	}
	if err := validate(req); err != nil {
		closeBody(req)
		return nil, err
	}
	ctx := req.Context()
	if ctx.Err() != nil {
		closeBody(req)
		return nil, context.Cause(ctx)
	}
	addr := hostPort(req.URL)
	orig := req
	for fresh := false; ; fresh = true {
		c, err := t.conn(ctx, addr, fresh)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := c.roundTrip(ctx, req)
		if err == nil {
			resp.Request = orig // not the copy a retry wrote
			return resp, nil
		}
		if !c.stale(ctx, req) {
			return nil, err
		}
		// The server closed the connection before it read the request
		// (it had not yet when the check before reuse looked), and said
		// nothing to it: it never saw it. Again, once, on a new one.
		if req, err = rewind(req); err != nil {
			return nil, err
		}
	}
}

// MaxBody is the largest request body Transport writes itself. It writes a
// request whole before it reads the answer, which a request this small
// cannot hold up: whether or not the server reads it, it fits in what the
// two ends' socket buffers take before the sender must wait (on Linux, by
// default, 16 KiB to send and 128 KiB to receive). A larger one goes to
// Fallback, which reads while it writes, so that a server that answers
// early (a 413), or echoes as it reads, gets its answer read.
const MaxBody = 16 << 10

// handles reports whether t makes req itself rather than hand it to
// Fallback.
func (t *Transport) handles(req *http.Request) bool {
	if req.URL == nil || req.URL.Scheme != "http" || req.Method == http.MethodConnect || req.Cancel != nil ||
		len(req.Trailer) > 0 || req.Header["Upgrade"] != nil || req.Header["Expect"] != nil {
		return false
	}
	if req.Body != nil && req.Body != http.NoBody && (req.ContentLength <= 0 || req.ContentLength > MaxBody) {
		return false // of unknown length (0 with a body says so), or large
	}
	if t.Proxy != nil {
		if u, err := t.Proxy(req); u != nil || err != nil {
			return false
		}
	}
	return true
}

// validate refuses what net/http's Transport refuses before a byte is
// sent, in its words: Request.Write alone would send a bad header name.
func validate(req *http.Request) error {
	if req.Header == nil {
		return errors.New("http: nil Request.Header")
	}
	if req.URL.Host == "" {
		return errors.New("http: no Host in request URL")
	}
	if req.Method != "" && !httpguts.ValidHeaderFieldName(req.Method) { // a token, as a header's name is
		return fmt.Errorf("net/http: invalid method %q", req.Method)
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("net/http: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				// The value may be a credential: it is not quoted.
				return fmt.Errorf("net/http: invalid header field value for %q", k)
			}
		}
	}
	return nil
}

// hostPort is the address to dial for u, an http URL.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
	}
	host := u.Hostname()
	if !isASCII(host) {
		// A name in another script is looked up in its ASCII form, as
		// net/http does (bücher.example: xn--bcher-kva.example); one that
		// has none is dialed as it is, and fails there.
		if a, err := idna.Lookup.ToASCII(host); err == nil {
			host = a
		}
	}
	return net.JoinHostPort(host, port)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// rewind returns req ready to be written again: Request.Write has read and
// closed its body.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody() // replayable made sure there is one
	if err != nil {
		return nil, err
	}
	again := *req
	again.Body = body
	return &again, nil
}

// replayable reports whether req may be sent again when it is not known
// whether the server acted on it, by net/http's rule: its body can be had
// again and its method is idempotent, or it carries an idempotency key.
func replayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// CloseIdleConnections closes the connections no request is using, and
// Fallback's. Until the next request, one that a body read to its end
// gives back is closed too.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle, t.lru, t.closeIdle = nil, idleList{}, true
	t.mu.Unlock()
	for _, list := range idle {
		closeAll(list)
	}
	if f, ok := t.Fallback.(interface{ CloseIdleConnections() }); ok {
		f.CloseIdleConnections()
	}
}

func (t *Transport) maxHeaderBytes() int64 {
	if t.MaxResponseHeaderBytes > 0 {
		return t.MaxResponseHeaderBytes
	}
	return 10 << 20
}

// reader lends a read buffer to c.
func (t *Transport) reader(c *conn) *bufio.Reader {
	if br, ok := t.readers.Get().(*bufio.Reader); ok {
		br.Reset(c)
		return br
	}
	return bufio.NewReaderSize(c, cmp.Or(t.ReadBufferSize, 4<<10))
}

// writer lends a write buffer to w.
func (t *Transport) writer(w io.Writer) *bufio.Writer {
	if bw, ok := t.writers.Get().(*bufio.Writer); ok {
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, cmp.Or(t.WriteBufferSize, 4<<10))
}

func (t *Transport) putReader(br *bufio.Reader) {
	br.Reset(nil) // no reference to the connection while pooled
	t.readers.Put(br)
}

func (t *Transport) putWriter(bw *bufio.Writer) {
	bw.Reset(nil) // no reference to the connection while pooled
	t.writers.Put(bw)
}
