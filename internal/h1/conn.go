package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// A conn is one connection, used by one request at a time.
type conn struct {
	t      *Transport
	nc     net.Conn
	raw    syscall.RawConn // nc's socket, where it has one, for idleOK
	addr   string
	br     *bufio.Reader // lent while a request is on the connection
	reused bool          // it had carried a request before this one
	idleAt time.Time

	// read counts the bytes of this request's response read so far; limit
	// is how many more may be read before the body (-1: no limit).
	read, limit int64
}

// Read reads from the connection, within the header limit while one is
// set.
func (c *conn) Read(p []byte) (int, error) {
	if c.limit == 0 {
		return 0, fmt.Errorf("server response headers exceeded %d bytes; aborted", c.t.maxHeaderBytes())
	}
	if c.limit > 0 && int64(len(p)) > c.limit {
		p = p[:c.limit]
	}
	n, err := c.nc.Read(p)
	c.read += int64(n)
	if c.limit > 0 {
		c.limit -= int64(n)
	}
	return n, err
}

func (c *conn) close() { c.nc.Close() }

// roundTrip writes req and reads the head of its response. Until the
// response's body is done with, ctx's end closes the connection: that is
// what unblocks a read or a write in progress.
func (c *conn) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	c.read, c.limit = 0, c.t.maxHeaderBytes()
	stop := context.AfterFunc(ctx, c.close)
	bw := c.t.writer(c.nc)
	err := req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	c.t.putWriter(bw)
	var resp *http.Response
	if err == nil {
		resp, err = c.readResponse(req)
	}
	if err != nil {
		stop()
		c.close()
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, err
	}
	c.limit = -1
	if c.reused && resp.StatusCode == http.StatusRequestTimeout && replayable(req) {
		// A server that gave up on an idle connection may say so before
		// it closes it: the 408 was sent before this request was, and is
		// no answer to it (net/http drops it unread).
		stop()
		c.close()
		return nil, errUnasked
	}
	b := &body{c: c, ctx: ctx, stop: stop, keep: keepAlive(req, resp)}
	if resp.Body == http.NoBody {
		b.finish(true)
		return resp, nil
	}
	b.rc, resp.Body = resp.Body, b
	return resp, nil
}

// max1xx is how many informational responses may come before the final
// one, as in net/http; MaxResponseHeaderBytes counts all their bytes.
const max1xx = 5

// readResponse reads the final response to req, past any 1xx; a 101 is
// final.
func (c *conn) readResponse(req *http.Request) (*http.Response, error) {
	for range max1xx + 1 {
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
	return nil, fmt.Errorf("more than %d informational (1xx) responses", max1xx)
}

// keepAlive reports whether the connection may carry another request once
// resp's body has been read to its end.
func keepAlive(req *http.Request, resp *http.Response) bool {
	return !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols &&
		!hasToken(req.Header["Connection"], "close")
}

func hasToken(values []string, token string) bool {
	for _, v := range values {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// errUnasked is the error of a request answered by a 408 on a reused
// connection.
var errUnasked = errors.New("h1: a 408 Request Timeout sent on the connection while it was idle")

// stale reports whether the error of req on c, a reused connection, came
// from the server having given up on it while it sat idle, before reading
// the request: nothing came back, or only its 408, the context is not why,
// and req may be sent again.
func (c *conn) stale(ctx context.Context, req *http.Request, err error) bool {
	return c.reused && (c.read == 0 || err == errUnasked) && ctx.Err() == nil && replayable(req)
}

// A body is a response's body, which gives its connection back to the
// Transport when read to its end, or closes it when closed before, or
// failed.
type body struct {
	rc   io.ReadCloser // ReadResponse's: knows Content-Length, chunks, trailers
	c    *conn
	ctx  context.Context
	stop func() bool // unregisters the context's closing of c
	keep bool        // the connection may carry another request after this body
	eof  bool        // Read has returned io.EOF
	done atomic.Bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	if b.done.Load() {
		// Closed: the connection is closed, or another request's.
		return 0, errors.New("http: read on closed response body")
	}
	n, err := b.rc.Read(p)
	if err != nil {
		b.eof = err == io.EOF
		b.finish(b.eof)
		if !b.eof && b.ctx.Err() != nil {
			// What closed the connection under the read.
			err = context.Cause(b.ctx)
		}
	}
	return n, err
}

// Close closes the connection unless the body was read to its end: the
// rest of a body nobody wants may be large, or never end.
func (b *body) Close() error {
	b.finish(false)
	return nil
}

// finish gives the connection back, once, if whole is true and it is
// fit to carry another request, or else closes it.
func (b *body) finish(whole bool) {
	if b.done.Swap(true) {
		return
	}
	c := b.c
	if !b.stop() {
		return // the context ended: c is closed or being closed
	}
	if whole && b.keep && c.br.Buffered() == 0 {
		// Bytes beyond the response are no answer to anything: a
		// connection holding some is not reused.
		c.t.putIdle(c)
		return
	}
	c.close()
}
