package h1_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/stages/internal/h1"
)

// newTransport returns a Transport whose idle connections are closed when
// the test ends, and a count of the requests its fallback made.
func newTransport(t *testing.T) (*h1.Transport, *atomic.Int64) {
	t.Helper()
	fallback := &countingTransport{rt: &http.Transport{}}
	tr := &h1.Transport{Fallback: fallback, MaxIdleConnsPerHost: 8}
	t.Cleanup(tr.CloseIdleConnections)
	return tr, &fallback.n
}

// countingTransport counts the requests it passes on.
type countingTransport struct {
	rt *http.Transport
	n  atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(req)
}

func (c *countingTransport) CloseIdleConnections() { c.rt.CloseIdleConnections() }

// connCounter counts the connections a server accepted.
type connCounter struct{ n atomic.Int64 }

func (c *connCounter) state(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		c.n.Add(1)
	}
}

// server starts an HTTP server on 127.0.0.1 that counts its connections.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *connCounter) {
	t.Helper()
	var conns connCounter
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = conns.state
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// get makes a request and reads its body whole.
func get(t *testing.T, tr http.RoundTripper, method, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, u, err)
	}
	resp.Body.Close()
	return resp, string(b)
}

// TestReuse: a response read to its end leaves its connection to the next
// request, whatever framed its body.
func TestReuse(t *testing.T) {
	tests := []struct {
		name, method, path, want string
	}{
		{"content length", "GET", "/length", "hello"},
		{"chunked with a trailer", "GET", "/chunked", "one two "},
		{"empty", "GET", "/empty", ""},
		{"no content", "GET", "/204", ""},
		{"not modified", "GET", "/304", ""},
		{"head", "HEAD", "/length", ""},
		{"informational first", "GET", "/early-hints", "after hints"},
		{"six informational first", "GET", "/many-hints", "after hints"},
	}
	srv, conns := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "one ")
			w.(http.Flusher).Flush()
			io.WriteString(w, "two ")
			w.Header().Set("X-Sum", "2")
		case "/empty":
			w.Header().Set("Content-Length", "0")
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		case "/early-hints", "/many-hints":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			if r.URL.Path == "/many-hints" {
				for range 5 {
					w.WriteHeader(http.StatusEarlyHints)
				}
			}
			io.WriteString(w, "after hints")
		}
	})
	tr, fallback := newTransport(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := conns.n.Load()
			for range 3 {
				resp, got := get(t, tr, tt.method, srv.URL+tt.path)
				if got != tt.want {
					t.Errorf("body %q, want %q", got, tt.want)
				}
				if tt.path == "/chunked" && resp.Trailer.Get("X-Sum") != "2" {
					t.Errorf("trailer %q, want 2", resp.Trailer.Get("X-Sum"))
				}
			}
			if n := conns.n.Load() - before; n > 1 {
				t.Errorf("3 requests took %d new connections, want at most 1", n)
			}
		})
	}
	if n := fallback.Load(); n != 0 {
		t.Errorf("the fallback made %d requests, want none", n)
	}
}

