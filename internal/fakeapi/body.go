package fakeapi

import (
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Every status the Handler sends goes through this file, so that ByStatus is
// counted where the status is decided instead of by wrapping the
// ResponseWriter, which would cost an allocation per request and hide
// Flusher and Hijacker.

// writeBody sends a complete body with its status, gzipped if o asks for it
// and the client accepts it. Plain bodies carry a Content-Length, as a real
// API's would, so a client's length checks are exercised.
func (h *Handler) writeBody(w http.ResponseWriter, r *http.Request, o *options, code int, ctype string, body []byte) {
	if o != nil && o.gzip && bodyAllowed(code) && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		hd := w.Header()
		hd.Set("Content-Type", ctype)
		hd.Set("Content-Encoding", "gzip")
		hd.Set("Vary", "Accept-Encoding")
		h.stats.status(code)
		w.WriteHeader(code)
		zw := gzipPool.Get().(*gzip.Writer)
		zw.Reset(w)
		_, _ = zw.Write(body) // a write error means the client left; nothing to tell it
		_ = zw.Close()
		gzipPool.Put(zw)
		return
	}
	h.stats.status(code)
	writeRaw(w, code, ctype, body)
}

var gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// writeRaw sends body as is; it does not count the status, so the control
// endpoints can use it.
func writeRaw(w http.ResponseWriter, code int, ctype string, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	if !bodyAllowed(code) {
		w.WriteHeader(code)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func bodyAllowed(code int) bool {
	return code != http.StatusNoContent && code != http.StatusNotModified
}

// writeError sends {"error": msg}, msg defaulting to the status text. o, when
// known, adds Retry-After and gzip.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, o *options, code int, msg string) {
	if o != nil && o.retryAfter != "" && code >= 400 {
		w.Header().Set("Retry-After", o.retryAfter)
	}
	h.writeBody(w, r, o, code, "application/json", appendError(nil, code, msg))
}

// overCapacityBody is the answer to a request beyond Config.Capacity. It
// differs from status=429's, so that a test can tell the two apart.
var overCapacityBody = []byte(`{"error":"over capacity"}`)

// refuse answers a request beyond Config.Capacity, with the Config's
// Retry-After if it has one. It never gzips: a front end shedding load
// spends nothing on it.
func (h *Handler) refuse(w http.ResponseWriter) {
	if h.cfg.CapacityRetryAfter != "" {
		w.Header().Set("Retry-After", h.cfg.CapacityRetryAfter)
	}
	h.stats.status(http.StatusTooManyRequests)
	writeRaw(w, http.StatusTooManyRequests, "application/json", overCapacityBody)
}

func appendError(dst []byte, code int, msg string) []byte {
	if msg == "" {
		msg = strings.ToLower(http.StatusText(code))
	}
	if msg == "" {
		msg = "status " + strconv.Itoa(code)
	}
	dst = append(dst, `{"error":`...)
	dst = appendString(dst, msg)
	return append(dst, '}')
}

func (h *Handler) redirect(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	h.stats.status(http.StatusFound)
	writeRaw(w, http.StatusFound, "application/json", nil)
}

// redirectDown sends the client to the same URL with redirect=n-1, keeping
// every other parameter, so a chain ends in whatever the rest of the query
// asks for.
func (h *Handler) redirectDown(w http.ResponseWriter, r *http.Request, n int) {
	q := r.URL.Query()
	q.Set("redirect", strconv.Itoa(n-1))
	h.redirect(w, r.URL.EscapedPath()+"?"+q.Encode())
}
