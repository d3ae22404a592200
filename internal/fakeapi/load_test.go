package fakeapi

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoaded(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	tests := []struct {
		name   string
		load   int
		d      time.Duration
		others int64
		want   time.Duration
	}{
		{"off", 0, 100 * ms, 50, 100 * ms},
		{"alone", 10, 100 * ms, 0, 100 * ms},
		{"half of N", 10, 100 * ms, 5, 150 * ms},
		{"N others doubles", 10, 100 * ms, 10, 200 * ms},
		{"3N others is four times", 10, 100 * ms, 30, 400 * ms},
		{"N of 1", 1, 20 * ms, 20, 420 * ms},
		{"no latency stays none", 10, 0, 1000, 0},
		{"saturates instead of overflowing", 1, math.MaxInt64 / 2, 1000, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := (Config{LoadLatency: tt.load}).loaded(tt.d, tt.others); got != tt.want {
				t.Errorf("LoadLatency %d: loaded(%v, %d) = %v, want %v", tt.load, tt.d, tt.others, got, tt.want)
			}
		})
	}
}

// TestNegativeConfig: a negative Capacity, LoadLatency or Workers is a mistake,
// refused by Start and by NewHandler, not read as "off".
func TestNegativeConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{{Capacity: -1}, {LoadLatency: -1}, {Workers: -1}} {
		if s, err := Start("127.0.0.1:0", cfg); err == nil {
			s.Close()
			t.Errorf("Start(%+v) succeeded", cfg)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHandler(%+v) did not panic", cfg)
				}
			}()
			NewHandler(cfg)
		}()
	}
}

// TestCapacityRefuses fills the server to Capacity with requests held by a
// latency of an hour, then checks that a burst of concurrent requests is
// refused at once, with the configured Retry-After, and that once the load
// drops a request is admitted again.
func TestCapacityRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		capacity   int
		retryAfter string
	}{
		{"one, no retry-after", 1, ""},
		{"four, retry-after seconds", 4, "1"},
		{"eight, retry-after date", 8, "Wed, 21 Oct 2015 07:28:00 GMT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := start(t, Config{
				Latency:            Latency{Min: time.Hour, Max: time.Hour},
				Capacity:           tt.capacity,
				CapacityRetryAfter: tt.retryAfter,
			})
			release := hold(t, s, c, tt.capacity, s.URL()+"/r/held.json")

			// A refusal that waited its latency would take an hour; the
			// deadline only bounds how long a failing test takes.
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			const burst = 32
			var wg sync.WaitGroup
			for range burst {
				wg.Go(func() {
					resp, body, err := get(ctx, c, s.URL()+"/r/golang.json", nil)
					if err != nil {
						t.Errorf("refused request: %v", err)
						return
					}
					if resp.StatusCode != http.StatusTooManyRequests || string(body) != `{"error":"over capacity"}` ||
						resp.Header.Get("Content-Type") != "application/json" {
						t.Errorf("over capacity: %d %q %s, want 429 application/json {\"error\":\"over capacity\"}",
							resp.StatusCode, resp.Header.Get("Content-Type"), body)
					}
					got := resp.Header.Values("Retry-After")
					if tt.retryAfter == "" && len(got) != 0 || tt.retryAfter != "" && (len(got) != 1 || got[0] != tt.retryAfter) {
						t.Errorf("Retry-After %q, want %q (none if empty)", got, tt.retryAfter)
					}
				})
			}
			wg.Wait()
			st := s.Handler().Stats()
			if st.Refused != burst || st.ByStatus[429] != burst || st.InFlight != int64(tt.capacity) || st.PeakInFlight != int64(tt.capacity) {
				t.Errorf("stats %+v, want %d refused (and 429s), %d in flight at peak and now", st, burst, tt.capacity)
			}

			release()
			resp, _ := mustGet(t, c, s.URL()+"/r/golang.json?latency=0s")
			if resp.StatusCode != http.StatusOK {
				t.Errorf("after the load dropped: status %d, want 200", resp.StatusCode)
			}
			if st := s.Handler().Stats(); st.Refused != burst || st.ByStatus[200] != 1 {
				t.Errorf("after the load dropped: %+v, want the same refusals and one 200", st)
			}
		})
	}
}