// TestNoReuse: a connection is not used again where its next bytes could
// not be the next response's, or either end said it would close. The
// server never closes a connection itself, and answers every request on
// it, so that a connection wrongly reused is seen to be.
func TestNoReuse(t *testing.T) {
	answers := map[string]string{
		"/close":     "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye",
		"/http10":    "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold",
		"/length":    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"/badchunk":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"/truncated": "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart",
	}
	u, conns := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.WriteString(conn, answers[req.URL.Path])
		}
	})
	read := func(t *testing.T, tr http.RoundTripper, req *http.Request, n int) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := tr.RoundTrip(req.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		if n < 0 {
			io.Copy(io.Discard, resp.Body)
		} else {
			io.ReadFull(resp.Body, make([]byte, n))
		}
		resp.Body.Close()
	}
	tests := []struct {
		name string
		do   func(t *testing.T, tr http.RoundTripper)
	}{
		{"server says close", func(t *testing.T, tr http.RoundTripper) { read(t, tr, mustRequest(t, "GET", u+"/close"), -1) }},
		{"HTTP/1.0 without keep-alive", func(t *testing.T, tr http.RoundTripper) { read(t, tr, mustRequest(t, "GET", u+"/http10"), -1) }},
		{"client says close", func(t *testing.T, tr http.RoundTripper) {
			req := mustRequest(t, "GET", u+"/length")
			req.Close = true
			read(t, tr, req, -1)
		}},
		{"client header says close", func(t *testing.T, tr http.RoundTripper) {
			req := mustRequest(t, "GET", u+"/length")
			req.Header.Set("Connection", "keep-alive, Close")
			read(t, tr, req, -1)
		}},
		{"body not valid", func(t *testing.T, tr http.RoundTripper) { read(t, tr, mustRequest(t, "GET", u+"/badchunk"), -1) }},
		{"body closed before its end", func(t *testing.T, tr http.RoundTripper) {
			read(t, tr, mustRequest(t, "GET", u+"/truncated"), len("part"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _ := newTransport(t)
			before := conns.Load()
			for range 2 {
				tt.do(t, tr)
			}
			if n := conns.Load() - before; n != 2 {
				t.Errorf("2 requests took %d new connections, want 2", n)
			}
		})
	}
	more := []struct {
		name, answer, want string
		closes             bool // the server closes the connection after its answer
	}{
		// No length and no chunks: the body ends with the connection.
		{"body to the connection's end", "HTTP/1.1 200 OK\r\n\r\nall of it", "all of it", true},
		// What follows a response answers no request.
		{"bytes after the response", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra", "ok", false},
	}
	for _, tt := range more {
		t.Run(tt.name, func(t *testing.T) {
			u, conns := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
				for {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					io.WriteString(conn, tt.answer)
					if tt.closes {
						return
					}
				}
			})
			tr, _ := newTransport(t)
			for range 2 {
				if _, body := get(t, tr, "GET", u); body != tt.want {
					t.Errorf("body %q, want %q", body, tt.want)
				}
			}
			if n := conns.Load(); n != 2 {
				t.Errorf("%d connections, want 2", n)
			}
		})
	}
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// rawServer serves each connection on 127.0.0.1 with serve, which reads
// requests with http.ReadRequest and writes whatever bytes it likes.
func rawServer(t *testing.T, serve func(conn net.Conn, br *bufio.Reader)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		conns atomic.Int64
	)
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			wg.Go(func() {
				defer conn.Close()
				serve(conn, bufio.NewReader(conn))
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return "http://" + ln.Addr().String(), &conns
}

// TestStaleConnection: a server that closes a kept-alive connection has
// not acted on a request it never answered. Closed while idle, the
// connection is not used again; closed on a request, that request is sent
// again on a new connection if it may be sent twice, and fails otherwise.
func TestStaleConnection(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		header  string
		idle    bool // the server hangs up while the connection is idle, not on the request
		wantErr bool
	}{
		{"idle, GET", "GET", "", true, false},
		{"idle after a 408 nobody asked for, GET", "GET", "408", true, false},
		{"idle, POST", "POST", "", true, false},
		{"on the request, GET is sent again", "GET", "", false, false},
		{"on the request, PUT is not (net/http's rule)", "PUT", "", false, true},
		{"on the request, POST is not", "POST", "", false, true},
		{"on the request, POST with an idempotency key is", "POST", "Idempotency-Key", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, conns := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				// Promises keep-alive...
				io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				if tt.header == "408" {
					// ...then says it has waited too long, as some do
					// before they close an idle connection, and waits
					// for what comes. Later, so that it is not read with
					// the answer.
					time.Sleep(5 * time.Millisecond)
					io.WriteString(conn, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
					http.ReadRequest(br)
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nlate ok")
					return
				}
				if !tt.idle {
					// ...takes the next request, and hangs up.
					http.ReadRequest(br)
				}
			})
			tr, _ := newTransport(t)
			get(t, tr, "GET", u)
			// Let a hang-up while idle reach this end.
			time.Sleep(20 * time.Millisecond)
			before := conns.Load()
			req, err := http.NewRequest(tt.method, u, strings.NewReader("body"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.header == "Idempotency-Key" {
				req.Header.Set(tt.header, "k1")
			}
			resp, err := tr.RoundTrip(req)
			if tt.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatal("no error, want one: the server may have acted on the request")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "ok" {
				t.Errorf("body %q, want ok", b)
			}
			if n := conns.Load() - before; n != 1 {
				t.Errorf("%d new connections, want 1", n)
			}
		})
	}
}

// TestCancel: the end of a request's context ends it wherever it is, with
// the context's cause: not sent at all if it ended before, and its
// connection closed, not reused, if during.
func TestCancel(t *testing.T) {
	release := make(chan struct{})
	var seen atomic.Int64
	srv, conns := server(t, func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		switch r.URL.Path {
		case "/ok":
			return
		case "/body":
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "part")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	cause := errors.New("the test is done with it")
	tests := []struct {
		name, path string
		after      time.Duration // from the start of the request to its end; <0: before
		wantSeen   int64         // requests the server saw, of the one canceled
	}{
		{"ended before", "/ok", -1, 0},
		{"waiting for the head", "/head", 50 * time.Millisecond, 1},
		{"reading the body", "/body", 50 * time.Millisecond, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _ := newTransport(t)
			get(t, tr, "GET", srv.URL+"/ok") // an idle connection at hand
			before, seenBefore := conns.n.Load(), seen.Load()
			ctx, cancel := context.WithCancelCause(context.Background())
			if tt.after < 0 {
				cancel(cause)
			} else {
				time.AfterFunc(tt.after, func() { cancel(cause) })
			}
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+tt.path, strings.NewReader("act on me"))
			resp, err := tr.RoundTrip(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if !errors.Is(err, cause) {
				t.Errorf("error %v, want the context's cause", err)
			}
			if n := seen.Load() - seenBefore; n != tt.wantSeen {
				t.Errorf("the server saw %d requests, want %d", n, tt.wantSeen)
			}
			get(t, tr, "GET", srv.URL+"/ok")
			if n, want := conns.n.Load()-before, min(tt.wantSeen, 1); n != want {
				t.Errorf("%d new connections, want %d: one the cancel closed is not reused", n, want)
			}
		})
	}
}

// TestBody: a response body reads as net/http's does: io.EOF again after
// its end, an error after Close, and a Close from another goroutine ends
// a Read waiting for bytes.
func TestBody(t *testing.T) {
	release := make(chan struct{})
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "part")
		if r.URL.Path == "/stuck" {
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	defer close(release)
	tr, _ := newTransport(t)
	open := func(path string) io.ReadCloser {
		resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL+path))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Body
	}
	t.Run("cut short", func(t *testing.T) {
		b := open("/short")
		defer b.Close()
		if short, err := io.ReadAll(b); err == nil {
			t.Errorf("read %q whole, want unexpected EOF: 4 bytes of 10", short)
		}
		if _, err := b.Read(make([]byte, 1)); err == nil || err == io.EOF {
			t.Errorf("Read after the failure: %v, want the failure again, not the end", err)
		}
	})

	t.Run("after a close", func(t *testing.T) {
		b := open("/stuck")
		io.ReadFull(b, make([]byte, 2))
		b.Close()
		if _, err := b.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "closed response body") {
			t.Errorf("Read after Close: %v, want read on closed response body", err)
		}
	})
	t.Run("close during a read", func(t *testing.T) {
		b := open("/stuck")
		io.ReadFull(b, make([]byte, 4))
		time.AfterFunc(50*time.Millisecond, func() { b.Close() })
		done := make(chan error, 1)
		go func() {
			_, err := b.Read(make([]byte, 1))
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Error("Read ended without an error")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Read still waiting 5 s after Close")
		}
	})
}

