package fakeapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Handler serves the fake API (see the package doc for endpoints and query
// parameters) and counts what it serves. It is safe for concurrent use and
// holds no lock on the normal path, so it can be measured at high
// concurrency without becoming the bottleneck. Use it with Start, or with
// any http.Server or httptest.Server.
type Handler struct {
	cfg      Config
	stats    counters
	attempts attempts
	workers  chan struct{} // a place per Config.Workers; nil: no queue
}

// NewHandler returns a Handler that behaves as cfg says unless a request's
// query overrides it. It panics if cfg.Capacity, cfg.LoadLatency or cfg.Workers
// is negative.
func NewHandler(cfg Config) *Handler {
	if err := cfg.check(); err != nil {
		panic(err)
	}
	h := &Handler{cfg: cfg}
	if cfg.Workers > 0 {
		h.workers = make(chan struct{}, cfg.Workers)
	}
	return h
}

// Stats returns a copy of the counters; later requests do not change it.
func (h *Handler) Stats() Stats { return h.stats.snapshot() }

// Reset zeroes Requests, Refused and ByStatus, forgets every fail= attempt
// count, and restarts PeakInFlight from the current InFlight. InFlight
// itself is kept: the requests it counts are still running.
func (h *Handler) Reset() {
	h.stats.reset()
	h.attempts.reset()
}

// ServeHTTP answers one request. It returns only when the response is
// complete or the client has gone away, so a server that waits for its
// handlers waits for hang= and trickle= requests to be cancelled.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/stats":
		h.serveStats(w, r)
		return
	case "/stats/reset":
		h.serveReset(w, r)
		return
	}

	others, ok := h.stats.begin(h.cfg.Capacity)
	if !ok {
		h.refuse(w)
		return
	}
	defer h.stats.end()

	var page func(dst []byte, o *options) []byte
	if name, ok := listingName(r.URL.Path); ok {
		page = func(dst []byte, o *options) []byte {
			return appendListing(dst, h.cfg.Seed, name, h.cfg.posts(), o.bytes, o.words())
		}
	} else if name, id, ok := commentsPath(r.URL.Path); ok {
		page = func(dst []byte, _ *options) []byte { return appendComments(dst, h.cfg.Seed, name, id) }
	} else {
		h.writeError(w, r, nil, http.StatusNotFound, "")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.writeError(w, r, nil, http.StatusMethodNotAllowed, "")
		return
	}
	o, err := parseOptions(r.URL.RawQuery)
	if err != nil {
		h.writeError(w, r, nil, http.StatusBadRequest, err.Error())
		return
	}
	h.serve(w, r, &o, others, page)
}

// listingName extracts {name} from /r/{name}.json. Names with a slash are
// refused so that the listing URLs form one flat namespace.
func listingName(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/r/")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, ".json")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

// serve applies o in the order the package doc lists, then writes the page
// that page appends if nothing before it answered. others is how many
// requests were in flight beside this one when it arrived.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, o *options, others int64, page func(dst []byte, o *options) []byte) {
	d := h.cfg.Latency.draw(h.cfg.Seed, r.URL.Path)
	if o.hasLatency {
		d = o.latency
	}
	d = h.cfg.loaded(d, others)
	if h.workers != nil {
		// Channel sends that block are served in the order they came: a
		// queue, first come first served.
		select {
		case h.workers <- struct{}{}:
			defer func() { <-h.workers }()
		case <-r.Context().Done():
			return
		}
	}
	if d > 0 && !wait(r, d) {
		return
	}
	if o.hang {
		<-r.Context().Done()
		return
	}
	if o.fail > 0 {
		id := o.id
		if id == "" {
			id = r.URL.Path
		}
		if h.attempts.next(id) <= o.fail {
			h.writeError(w, r, o, orDefault(o.status, http.StatusServiceUnavailable), "")
			return
		}
	} else if o.status != 0 {
		h.writeError(w, r, o, o.status, "")
		return
	}
	switch {
	case o.loop:
		h.redirect(w, r.URL.RequestURI())
		return
	case o.redirect > 0:
		h.redirectDown(w, r, o.redirect)
		return
	case o.format == "html":
		h.writeBody(w, r, o, http.StatusOK, "text/html; charset=utf-8", []byte(htmlBody))
		return
	case o.format == "badjson":
		h.writeBody(w, r, o, http.StatusOK, "application/json", []byte(badJSONBody))
		return
	case o.hasBomb:
		h.bomb(w, o.bomb)
		return
	case o.trickle:
		h.trickle(w, r)
		return
	}

	bp := bodyPool.Get().(*[]byte)
	body := page((*bp)[:0], o)
	switch {
	case o.reset:
		h.reset(w, body)
	case o.pretty:
		var buf bytes.Buffer
		_ = json.Indent(&buf, body, "", "  ") // body is valid JSON by construction
		h.writeBody(w, r, o, http.StatusOK, "application/json", buf.Bytes())
	default:
		h.writeBody(w, r, o, http.StatusOK, "application/json", body)
	}
	// A rare huge body (bytes=) should not pin its buffer for the rest of
	// the run.
	if cap(body) <= 1<<20 {
		*bp = body[:0]
		bodyPool.Put(bp)
	}
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// wait holds the request for d and reports whether the client is still
// there. A client that gives up must free its handler at once, or a test of
// client timeouts would leave the server busy for the full latency.
func wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func (h *Handler) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeRaw(w, http.StatusMethodNotAllowed, "application/json", appendError(nil, http.StatusMethodNotAllowed, ""))
		return
	}
	body, _ := json.Marshal(h.Stats()) // cannot fail: ints and a map of ints
	writeRaw(w, http.StatusOK, "application/json", body)
}

func (h *Handler) serveReset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeRaw(w, http.StatusMethodNotAllowed, "application/json", appendError(nil, http.StatusMethodNotAllowed, ""))
		return
	}
	h.Reset()
	w.WriteHeader(http.StatusNoContent)
}
