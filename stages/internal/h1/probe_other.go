//go:build !unix

package h1

// idleOK reports whether c may carry a request. Here the socket cannot
// be asked without waiting: a connection the server closed while idle is
// found when a request on it fails (see stale).
func (c *conn) idleOK() bool { return true }