// TestHostileResponses: what a server sends that is not a usable response
// is an error, in bounded memory, and the connection is not reused.
func TestHostileResponses(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(w *bufio.Writer)
		wantErr string
	}{
		{"endless headers", func(w *bufio.Writer) {
			w.WriteString("HTTP/1.1 200 OK\r\n")
			for i := 0; ; i++ {
				if _, err := fmt.Fprintf(w, "X-Pad-%d: %s\r\n", i, strings.Repeat("a", 100)); err != nil {
					return
				}
			}
		}, "exceeded 65536 bytes"},
		{"endless informational responses", func(w *bufio.Writer) {
			for {
				if _, err := w.WriteString("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"); err != nil {
					return
				}
			}
		}, "exceeded 65536 bytes"},
		{"not HTTP", func(w *bufio.Writer) { w.WriteString("SSH-2.0-OpenSSH_9.6\r\n\r\n") }, "malformed HTTP"},
		{"bad status", func(w *bufio.Writer) { w.WriteString("HTTP/1.1 2x0 OK\r\n\r\n") }, "malformed HTTP status code"},
		{"hangs up at once", func(w *bufio.Writer) {}, "unexpected EOF"},
		{"body cut short", func(w *bufio.Writer) {
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
		}, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				w := bufio.NewWriter(conn)
				tt.answer(w)
				w.Flush()
			})
			tr, _ := newTransport(t)
			tr.MaxResponseHeaderBytes = 64 << 10
			resp, err := tr.RoundTrip(mustRequest(t, "GET", u))
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one that says %q", err, tt.wantErr)
			}
		})
	}
}