// TestCapacityUnderContention: many clients at once against a small
// Capacity; the server's own peak of admitted requests must never exceed it,
// and every request is either served or refused, and counted as such.
func TestCapacityUnderContention(t *testing.T) {
	t.Parallel()
	for _, capacity := range []int{1, 3, 8} {
		t.Run(fmt.Sprintf("capacity %d", capacity), func(t *testing.T) {
			t.Parallel()
			s, c := start(t, Config{Capacity: capacity, Latency: Latency{Min: 2 * time.Millisecond, Max: 10 * time.Millisecond}})
			const clients, each = 48, 5
			var ok, refused atomic.Int64
			var wg sync.WaitGroup
			for i := range clients {
				wg.Go(func() {
					for j := range each {
						resp, _, err := get(t.Context(), c, fmt.Sprintf("%s/r/c%d.json?j=%d", s.URL(), i, j), nil)
						if err != nil {
							t.Error(err)
							return
						}
						switch resp.StatusCode {
						case http.StatusOK:
							ok.Add(1)
						case http.StatusTooManyRequests:
							refused.Add(1)
						default:
							t.Errorf("status %d", resp.StatusCode)
						}
					}
				})
			}
			wg.Wait()
			st := s.Handler().Stats()
			if st.PeakInFlight > int64(capacity) || st.PeakInFlight < 1 {
				t.Errorf("peak in flight %d, want 1 to %d", st.PeakInFlight, capacity)
			}
			if ok.Load()+refused.Load() != clients*each || st.Requests != clients*each || st.InFlight != 0 ||
				st.ByStatus[200] != ok.Load() || st.ByStatus[429] != refused.Load() || st.Refused != refused.Load() {
				t.Errorf("stats %+v; the clients saw %d 200s and %d 429s of %d", st, ok.Load(), refused.Load(), clients*each)
			}
			if refused.Load() == 0 {
				t.Logf("no request was refused; the clients never overlapped more than %d", capacity)
			}
		})
	}
}

// TestAdmitIsAtomic hammers the counters without HTTP, where a gap between
// checking Capacity and taking a place would be hit within microseconds.
func TestAdmitIsAtomic(t *testing.T) {
	t.Parallel()
	for _, capacity := range []int{1, 2, 5} {
		t.Run(fmt.Sprintf("capacity %d", capacity), func(t *testing.T) {
			t.Parallel()
			var c counters
			var inside, worst, refused atomic.Int64
			var wg sync.WaitGroup
			const workers, each = 8, 5000
			for range workers {
				wg.Go(func() {
					for range each {
						if _, ok := c.begin(capacity); !ok {
							refused.Add(1)
							continue
						}
						n := inside.Add(1)
						for {
							w := worst.Load()
							if n <= w || worst.CompareAndSwap(w, n) {
								break
							}
						}
						inside.Add(-1)
						c.end()
					}
				})
			}
			wg.Wait()
			st := c.snapshot()
			if worst.Load() > int64(capacity) || st.PeakInFlight > int64(capacity) {
				t.Errorf("%d admitted at once (the counters' peak: %d), want at most %d", worst.Load(), st.PeakInFlight, capacity)
			}
			if st.Requests != workers*each || st.Refused != refused.Load() || st.InFlight != 0 {
				t.Errorf("stats %+v, want %d requests, %d refused, none in flight", st, workers*each, refused.Load())
			}
		})
	}
}

