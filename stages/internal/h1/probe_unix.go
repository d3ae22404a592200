//go:build unix

package h1

import (
	"syscall"
)

// idleOK reports whether c, idle until now, may carry a request: the
// server has neither closed it nor sent on it. net/http learns either at
// once from the goroutine it keeps reading every idle connection; without
// one, a read that does not wait asks the socket. It costs a system call
// on each reuse, and spares a request that cannot be sent twice (a POST)
// from failing on a connection the server has hung up, and any request
// from taking an unsolicited answer, such as a 408 a server sends before
// it closes an idle connection, for its own.
func (c *conn) idleOK() bool {
	if c.raw == nil {
		return true
	}
	if c.peek == nil {
		c.peek = c.peekIdle // made once a connection, not once a reuse
	}
	c.peekOK = false
	err := c.raw.Read(c.peek)
	return err == nil && c.peekOK
}

// peekIdle reads from the socket without waiting, and sets peekOK if
// there was nothing to read: on a socket that does not block, that is
// EAGAIN; a hang-up is 0, and anything read is no answer to anything.
func (c *conn) peekIdle(fd uintptr) bool {
	var b [1]byte
	n, err := syscall.Read(int(fd), b[:])
	c.peekOK = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
	return true // never wait for readiness
}
