package fakeapi

import (
	"fmt"
	"net"
	"net/http"
	"sync"
)

// Server is a Handler listening on its own loopback listener. Unlike
// httptest.Server the caller picks the address, so a test can put two fake
// hosts on 127.0.0.1 and 127.0.0.2, or reuse a known port.
//
// It sets no limits and no timeouts: it will hold as many connections as the
// process has file descriptors, because measuring a client at 10,000
// connections is one of its jobs. (Config.Capacity limits requests in
// flight, not connections: a refused request's connection stays open.)
type Server struct {
	h      *Handler
	srv    *http.Server
	url    string
	served chan struct{}

	// live counts open connections and running handlers, so that Close can
	// wait for both. See connState for why this is safe against Wait.
	live sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Start listens on addr (for example "127.0.0.1:0" for any free port) and
// serves a new Handler with cfg until Close. A cfg that NewHandler would
// panic on is an error here.
func Start(addr string, cfg Config) (*Server, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fakeapi: listen on %s: %w", addr, err)
	}
	s := &Server{
		h:      NewHandler(cfg),
		url:    "http://" + ln.Addr().String(),
		served: make(chan struct{}),
	}
	s.srv = &http.Server{
		Handler:   http.HandlerFunc(s.serveHTTP),
		ConnState: s.connState,
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln) // returns ErrServerClosed after Close, the only way it ends
	}()
	return s, nil
}

// URL is the base URL, "http://host:port", with no trailing slash.
func (s *Server) URL() string { return s.url }

// Handler is the served Handler, for its Stats and Reset.
func (s *Server) Handler() *Handler { return s.h }

// Close stops the listener, closes every connection (in-flight requests are
// cut off, not drained) and returns once every handler has returned, so
// nothing the Server started is left running. It is safe to call more than
// once; later calls return the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		<-s.served
		s.live.Wait()
	})
	return s.closeErr
}

// connState counts a connection from StateNew until it is closed or
// hijacked. http.Server sets StateNew in its accept loop before Serve can
// return, and http.Server.Close waits for Serve to return, so every Add here
// happens before Close reaches live.Wait.
func (s *Server) connState(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.live.Add(1)
	case http.StateHijacked, http.StateClosed:
		s.live.Done()
	}
}

// serveHTTP also counts the handler itself, because a hijacked connection
// stops being counted while its handler still runs. The Add is safe against
// Wait: the request's connection is still counted, so live is never zero
// here.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.live.Add(1)
	defer s.live.Done()
	s.h.ServeHTTP(w, r)
}
