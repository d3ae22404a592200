package stages_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// TestTallyCountsWhatTheRecordsSay: a summary's counts are the records'
// own, and its latency quantiles are within 1% of the exact ones on a
// known distribution, from a histogram of fixed memory.
func TestTallyCountsWhatTheRecordsSay(t *testing.T) {
	tally := stages.NewTally()
	var latencies []float64
	for i := range 10000 {
		r := stages.Record{Status: 200, Attempts: 1, Bytes: 100, Elapsed: time.Duration(i+1) * time.Millisecond}
		switch {
		case i%10 == 0:
			r.Status, r.Attempts = 503, 3
			r.Err = &stages.Error{Kind: stages.KindHTTPStatus}
		case i%25 == 1:
			r.Status, r.Bytes = 0, 0
			r.Err = &stages.Error{Kind: stages.KindTimeout}
		}
		tally.Add(&r)
		latencies = append(latencies, float64(i+1))
	}
	invalid := stages.Record{Err: &stages.Error{Kind: stages.KindInvalidInput}} // never sent: no latency
	tally.Add(&invalid)
	s := tally.Summary()
	if s.Items != 10001 || s.OK != 10001-1000-400-1 || s.Failed != 1401 ||
		s.Kinds[stages.KindHTTPStatus] != 1000 || s.Kinds[stages.KindTimeout] != 400 || s.Kinds[stages.KindInvalidInput] != 1 ||
		s.Statuses[200] != 8600 || s.Statuses[503] != 1000 || s.Attempts != 12000 || s.Retries != 2000 || s.Bytes != 100*9600 {
		t.Errorf("summary %+v", s)
	}
	slices.Sort(latencies)
	for _, q := range []struct {
		p   float64
		got float64
	}{{0.50, s.P50MS}, {0.90, s.P90MS}, {0.99, s.P99MS}, {1, s.MaxMS}} {
		exact := latencies[int(math.Ceil(q.p*float64(len(latencies))))-1]
		if math.Abs(q.got-exact)/exact > 0.01 {
			t.Errorf("p%v = %v ms, exact %v ms: more than 1%% off", q.p*100, q.got, exact)
		}
	}
	text := s.String()
	for _, want := range []string{"10,001 items", "8,600 ok", "1,401 failed (http_status 1,000, timeout 400, invalid_input 1)", "statuses  200 8,600, 503 1,000", "attempts  12,000 (2,000 retries)", "p50 5"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary text lacks %q:\n%s", want, text)
		}
	}
}

// TestTallyCountsRetriesByWhatFailed: given Fetch's traces, a summary
// says what the retries were for, by status or, where the status is not
// why (a body cut short keeps its 200), by kind: how many requests a
// server turned away before items went through, which their final
// statuses do not show.
func TestTallyCountsRetriesByWhatFailed(t *testing.T) {
	api := startAPI(t, fakeapi.Config{})
	tally := stages.NewTally()
	p := pipeline.New(t.Context())
	urls := []string{
		api.URL() + "/r/a.json?fail=2&id=a&status=429", // two 429s, then 200
		api.URL() + "/r/b.json?fail=1&id=b",            // a 503, then 200
		api.URL() + "/r/c.json",
		api.URL() + "/r/d.json?reset=1", // 200, and a reset in the body: three times
	}
	for r, err := range pipeline.All(stages.Fetch(stages.URLs(p, urls), stages.WithTrace(tally.Trace, stages.TraceRetry), stages.WithMaxRetryWait(time.Millisecond))) {
		if err != nil {
			t.Fatal(err)
		}
		tally.Add(&r)
	}
	s := tally.Summary()
	if want := map[string]int64{"429": 2, "503": 1, "network": 2}; !maps.Equal(s.RetriedFor, want) || s.Retries != 5 {
		t.Errorf("retried for %v (%d retries), want %v", s.RetriedFor, s.Retries, want)
	}
	tally.Trace(stages.Trace{Event: stages.TraceRedirect})
	if text, want := tally.Summary().String(), "attempts  9 (5 retries: 429 2, network 2, 503 1)"; !strings.Contains(text, want) {
		t.Errorf("summary text lacks %q:\n%s", want, text)
	}
}

// TestTallyObservesARun: given Fetch's events, a Tally counts requests in
// flight while they are (here, all four held by a slow server at once),
// and nothing in flight or waiting once the run is over.
func TestTallyObservesARun(t *testing.T) {
	api := startAPI(t, fakeapi.Config{})
	tally := stages.NewTally()
	p := pipeline.New(t.Context())
	urls := []string{api.URL() + "/r/a.json?latency=300ms", api.URL() + "/r/b.json?latency=300ms", api.URL() + "/r/c.json?latency=300ms", api.URL() + "/r/d.json?fail=1&id=d"}
	seen := int64(0)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if n := tally.Now().InFlight; n > atomic.LoadInt64(&seen) {
				atomic.StoreInt64(&seen, n)
			}
		}
	}()
	for r, err := range pipeline.All(stages.Fetch(stages.URLs(p, urls), stages.WithObserver(tally.Observe), stages.WithMaxRetryWait(0))) {
		if err != nil {
			t.Fatal(err)
		}
		tally.Add(&r)
	}
	close(stop)
	<-stopped
	now := tally.Now()
	if now.Done != 4 || now.OK != 4 || now.InFlight != 0 || now.Waiting != 0 || atomic.LoadInt64(&seen) < 3 {
		t.Errorf("now %+v, most in flight seen %d", now, atomic.LoadInt64(&seen))
	}
}

// TestTallyAfterACancel: items cut short while waiting in a backoff, or on
// a limit, were counted as leaving flight: the count went below zero.
// After a cancel, nothing is in flight or waiting, and never less.
func TestTallyAfterACancel(t *testing.T) {
	api := startAPI(t, fakeapi.Config{})
	tally := stages.NewTally()
	ctx, cancel := context.WithCancel(t.Context())
	p := pipeline.New(ctx)
	var urls []string
	for i := range 12 {
		urls = append(urls, fmt.Sprintf("%s/r/%d.json?fail=9&id=%d", api.URL(), i, i))
	}
	time.AfterFunc(150*time.Millisecond, cancel)
	for r, err := range pipeline.All(stages.Fetch(stages.URLs(p, urls), stages.WithObserver(tally.Observe),
		stages.WithConcurrency(3), stages.WithPerHost(2), stages.WithRetries(5), stages.WithMaxRetryWait(time.Second))) {
		if err != nil {
			t.Fatal(err)
		}
		tally.Add(&r)
		if now := tally.Now(); now.InFlight < 0 || now.Waiting < 0 {
			t.Fatalf("now %+v", now)
		}
	}
	if now := tally.Now(); now.InFlight != 0 || now.Waiting != 0 || now.Done != 12 {
		t.Errorf("after the run: %+v", now)
	}
}

// TestTallyCountsItemsHeld: items Observe saw finish whose records Add
// has not counted are held, as behind a slow item in input order.
func TestTallyCountsItemsHeld(t *testing.T) {
	tally := stages.NewTally()
	for seq := range int64(5) {
		tally.Observe(pipeline.Event{Kind: pipeline.EventStarted, Seq: seq, Try: 1})
		if seq > 0 {
			tally.Observe(pipeline.Event{Kind: pipeline.EventDone, Seq: seq, Try: 1})
		}
	}
	tally.Add(&stages.Record{Attempts: 1})
	if now := tally.Now(); now.Held != 3 || now.InFlight != 1 || now.Done != 1 {
		t.Errorf("progress %+v, want 3 held, 1 in flight, 1 done", now)
	}
}