// TestFallback: what Transport does not make itself, its fallback makes.
func TestFallback(t *testing.T) {
	plain, _ := server(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain") })
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secure") }))
	defer secure.Close()
	tests := []struct {
		name  string
		req   func() *http.Request
		proxy bool
	}{
		{"https", func() *http.Request { return mustRequest(t, "GET", secure.URL) }, false},
		{"through a proxy", func() *http.Request { return mustRequest(t, "GET", plain.URL) }, true},
		{"an upgrade", func() *http.Request {
			r := mustRequest(t, "GET", plain.URL)
			r.Header.Set("Upgrade", "websocket")
			return r
		}, false},
		{"expecting 100-continue", func() *http.Request {
			r, _ := http.NewRequest("PUT", plain.URL, strings.NewReader("x"))
			r.Header.Set("Expect", "100-continue")
			return r
		}, false},
		{"a body over MaxBody", func() *http.Request {
			r, _ := http.NewRequest("PUT", plain.URL, strings.NewReader(strings.Repeat("x", h1.MaxBody+1)))
			return r
		}, false},
		{"a body of unknown length", func() *http.Request {
			r, _ := http.NewRequest("PUT", plain.URL, io.MultiReader(strings.NewReader("x")))
			return r
		}, false},
		{"trailers", func() *http.Request {
			r, _ := http.NewRequest("PUT", plain.URL, strings.NewReader("x"))
			r.Trailer = http.Header{"X-Sum": nil}
			return r
		}, false},
		{"a Cancel channel (http.Client's Timeout)", func() *http.Request {
			r := mustRequest(t, "GET", plain.URL)
			r.Cancel = make(chan struct{})
			return r
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fallback := &countingTransport{rt: secure.Client().Transport.(*http.Transport).Clone()}
			tr := &h1.Transport{Fallback: fallback}
			defer tr.CloseIdleConnections()
			if tt.proxy {
				// A "proxy" that is the server itself: net/http sends it
				// the absolute URL, which it serves all the same.
				fallback.rt.Proxy = http.ProxyURL(mustParse(t, plain.URL))
				tr.Proxy = fallback.rt.Proxy
			}
			resp, err := tr.RoundTrip(tt.req())
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if n := fallback.n.Load(); n != 1 {
				t.Errorf("the fallback made %d requests, want 1", n)
			}
		})
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestRefusedBeforeSending: a request net/http would refuse to send is
// refused, in its words, before a connection is made.
func TestRefusedBeforeSending(t *testing.T) {
	srv, conns := server(t, func(w http.ResponseWriter, r *http.Request) {})
	tests := []struct {
		name, wantErr string
		edit          func(r *http.Request)
	}{
		{"header name", `invalid header field name "Bad Name"`, func(r *http.Request) { r.Header["Bad Name"] = []string{"v"} }},
		{"header value", `invalid header field value for "X-Token"`, func(r *http.Request) { r.Header.Set("X-Token", "a\x00b") }},
		{"method", `invalid method "GE T"`, func(r *http.Request) { r.Method = "GE T" }},
		{"host", "no Host in request URL", func(r *http.Request) { r.URL.Host = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _ := newTransport(t)
			req := mustRequest(t, "GET", srv.URL)
			tt.edit(req)
			resp, err := tr.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one that says %q", err, tt.wantErr)
			}
		})
	}
	if n := conns.n.Load(); n != 0 {
		t.Errorf("%d connections made, want none", n)
	}
}

// TestIdleCaps: idle connections are kept within their caps and their
// time, and CloseIdleConnections closes them.
func TestIdleCaps(t *testing.T) {
	tests := []struct {
		name      string
		tr        *h1.Transport
		wantIdle  int64 // after 4 at once
		wantConns int64 // after 4 more one by one
	}{
		{"per host", &h1.Transport{MaxIdleConnsPerHost: 1}, 1, 4},
		{"overall", &h1.Transport{MaxIdleConnsPerHost: 4, MaxIdleConns: 2}, 2, 4},
		{"within both", &h1.Transport{MaxIdleConnsPerHost: 4}, 4, 4},
		// Each one put back finds the one before it idle too long.
		{"idle too long", &h1.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Nanosecond}, 1, 4 + 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				open    atomic.Int64
				conns   connCounter
				arrived sync.WaitGroup
			)
			arrived.Add(4)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/together" {
					arrived.Done()
					arrived.Wait() // four connections at once
				}
			}))
			srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
				conns.state(c, s)
				switch s {
				case http.StateNew:
					open.Add(1)
				case http.StateClosed, http.StateHijacked:
					open.Add(-1)
				}
			}
			srv.Start()
			defer srv.Close()
			tr := tt.tr
			tr.Fallback = http.DefaultTransport
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() { get(t, tr, "GET", srv.URL+"/together") })
			}
			wg.Wait()
			waitFor(func() bool { return open.Load() == tt.wantIdle })
			if n := open.Load(); n != tt.wantIdle {
				t.Errorf("%d connections kept, want %d", n, tt.wantIdle)
			}
			for range 4 {
				get(t, tr, "GET", srv.URL+"/alone")
			}
			if n := conns.n.Load(); n != tt.wantConns {
				t.Errorf("%d connections, want %d", n, tt.wantConns)
			}
			tr.CloseIdleConnections()
			waitFor(func() bool { return open.Load() == 0 })
			if n := open.Load(); n != 0 {
				t.Errorf("%d connections still open after CloseIdleConnections", n)
			}
		})
	}
}

