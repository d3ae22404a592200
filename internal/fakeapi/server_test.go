package fakeapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestClientGoesAway checks that every way of holding a request open ends
// when the client cancels, and that Close then finds nothing running.
func TestClientGoesAway(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string
	}{
		{"hang", "/r/golang.json?hang=1"},
		{"trickle", "/r/golang.json?trickle=1"},
		{"latency", "/r/golang.json?latency=1h"},
		{"bomb", "/r/golang.json?bomb=100000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := start(t, Config{})
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			_, _, err := get(ctx, c, s.URL()+tt.path, nil)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want the client's deadline", err)
			}
			closeWithin(t, s, 2*time.Second)
			if st := s.Handler().Stats(); st.InFlight != 0 || st.Requests != 1 {
				t.Errorf("after Close: %d in flight, %d requests; want 0, 1", st.InFlight, st.Requests)
			}
		})
	}
}

// TestCloseCutsOff checks that Close does not wait for a client that never
// gives up: it cuts the connection and the client sees an error.
func TestCloseCutsOff(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/r/golang.json?hang=1", "/r/golang.json?trickle=1"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			s, c := start(t, Config{})
			errc := make(chan error, 1)
			go func() {
				_, _, err := get(context.Background(), c, s.URL()+path, nil)
				errc <- err
			}()
			waitFor(t, func() bool { return s.Handler().Stats().InFlight == 1 })
			closeWithin(t, s, 2*time.Second)
			if err := <-errc; err == nil {
				t.Error("client got no error from a server that closed mid-request")
			}
		})
	}
}

// TestReset checks that reset=1 ends in an error for the client rather than
// a short body that looks complete.
func TestReset(t *testing.T) {
	t.Parallel()
	s, c := start(t, Config{})
	resp, body, err := get(t.Context(), c, s.URL()+"/r/golang.json?reset=1", nil)
	if err == nil {
		t.Fatalf("read %d bytes with no error", len(body))
	}
	if resp != nil && resp.StatusCode != 200 {
		t.Errorf("status %d before the reset, want 200", resp.StatusCode)
	}
	if resp == nil {
		t.Logf("reset arrived before the headers were read: %v", err)
	}
}

// TestStats checks the counters against a known burst: 20 concurrent slow
// requests must all be in flight together at some point.
func TestStats(t *testing.T) {
	t.Parallel()
	s, c := start(t, Config{})
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if resp, _, err := get(t.Context(), c, s.URL()+"/r/golang.json?latency=200ms", nil); err != nil || resp.StatusCode != 200 {
				t.Errorf("burst request: %v", err)
			}
		})
	}
	wg.Wait()
	mustGet(t, c, s.URL()+"/missing")

	st := s.Handler().Stats()
	if st.Requests != n+1 || st.InFlight != 0 || st.ByStatus[200] != n || st.ByStatus[404] != 1 {
		t.Errorf("stats %+v, want %d requests, none in flight, %d 200s and one 404", st, n+1, n)
	}
	// Generous: a slow scheduler may let a few finish before the last start.
	if st.PeakInFlight < 15 || st.PeakInFlight > n {
		t.Errorf("peak in flight %d, want 15 to %d", st.PeakInFlight, n)
	}

	// The same numbers over HTTP, then a reset over HTTP.
	var got Stats
	_, body := mustGet(t, c, s.URL()+"/stats")
	if err := json.Unmarshal(body, &got); err != nil || got.Requests != st.Requests || got.ByStatus[200] != n {
		t.Errorf("/stats = %s (err %v), want %+v", body, err, st)
	}
	resp, err := c.Post(s.URL()+"/stats/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("POST /stats/reset: status %d", resp.StatusCode)
	}
	if st := s.Handler().Stats(); st.Requests != 0 || st.PeakInFlight != 0 || len(st.ByStatus) != 0 {
		t.Errorf("after reset: %+v, want zeros", st)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"not an address", "127.0.0.1:99999"} {
		t.Run(addr, func(t *testing.T) {
			if s, err := Start(addr, Config{}); err == nil {
				s.Close()
				t.Fatalf("Start(%q) succeeded", addr)
			}
		})
	}
}

func TestCloseTwice(t *testing.T) {
	t.Parallel()
	s, _ := start(t, Config{})
	closeWithin(t, s, time.Second)
	closeWithin(t, s, time.Second)
}

func closeWithin(t *testing.T, s *Server, limit time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(limit):
		t.Fatalf("Close still waiting after %v", limit)
	}
}

// waitFor polls cond; it is for waiting on the server to notice a request,
// not for asserting timing.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
