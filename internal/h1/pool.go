package h1

import (
	"context"
	"net"
	"net/http"
	"syscall"
	"time"
)

// checkAfter is how long a connection sits idle before it is checked,
// for a request that may be sent twice, before reuse: the check costs a
// system call (2-3 us of a 12 us round trip on loopback), and servers
// close idle connections after seconds (Node and Apache after 5, nginx
// after 75). One closed sooner costs such a request a second try (see
// stale). A request that may not be sent twice always has the check.
const checkAfter = time.Second

// conn returns a connection to addr for req: the one most recently put
// back idle, or a new one.
func (t *Transport) conn(ctx context.Context, addr string, req *http.Request) (*conn, error) {
	replay := replayable(req)
	for {
		c := t.takeIdle(addr)
		if c == nil {
			break
		}
		if (replay && time.Since(c.idleAt) < checkAfter) || c.idleOK() {
			c.br = t.reader(c)
			return c, nil
		}
		c.close()
	}
	dial := t.DialContext
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	// The dial runs on a goroutine of its own, which ends with it: its
	// call chain is deep enough to double the stack of the goroutine
	// that runs it, and the caller's stays that size for as long as the
	// request waits (10,000 requests in flight: 160 MB of stack against
	// 83 MB).
	done := make(chan dialed, 1)
	go func() {
		nc, err := dial(ctx, "tcp", addr)
		done <- dialed{nc, err}
	}()
	d := <-done
	nc, err := d.nc, d.err
	if err != nil {
		return nil, err
	}
	c := &conn{t: t, nc: nc, addr: addr}
	if sc, ok := nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.br = t.reader(c)
	return c, nil
}

// takeIdle takes addr's most recently used idle connection, or returns
// nil. The most recent is the likeliest still open at the server's end;
// one idle too long is closed, and with it every older one.
func (t *Transport) takeIdle(addr string) *conn {
	t.mu.Lock()
	list := t.idle[addr]
	if len(list) == 0 {
		t.mu.Unlock()
		return nil
	}
	c := list[len(list)-1]
	list[len(list)-1] = nil
	list = list[:len(list)-1]
	t.nidle--
	var expired []*conn
	if t.IdleConnTimeout > 0 && time.Since(c.idleAt) > t.IdleConnTimeout {
		expired = append(list, c)
		t.nidle -= len(list)
		list, c = nil, nil
	}
	if len(list) == 0 {
		delete(t.idle, addr)
	} else {
		t.idle[addr] = list
	}
	t.mu.Unlock()
	for _, old := range expired {
		old.close()
	}
	if c != nil {
		c.reused = true
	}
	return c
}

// putIdle keeps c for a later request to its host, or closes it where
// the caps allow no more.
func (t *Transport) putIdle(c *conn) {
	t.readers.Put(c.br) // an idle connection needs no buffer: nothing is left in it
	c.br = nil
	c.idleAt = time.Now()
	perHost := t.MaxIdleConnsPerHost
	if perHost == 0 {
		perHost = 2
	}
	t.mu.Lock()
	list := t.idle[c.addr]
	if len(list) >= perHost || (t.MaxIdleConns > 0 && t.nidle >= t.MaxIdleConns) {
		t.mu.Unlock()
		c.close()
		return
	}
	if t.idle == nil {
		t.idle = make(map[string][]*conn)
	}
	t.idle[c.addr] = append(list, c)
	t.nidle++
	t.mu.Unlock()
}

// dialed is the outcome of a dial.
type dialed struct {
	nc  net.Conn
	err error
}
