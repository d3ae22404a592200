package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
)

// A conn is one connection, used by one request at a time.
type conn struct {
	t       *Transport
	nc      net.Conn
	raw     syscall.RawConn // nc's socket, where it has one, for idleOK
	addr    string
	closeFn func()             // c.close, for context.AfterFunc
	peek    func(uintptr) bool // c.peekIdle, for idleOK
	peekOK  bool               // what peek found

	br         *bufio.Reader // lent while a request is on the connection
	reused     bool          // it had carried a request before this one
	idleAt     time.Time
	prev, next *conn // in the Transport's idleList while idle

	// Of the request on the connection: read counts the bytes of its
	// response read so far, and limit how many more may be read before
	// the body (-1: no limit); werr is the network's error on a write;
	// refused says the request could not be written for a reason of its
	// own (its body failed, say), not the connection's.
	read, limit int64
	werr        error
	refused     bool
}

// Read reads from the connection, within the header limit while one is
// set.
func (c *conn) Read(p []byte) (int, error) {
	if c.limit == 0 {
		return 0, fmt.Errorf("net/http: server response headers exceeded %d bytes; aborted", c.t.maxHeaderBytes())
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

// Write writes to the connection, and keeps its error: Request.Write
// reports a write that fails while it copies the body as the body's
// failure, in a type of net/http's own that hides it.
func (c *conn) Write(p []byte) (int, error) {
	n, err := c.nc.Write(p)
	if err != nil && c.werr == nil {
		c.werr = err
	}
	return n, err
}

// ReadFrom writes what r reads, a request's body once the write buffer
// has the head, in writes of up to MaxBody (so one, for a body Transport
// writes at all): through the write buffer, a body would take a system
// call per buffer. r's failure is the body's, Write's the network's.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	bp := bodyBuffers.Get().(*[]byte)
	defer bodyBuffers.Put(bp)
	buf := *bp
	var n int64
	for {
		m, rerr := io.ReadFull(r, buf)
		if m > 0 {
			w, werr := c.Write(buf[:m])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
		}
		switch rerr {
		case nil:
			continue
		case io.EOF, io.ErrUnexpectedEOF:
			return n, nil
		}
		return n, rerr
	}
}

// bodyBuffers lend ReadFrom its buffer for as long as it writes, so that
// there are about as many as bodies being written at once, not as
// connections.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, MaxBody); return &b }}

func (c *conn) close() { c.nc.Close() }

// roundTrip writes req and reads the head of its response. Until the
// response's body is done with, ctx's end closes the connection: that is
// what unblocks a read or a write in progress.
func (c *conn) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	c.read, c.limit, c.werr, c.refused = 0, c.t.maxHeaderBytes(), nil, false
	stop := context.AfterFunc(ctx, c.closeFn)
	var resp *http.Response
	err := ctx.Err()
	if err == nil {
		err = c.write(req)
	} else {
		closeBody(req) // ended while the connection was had: send nothing
	}
	early := false
	switch {
	case err == nil:
		resp, err = c.readResponse(req)
	case c.werr != nil && ctx.Err() == nil:
		// A server may answer before it has read the whole request (a
		// 413) and close, which fails the rest of the write: its answer
		// may be waiting all the same, and is the request's (as far as
		// the check before reuse can tell, as for any answer).
		if r := c.readEarly(req); r != nil {
			resp, err, early = r, nil, true
		}
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
	b := &body{c: c, ctx: ctx, stop: stop, keep: keepAlive(req, resp) && !early}
	if resp.Body == http.NoBody {
		b.finish(true)
		return resp, nil
	}
	b.rc, resp.Body = resp.Body, b
	return resp, nil
}

// earlyWait bounds the read of an answer after a write failed. One sent
// before the connection closed is there already, and a reset or closed
// socket answers at once, so the bound is only for a server that keeps
// the connection half open; it is generous because it runs from when it
// is set, and a goroutine kept from the CPU that long (10,000 requests on
// two cores) would otherwise find it past and not read at all.
const earlyWait = time.Second

// readEarly reads the head of an answer that came before the request was
// written whole, or returns nil.
func (c *conn) readEarly(req *http.Request) *http.Response {
	c.nc.SetReadDeadline(time.Now().Add(earlyWait))
	resp, err := c.readResponse(req)
	c.nc.SetReadDeadline(time.Time{})
	if err != nil {
		return nil
	}
	return resp
}

// write writes req whole.
func (c *conn) write(req *http.Request) error {
	bw := c.t.writer(c)
	err := req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	c.t.putWriter(bw)
	switch {
	case c.werr != nil:
		return c.werr
	case err != nil:
		c.refused = true
	}
	return err
}

// readResponse reads the final response to req, past any 1xx (within the
// header limit, which counts them all); a 101 is final.
func (c *conn) readResponse(req *http.Request) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
}

// keepAlive reports whether the connection may carry another request once
// resp's body has been read to its end.
func keepAlive(req *http.Request, resp *http.Response) bool {
	return !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols &&
		!httpguts.HeaderValuesContainsToken(req.Header["Connection"], "close")
}

// stale reports whether the failure of req on c, a reused connection, came
// from the server having closed it before it read the request: the
// connection failed, not the request, nothing came back, the context is
// not why, and req may be sent again.
func (c *conn) stale(ctx context.Context, req *http.Request) bool {
	return c.reused && !c.refused && c.read == 0 && ctx.Err() == nil && replayable(req)
}

// A body is a response's body, which gives its connection back to the
// Transport when read to its end, or closes it when closed before, or
// failed.
type body struct {
	rc     io.ReadCloser // ReadResponse's: knows Content-Length, chunks, trailers
	c      *conn
	ctx    context.Context
	stop   func() bool // unregisters the context's closing of c
	keep   bool        // the connection may carry another request after this body
	err    error       // what Read returned last, once it returned an error
	closed atomic.Bool // Close was called
	done   atomic.Bool // the connection was given back or closed
}

func (b *body) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errors.New("http: read on closed response body")
	}
	if b.err != nil {
		// Said again: the connection is closed, or another request's.
		return 0, b.err
	}
	n, err := b.rc.Read(p)
	if err != nil {
		if err != io.EOF && b.ctx.Err() != nil {
			// What closed the connection under the read.
			err = context.Cause(b.ctx)
		}
		b.err = err
		b.finish(err == io.EOF)
	}
	return n, err
}

// Close closes the connection unless the body was read to its end: the
// rest of a body nobody wants may be large, or never end.
func (b *body) Close() error {
	b.closed.Store(true)
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