// waitFor waits up to 5 s for cond, which the server's end of a
// connection makes true a moment after the client's.
func waitFor(cond func() bool) {
	for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

// TestManyAtOnce: requests at once, some bodies abandoned half read, each
// get their own answer: no response is read on another request's behalf.
func TestManyAtOnce(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		// A body long enough that an abandoned one leaves bytes unread.
		fmt.Fprintf(w, "%s %s", r.URL.Path, strings.Repeat("x", 5000))
	})
	tr, _ := newTransport(t)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				path := fmt.Sprintf("/%d/%d", g, i)
				resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL+path))
				if err != nil {
					t.Error(err)
					return
				}
				if i%7 == 3 {
					resp.Body.Close() // abandoned
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !strings.HasPrefix(string(b), path+" ") {
					t.Errorf("%s: body %.20q, error %v", path, b, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestRequestTimeoutAnswered: a 408 that answers a request is its answer,
// on a new connection or a reused one, and the request is not sent again.
func TestRequestTimeoutAnswered(t *testing.T) {
	var seen atomic.Int64
	u, _ := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		for i := 0; ; i++ {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			seen.Add(1)
			if i%2 == 0 {
				io.WriteString(conn, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 4\r\n\r\nslow")
			} else {
				io.WriteString(conn, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 5\r\n\r\nslow2")
			}
		}
	})
	tr, _ := newTransport(t)
	for i, want := range []string{"slow", "slow2", "slow"} {
		if resp, body := get(t, tr, "GET", u); resp.StatusCode != http.StatusRequestTimeout || body != want {
			t.Errorf("request %d: %s %q, want 408 %q", i, resp.Status, body, want)
		}
	}
	if n := seen.Load(); n != 3 {
		t.Errorf("the server saw %d requests, want 3", n)
	}
}

// TestIdleEviction: at the overall cap, the connection idle longest makes
// way for the one just used, and one idle too long is closed even if its
// host is never asked again.
func TestIdleEviction(t *testing.T) {
	tests := []struct {
		name string
		tr   *h1.Transport
		wait time.Duration // after the request to a
	}{
		{"overall cap", &h1.Transport{MaxIdleConns: 1}, 0},
		{"idle too long", &h1.Transport{IdleConnTimeout: 20 * time.Millisecond}, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var openA atomic.Int64
			a := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			a.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				switch s {
				case http.StateNew:
					openA.Add(1)
				case http.StateClosed:
					openA.Add(-1)
				}
			}
			a.Start()
			defer a.Close()
			b, connsB := server(t, func(w http.ResponseWriter, r *http.Request) {})
			tr := tt.tr
			tr.Fallback = http.DefaultTransport
			defer tr.CloseIdleConnections()
			get(t, tr, "GET", a.URL)
			time.Sleep(tt.wait)
			for range 5 {
				get(t, tr, "GET", b.URL)
			}
			if n := connsB.n.Load(); n != 1 {
				t.Errorf("5 requests to b took %d connections, want 1", n)
			}
			waitFor(func() bool { return openA.Load() == 0 })
			if n := openA.Load(); n != 0 {
				t.Errorf("a's connection still open")
			}
		})
	}
}

// TestRequestFailures: a request that cannot be written for a reason of
// its own is not sent again, and one the network failed says so in the
// network's error, not as a failure of its body.
func TestRequestFailures(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	t.Run("body fails", func(t *testing.T) {
		tr, _ := newTransport(t)
		for range 4 {
			get(t, tr, "GET", srv.URL) // idle connections at hand
		}
		var rewound atomic.Int64
		bodyErr := errors.New("the disk went away")
		req, _ := http.NewRequest("PUT", srv.URL, io.MultiReader(strings.NewReader("some"), errReader{bodyErr}))
		req.ContentLength = 100
		req.Header.Set("Idempotency-Key", "k1") // may be sent twice
		req.GetBody = func() (io.ReadCloser, error) {
			rewound.Add(1)
			return io.NopCloser(io.MultiReader(strings.NewReader("some"), errReader{bodyErr})), nil
		}
		if resp, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), bodyErr.Error()) {
			if err == nil {
				resp.Body.Close()
			}
			t.Errorf("error %v, want the body's", err)
		}
		if n := rewound.Load(); n != 0 {
			t.Errorf("the body was had again %d times, want 0: the connection was not why", n)
		}
	})
	t.Run("network fails during the body", func(t *testing.T) {
		tr, _ := newTransport(t)
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			return &resetConn{Conn: c}, err
		}
		// Over the write buffer, so that a write happens as the body is
		// copied.
		req, _ := http.NewRequest("PUT", srv.URL, strings.NewReader(strings.Repeat("x", 10<<10)))
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("error %v (%T), want the network's ECONNRESET", err, err)
		}
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// resetConn is a real connection whose writes fail as a reset one's do.
type resetConn struct{ net.Conn }

