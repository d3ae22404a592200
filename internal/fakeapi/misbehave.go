package fakeapi

import (
	"bytes"
	"compress/gzip"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The answers in this file are the ways real APIs go wrong that a bulk
// fetcher must survive: a login or CDN page where JSON was expected, a body
// cut short, a decompression bomb, a server that stalls mid-body, and a
// connection torn down mid-response.

// htmlBody is what a captive portal or CDN challenge looks like to a client
// that asked for JSON: status 200, and not JSON.
const htmlBody = `<!DOCTYPE html>
<html><head><title>Just a moment...</title></head>
<body><h1>Checking your browser before accessing the site.</h1>
<p>Please enable JavaScript and cookies to continue.</p></body></html>
`

// badJSONBody is a body cut off mid-object.
const badJSONBody = `{"truncated": `

// bombChunk is what the bomb inflates to, written over and over.
var bombChunk = bytes.Repeat([]byte{'0'}, 32<<10)

// bomb streams a gzip body that inflates to n bytes: a JSON string of zeros
// (n >= 2), so a client that reads it all sees valid JSON and only a size
// limit saves it. The compressed stream is produced as it is sent; the
// server never holds more than one chunk. Content-Encoding is sent whatever
// the request accepted, as a hostile server would.
func (h *Handler) bomb(w http.ResponseWriter, n int64) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Encoding", "gzip")
	h.stats.status(http.StatusOK)
	w.WriteHeader(http.StatusOK)
	// Headers go out at once: a client is judged on what it does with the
	// body, not on how long the server takes to fill its first buffer.
	_ = http.NewResponseController(w).Flush()
	zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression) // the level is valid
	defer zw.Close()
	quote := n >= 2
	if quote {
		n -= 2
		if _, err := zw.Write([]byte{'"'}); err != nil {
			return
		}
	}
	for n > 0 {
		c := bombChunk[:min(n, int64(len(bombChunk)))]
		if _, err := zw.Write(c); err != nil {
			return // the client stopped reading, which is the point
		}
		// Push each chunk out rather than fill buffers first, so that the
		// client sees the bomb inflate at the speed of the network, not of
		// the compressor.
		if zw.Flush() != nil || http.NewResponseController(w).Flush() != nil {
			return
		}
		n -= int64(len(c))
	}
	if quote {
		_, _ = zw.Write([]byte{'"'})
	}
}

// trickleEvery is slow enough to trip any sane read timeout and fast enough
// that a test sees bytes arrive.
const trickleEvery = 100 * time.Millisecond

// trickle sends headers, then one space every trickleEvery, until the client
// goes away. Spaces are JSON whitespace, so a streaming decoder keeps waiting
// for a value that never comes.
func (h *Handler) trickle(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/json")
	h.stats.status(http.StatusOK)
	w.WriteHeader(http.StatusOK)
	t := time.NewTicker(trickleEvery)
	defer t.Stop()
	for {
		if _, err := w.Write([]byte{' '}); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
}

// reset promises the whole body in Content-Length, sends half of it, then
// closes the socket with SO_LINGER 0 so the kernel sends RST instead of FIN:
// the client sees "connection reset by peer", not a clean end of stream.
func (h *Handler) reset(w http.ResponseWriter, body []byte) {
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	h.stats.status(http.StatusOK)
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(body[:len(body)/2]); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