// TestLoadLatency checks end to end that a request's latency is scaled by
// the requests in flight when it arrives. Only the lower bound of the loaded
// case is tight, and a timer cannot fire early; the bound on the unloaded
// case is twenty times its latency, for a slow machine.
func TestLoadLatency(t *testing.T) {
	t.Parallel()
	const probe = 20 * time.Millisecond
	tests := []struct {
		name     string
		others   int
		min, max time.Duration
	}{
		{"alone", 0, probe, 20 * probe},
		{"twenty others", 20, 21 * probe, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := start(t, Config{LoadLatency: 1})
			// hang= requests have no latency to scale and stay in flight.
			release := hold(t, s, c, tt.others, s.URL()+"/r/held.json?hang=1")
			defer release()
			begin := time.Now()
			resp, _ := mustGet(t, c, s.URL()+"/r/golang.json?latency="+probe.String())
			elapsed := time.Since(begin)
			if resp.StatusCode != http.StatusOK || elapsed < tt.min || elapsed > tt.max {
				t.Errorf("status %d after %v with %d others in flight, want 200 after %v to %v",
					resp.StatusCode, elapsed, tt.others, tt.min, tt.max)
			}
		})
	}
}

// TestWorkers checks end to end that a server of one worker answers one
// request at a time: one sent while another is worked on waits for it,
// then takes its own latency; one whose worker a hang= request keeps
// waits until that client goes away, and one whose own client goes away
// while it waits leaves the queue. Only lower bounds are tight: a timer
// cannot fire early.
func TestWorkers(t *testing.T) {
	t.Parallel()
	const first, second = 200 * time.Millisecond, 50 * time.Millisecond
	t.Run("queued behind another", func(t *testing.T) {
		t.Parallel()
		s, c := start(t, Config{Workers: 1})
		begin := time.Now()
		done := make(chan time.Duration, 1)
		go func() {
			// t.Error, not mustGet's t.Fatal: this is not the test's
			// goroutine.
			if _, _, err := get(t.Context(), c, s.URL()+"/r/first.json?latency="+first.String(), nil); err != nil {
				t.Error(err)
			}
			done <- time.Since(begin)
		}()
		waitFor(t, func() bool { return s.Handler().Stats().InFlight == 1 })
		resp, _ := mustGet(t, c, s.URL()+"/r/second.json?latency="+second.String())
		elapsed := time.Since(begin)
		if resp.StatusCode != http.StatusOK || elapsed < first+second {
			t.Errorf("the second request: %d after %v; want 200 after %v or more", resp.StatusCode, elapsed, first+second)
		}
		if d := <-done; d > elapsed {
			t.Errorf("the first request ended after the second (%v, %v)", d, elapsed)
		}
	})
	t.Run("behind a request that never ends", func(t *testing.T) {
		t.Parallel()
		s, c := start(t, Config{Workers: 1})
		release := hold(t, s, c, 1, s.URL()+"/r/held.json?hang=1")
		defer release()
		ctx, cancel := context.WithTimeout(t.Context(), first)
		defer cancel()
		if resp, _, err := get(ctx, c, s.URL()+"/r/waiting.json", nil); err == nil {
			t.Fatalf("a request behind a hung one was answered %d", resp.StatusCode)
		}
		// The waiting request left the queue when its client went away:
		// only the hung one is in flight.
		waitFor(t, func() bool { return s.Handler().Stats().InFlight == 1 })
		release()
		if resp, _ := mustGet(t, c, s.URL()+"/r/after.json"); resp.StatusCode != http.StatusOK {
			t.Errorf("once the hung request went away: %d, want 200", resp.StatusCode)
		}
	})
}

// hold sends n requests to url, which must keep them in flight, and returns
// once the server counts them. release cancels them and returns once the
// server has let them go.
func hold(t *testing.T, s *Server, c *http.Client, n int, url string) (release func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, _, err := get(ctx, c, url, nil)
			if err == nil {
				t.Errorf("a held request was answered %d", resp.StatusCode)
			}
		})
	}
	waitFor(t, func() bool { return s.Handler().Stats().InFlight == int64(n) })
	var once sync.Once
	release = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			waitFor(t, func() bool { return s.Handler().Stats().InFlight == 0 })
		})
	}
	t.Cleanup(release)
	return release
}