func (c *resetConn) Write([]byte) (int, error) {
	return 0, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.ECONNRESET)}
}

// TestClientRedirects: under http.Client, which reads and closes the body
// of each redirect, the redirects keep their connection.
func TestClientRedirects(t *testing.T) {
	srv, conns := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/from" {
			http.Redirect(w, r, "/to", http.StatusFound)
			return
		}
		io.WriteString(w, "here")
	})
	tr, _ := newTransport(t)
	client := &http.Client{Transport: tr}
	for range 5 {
		resp, err := client.Get(srv.URL + "/from")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "here" {
			t.Errorf("body %q, want here", b)
		}
	}
	if n := conns.n.Load(); n != 1 {
		t.Errorf("5 redirected requests took %d connections, want 1", n)
	}
}

// TestCloseIdleConnectionsInFlight: a connection whose body ends after
// CloseIdleConnections is closed too, until the next request.
func TestCloseIdleConnectionsInFlight(t *testing.T) {
	var open atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr, _ := newTransport(t)
	resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleConnections()
	io.ReadAll(resp.Body)
	resp.Body.Close()
	waitFor(func() bool { return open.Load() == 0 })
	if n := open.Load(); n != 0 {
		t.Errorf("%d connections open, want 0", n)
	}
}

// TestInternationalHost: a host name in another script is dialed, and its
// connections kept, in its ASCII form, as net/http does.
func TestInternationalHost(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Host) })
	var dialed []string
	tr, _ := newTransport(t)
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed = append(dialed, addr)
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}
	for range 2 {
		if _, body := get(t, tr, "GET", "http://bücher.example/"); body != "xn--bcher-kva.example" {
			t.Errorf("Host %q, want xn--bcher-kva.example", body)
		}
	}
	if want := []string{"xn--bcher-kva.example:80"}; !slices.Equal(dialed, want) {
		t.Errorf("dialed %q, want %q", dialed, want)
	}
}

