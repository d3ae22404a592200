package stages

import (
	"fmt"
	"net"
	"testing"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// TestScheduleForgetsIdleHosts runs many distinct hosts through a schedule
// with per-host limits and checks that it keeps state only for hosts with
// work: memory must not grow with the number of hosts a run has seen.
func TestScheduleForgetsIdleHosts(t *testing.T) {
	// A port just closed refuses at once on every loopback address, and each
	// address is a host of its own: 1,500 distinct hosts that answer fast.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var urls []string
	for i := range 1500 {
		urls = append(urls, fmt.Sprintf("http://127.0.%d.%d:%d/", 1+i/250, 1+i%250, port))
	}
	s := newSettings([]Option{WithPerHost(1), WithRetries(0), WithConcurrency(16)})
	f := newFetcher(s)
	sc := newSchedule(f)
	p := pipeline.New(t.Context())
	p.Cleanup(f.client.CloseIdleConnections)
	recs := pipeline.Process(pipeline.FromSlice(p, urlRequests(urls)), sc.run)
	n := 0
	for r := range pipeline.All(recs) {
		if r.Err == nil || r.Err.Kind != KindConnect {
			t.Fatalf("record %d: %v, want a refused connection", r.Seq, r.Err)
		}
		n++
	}
	if n != len(urls) {
		t.Fatalf("%d records for %d items", n, len(urls))
	}
	// Read after the run, when the dispatcher has returned.
	if len(sc.hosts) != 0 {
		t.Errorf("%d hosts remembered after the run, want 0", len(sc.hosts))
	}
	if sc.peakHosts > sc.window {
		t.Errorf("%d hosts remembered at once, more than the %d items the schedule holds", sc.peakHosts, sc.window)
	}
	t.Logf("at most %d of %d hosts remembered at once", sc.peakHosts, len(urls))
}

func urlRequests(urls []string) []Request {
	reqs := make([]Request, len(urls))
	for i, u := range urls {
		reqs[i] = Request{Seq: int64(i), URL: u}
	}
	return reqs
}