// TestWritesABodyAtOnce: a body goes out in one write after the head's,
// not a write per buffer.
func TestWritesABodyAtOnce(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	tr, _ := newTransport(t)
	tr.WriteBufferSize = 1 << 10
	var writes atomic.Int64
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		return &countingConn{Conn: c, writes: &writes}, err
	}
	req, _ := http.NewRequest("PUT", srv.URL, strings.NewReader(strings.Repeat("x", h1.MaxBody)))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := writes.Load(); n > 2 {
		t.Errorf("%d writes for a head and a body of %d bytes, want at most 2", n, h1.MaxBody)
	}
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestCanceledBodyClosed: a request whose context ends once its connection
// is made, before a byte is written, is not sent, and has its body closed
// all the same, as a RoundTripper must.
func TestCanceledBodyClosed(t *testing.T) {
	var seen atomic.Int64
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) { seen.Add(1) })
	tr, _ := newTransport(t)
	ctx, cancel := context.WithCancel(context.Background())
	tr.DialContext = func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &cancelOnUse{TCPConn: c.(*net.TCPConn), cancel: cancel}, nil
	}
	body := &closeRecorder{Reader: strings.NewReader("payload")}
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, body)
	req.ContentLength = int64(body.Len())
	if resp, err := tr.RoundTrip(req); !errors.Is(err, context.Canceled) {
		if err == nil {
			resp.Body.Close()
		}
		t.Errorf("error %v, want context.Canceled", err)
	}
	if !body.closed.Load() {
		t.Error("the request's body was left open")
	}
	if n := seen.Load(); n != 0 {
		t.Errorf("the server saw %d requests, want none", n)
	}
}

// cancelOnUse is a real connection that ends a context when Transport
// first asks it for its socket, just after the dial, before any write.
type cancelOnUse struct {
	*net.TCPConn
	cancel func()
}

func (c *cancelOnUse) SyscallConn() (syscall.RawConn, error) {
	c.cancel()
	return c.TCPConn.SyscallConn()
}

type closeRecorder struct {
	*strings.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error {
	c.closed.Store(true)
	return nil
}

// TestEarlyAnswer: a server that answers before it has read the whole
// request, and closes, fails the rest of the write; its answer is the
// request's all the same, as net/http, reading while it writes, has it.
func TestEarlyAnswer(t *testing.T) {
	u, _ := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil { // the head only
			return
		}
		io.WriteString(conn, "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 8\r\n\r\ntoo much")
		// Closed with the body unread, which resets the connection: the
		// client's next write fails.
		conn.(*net.TCPConn).SetLinger(0)
	})
	tests := []struct {
		method string
		size   int // of the body, of which the first 2 KiB come at once
	}{
		{"PUT", 4 << 10},
		{"POST", 4 << 10},
		{"PUT", h1.MaxBody},
		{"POST", h1.MaxBody},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s of %d bytes", tt.method, tt.size), func(t *testing.T) {
			tr, _ := newTransport(t)
			tr.WriteBufferSize = 1 << 10
			for i := range 5 {
				// The rest of the body comes late, as over a slow link,
				// when the server has answered and gone.
				first, rest := strings.Repeat("x", 2<<10), strings.Repeat("y", tt.size-2<<10)
				body := io.MultiReader(strings.NewReader(first), &lateReader{r: strings.NewReader(rest)})
				req, _ := http.NewRequest(tt.method, u, body)
				req.ContentLength = int64(tt.size)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatalf("request %d: %v, want the 413", i, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestEntityTooLarge || string(b) != "too much" {
					t.Fatalf("request %d: %s %q, want 413 too much", i, resp.Status, b)
				}
			}
		})
	}
}

// lateReader reads r after a pause.
type lateReader struct {
	r      io.Reader
	paused bool
}

func (l *lateReader) Read(p []byte) (int, error) {
	if !l.paused {
		time.Sleep(20 * time.Millisecond)
		l.paused = true
	}
	return l.r.Read(p)
}
