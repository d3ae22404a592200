package stages_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// gauge counts requests in flight and remembers the peak.
type gauge struct{ cur, peak atomic.Int64 }

func (g *gauge) enter() {
	n := g.cur.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
}

func (g *gauge) leave() { g.cur.Add(-1) }

// hosts serves one handler on two loopback addresses, 127.0.0.1 and
// 127.0.0.2, which a client sees as two hosts, and measures what each saw
// and what both saw together.
type hosts struct {
	urls  [2]string
	each  [2]gauge
	all   gauge
	mu    sync.Mutex
	start map[string][]time.Time // request start times, by host index and path
}

// serveHosts starts the two hosts. handle answers a request after the
// gauges have counted it in.
func serveHosts(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *hosts {
	t.Helper()
	h := &hosts{start: make(map[string][]time.Time)}
	for i, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Skipf("no second loopback address here: %v", err)
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.mu.Lock()
			h.start[fmt.Sprint(i, r.URL.Path)] = append(h.start[fmt.Sprint(i, r.URL.Path)], time.Now())
			h.mu.Unlock()
			h.each[i].enter()
			h.all.enter()
			defer h.all.leave()
			defer h.each[i].leave()
			handle(w, r)
		}))
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		t.Cleanup(srv.Close)
		h.urls[i] = srv.URL
	}
	return h
}

// starts returns the start times of every request to host i.
func (h *hosts) starts(i int) []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	var all []time.Time
	for k, ts := range h.start {
		if strings.HasPrefix(k, strconv.Itoa(i)) {
			all = append(all, ts...)
		}
	}
	return all
}

// sleepy answers {} after the latency in its path's query, if any.
func sleepy(w http.ResponseWriter, r *http.Request) {
	if d, err := time.ParseDuration(r.URL.Query().Get("latency")); err == nil {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, "{}")
}

// alternate returns n URLs taking turns between the two hosts.
func (h *hosts) alternate(n int, query string) []string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/item/%d?%s", h.urls[i%2], i, query)
	}
	return urls
}

func TestFetchKeepsToInFlightLimits(t *testing.T) {
	tests := []struct {
		name             string
		concurrency, per int
		ordered          bool
	}{
		{"overall only", 6, 0, false},
		{"per host below overall", 8, 3, false},
		{"per host above overall", 2, 5, false},
		{"per host, input order", 8, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := serveHosts(t, sleepy)
			opts := []stages.Option{stages.WithConcurrency(tt.concurrency), stages.WithPerHost(tt.per)}
			if tt.ordered {
				opts = append(opts, stages.WithInputOrder())
			}
			p := pipeline.New(t.Context())
			recs := collect(t, stages.Fetch(stages.URLs(p, h.alternate(60, "latency=15ms")), opts...))
			for _, r := range recs {
				if !r.OK() {
					t.Fatalf("record %d: %v", r.Seq, r.Err)
				}
			}
			if len(recs) != 60 {
				t.Fatalf("%d records for 60 items", len(recs))
			}
			if got := h.all.peak.Load(); got > int64(tt.concurrency) {
				t.Errorf("%d requests in flight at once, limit %d", got, tt.concurrency)
			}
			for i := range h.each {
				got := h.each[i].peak.Load()
				if tt.per > 0 && got > int64(tt.per) {
					t.Errorf("host %d saw %d requests at once, per-host limit %d", i, got, tt.per)
				}
				t.Logf("host %d: peak %d in flight", i, got)
			}
		})
	}
}

// TestSaturatedHostDoesNotHoldUpOthers blocks every request to one host
// until the test lets go: the other host's requests must all finish in the
// meantime, in arrival order and, as fetching goes, in input order too.
func TestSaturatedHostDoesNotHoldUpOthers(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("ordered=%v", ordered), func(t *testing.T) {
			release := make(chan struct{})
			var fastDone atomic.Int64
			h := serveHosts(t, func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.Host, "127.0.0.1") {
					select {
					case <-release:
					case <-r.Context().Done():
						return
					}
				} else {
					defer fastDone.Add(1)
				}
				fmt.Fprint(w, "{}")
			})
			// 6 items to the stuck host first, then 40 to the other.
			var urls []string
			for i := range 6 {
				urls = append(urls, fmt.Sprintf("%s/slow/%d", h.urls[0], i))
			}
			for i := range 40 {
				urls = append(urls, fmt.Sprintf("%s/fast/%d", h.urls[1], i))
			}
			opts := []stages.Option{stages.WithConcurrency(4), stages.WithPerHost(2)}
			if ordered {
				opts = append(opts, stages.WithInputOrder())
			}
			p := pipeline.New(t.Context())
			recs := stages.Fetch(stages.URLs(p, urls), opts...)
			results := make(chan stages.Record)
			go func() {
				defer close(results)
				for r := range pipeline.All(recs) {
					results <- r
				}
			}()
			if !ordered {
				for i := range 40 {
					r := receive(t, results, fmt.Sprintf("fast record %d", i))
					if !strings.Contains(r.URL, "/fast/") {
						t.Fatalf("record %d is %s, while the slow host is stuck", i, r.URL)
					}
				}
			} else {
				// Records wait for the stuck ones in front; fetching goes
				// on until Fetch's window of twice its concurrency is
				// full: 6 stuck items and 2 fast ones.
				waitFor(t, "the window's fast requests to be served", func() bool { return fastDone.Load() == 2 })
				time.Sleep(50 * time.Millisecond)
				if got := fastDone.Load(); got != 2 {
					t.Errorf("%d fast requests served while the window was full, want 2", got)
				}
			}
			if got := h.each[0].peak.Load(); got > 2 {
				t.Errorf("the stuck host saw %d requests at once, limit 2", got)
			}
			close(release)
			n := 0
			for range results {
				n++
			}
			if want := map[bool]int{false: 6, true: 46}[ordered]; n != want {
				t.Errorf("%d records after the release, want %d", n, want)
			}
		})
	}
}

// TestFetchKeepsToRates measures start rates at the server over a few
// seconds. The bounds are generous for a shared machine: the figure itself
// belongs to the benchmark.
func TestFetchKeepsToRates(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	tests := []struct {
		name string
		opts []stages.Option
		want float64 // starts per second, per host when hostRate
		host bool
	}{
		{"overall", []stages.Option{stages.WithRate(20, time.Second)}, 20, false},
		{"per host, per minute", []stages.Option{stages.WithHostRate(600, time.Minute)}, 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := serveHosts(t, sleepy)
			p := pipeline.New(t.Context())
			recs := collect(t, stages.Fetch(stages.URLs(p, h.alternate(40, "")), append(tt.opts, stages.WithConcurrency(16))...))
			if len(recs) != 40 {
				t.Fatalf("%d records", len(recs))
			}
			rate := func(starts []time.Time) float64 {
				first, last := starts[0], starts[0]
				for _, s := range starts {
					first, last = minTime(first, s), maxTime(last, s)
				}
				return float64(len(starts)-1) / last.Sub(first).Seconds()
			}
			var got []float64
			if tt.host {
				got = []float64{rate(h.starts(0)), rate(h.starts(1))}
			} else {
				got = []float64{rate(append(h.starts(0), h.starts(1)...))}
			}
			for _, r := range got {
				if ratio := r / tt.want; ratio < 0.8 || ratio > 1.1 {
					t.Errorf("%.1f starts/s, %.2f× the %.0f/s asked for", r, ratio, tt.want)
				}
				t.Logf("%.2f starts/s for %.0f/s", r, tt.want)
			}
		})
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// failFirst answers 503 to the first request for each path, then {}: an
// endpoint that fails once, for any method.
func failFirst(t *testing.T) string {
	var mu sync.Mutex
	seen := make(map[string]bool)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		again := seen[r.URL.Path]
		seen[r.URL.Path] = true
		mu.Unlock()
		if !again {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "{}")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRetries(t *testing.T) {
	api := startAPI(t, fakeapi.Config{})
	u := api.URL()
	once := failFirst(t)
	get := func(path string) string { return fmt.Sprintf(`{"url":"%s%s"}`, u, path) }
	post := func(path string) string { return fmt.Sprintf(`{"url":"%s%s","method":"POST"}`, once, path) }
	tests := []struct {
		name     string
		spec     string
		opts     []stages.Option
		attempts int
		kind     stages.Kind
	}{
		{"503 twice, then 200", get("/r/a.json?fail=2&id=a"), nil, 3, ""},
		{"retries run out", get("/r/b.json?fail=5&id=b"), nil, 3, stages.KindHTTPStatus},
		{"more retries asked for", get("/r/c.json?fail=4&id=c"), []stages.Option{stages.WithRetries(4)}, 5, ""},
		{"404 is not worth a retry", get("/r/d.json?status=404"), nil, 1, stages.KindHTTPStatus},
		{"a status of one's choosing", get("/r/e.json?fail=1&id=e&status=500"), []stages.Option{stages.WithRetryOn([]int{500})}, 2, ""},
		{"POST is not retried", post("/f"), nil, 1, stages.KindHTTPStatus},
		{"unless asked", post("/g"), []stages.Option{stages.WithRetryUnsafe()}, 2, ""},
		{"PUT is idempotent", fmt.Sprintf(`{"url":"%s/h","method":"PUT"}`, once), nil, 2, ""},
		{"a refused connection is retried, even for POST", fmt.Sprintf(`{"url":"http://%s/","method":"POST"}`, closedPort(t)), nil, 3, stages.KindConnect},
		{"no retries", get("/r/h.json?fail=1&id=h"), []stages.Option{stages.WithRetries(0)}, 1, stages.KindHTTPStatus},
		{"a policy of one's own: 404 until the third", get("/r/i.json?status=404"), []stages.Option{stages.WithRetryPolicy(
			func(req *stages.Request, rec *stages.Record, retryAfter time.Duration) (time.Duration, bool) {
				return 0, rec.Status == 404 && rec.Attempts < 3 && req.Method == "GET"
			})}, 3, stages.KindHTTPStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := pipeline.New(t.Context())
			opts := tt.opts
			if !strings.Contains(tt.name, "policy") { // a policy sets its own waits
				opts = append(opts, stages.WithMaxRetryWait(50*time.Millisecond))
			}
			r := collect(t, stages.Fetch(stages.Specs(p, strings.NewReader(tt.spec+"\n")), opts...))[0]
			if r.Attempts != tt.attempts {
				t.Errorf("%d attempts, want %d", r.Attempts, tt.attempts)
			}
			if (r.Err == nil) != (tt.kind == "") || (r.Err != nil && r.Err.Kind != tt.kind) {
				t.Errorf("error %v, want kind %q", r.Err, tt.kind)
			}
		})
	}
}

// TestRetryAfter checks that the server's Retry-After is waited out, in
// seconds or as a date, and that the wait gives its slot to other work.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		header func() string
		minGap time.Duration
	}{
		{"seconds", func() string { return "1" }, time.Second},
		{"HTTP date", func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var slow []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/slow" {
					mu.Lock()
					slow = append(slow, time.Now())
					first := len(slow) == 1
					mu.Unlock()
					if first {
						w.Header().Set("Retry-After", tt.header())
						w.WriteHeader(http.StatusTooManyRequests)
						return
					}
				}
				fmt.Fprint(w, "{}")
			}))
			defer srv.Close()
			p := pipeline.New(t.Context())
			// One slot: the fast item can only go while the slow one waits.
			recs := collect(t, stages.Fetch(stages.URLs(p, []string{srv.URL + "/slow", srv.URL + "/fast"}), stages.WithConcurrency(1)))
			if len(recs) != 2 || recs[0].URL != srv.URL+"/fast" {
				t.Fatalf("the fast item did not finish first, during the wait: %+v", recs)
			}
			r := recs[1]
			if !r.OK() || r.Attempts != 2 {
				t.Fatalf("slow item: attempts %d, error %v", r.Attempts, r.Err)
			}
			if gap := slow[1].Sub(slow[0]); gap < tt.minGap {
				t.Errorf("retried after %v, before the %v asked for", gap, tt.minGap)
			}
		})
	}
	t.Run("capped", func(t *testing.T) {
		api := startAPI(t, fakeapi.Config{})
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		p := pipeline.New(ctx)
		r := collect(t, stages.Fetch(stages.URLs(p, []string{api.URL() + "/r/x.json?fail=1&id=x&status=429&retry_after=3600"}),
			stages.WithMaxRetryWait(100*time.Millisecond)))[0]
		if !r.OK() || r.Attempts != 2 {
			t.Errorf("attempts %d, error %v: the hour asked for was not capped", r.Attempts, r.Err)
		}
	})
}

// TestMisbehavingServersEndInTime: each way a server can misbehave ends as
// the right kind of record, promptly, and leaves nothing running (TestMain
// checks for leaks).
func TestMisbehavingServersEndInTime(t *testing.T) {
	api := startAPI(t, fakeapi.Config{})
	u := api.URL() + "/r/x.json?"
	tests := []struct {
		name   string
		url    string
		header string
		kind   stages.Kind
	}{
		{"redirect loop", u + "loop=1", "", stages.KindRedirect},
		{"too many redirects", u + "redirect=15", "", stages.KindRedirect},
		{"connection reset mid-body", u + "reset=1", "", stages.KindNetwork},
		{"a body that trickles forever", u + "trickle=1", "", stages.KindTimeout},
		{"a server that never answers", u + "hang=1", "", stages.KindTimeout},
		{"gzip bomb", u + "bomb=4000000000", "", stages.KindTooLarge},
		{"gzip bomb, Accept-Encoding set by hand", u + "bomb=4000000000", "gzip", stages.KindTooLarge},
		{"gzip asked for by hand is decoded", u + "gzip=1", "gzip", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			opts := []stages.Option{stages.WithTimeout(500 * time.Millisecond), stages.WithMaxBody(1 << 20),
				stages.WithRetries(1), stages.WithMaxRetryWait(10 * time.Millisecond)}
			if tt.header != "" {
				opts = append(opts, stages.WithHeader("Accept-Encoding", tt.header))
			}
			p := pipeline.New(ctx)
			r := collect(t, stages.Decode(stages.Fetch(stages.URLs(p, []string{tt.url}), opts...), stages.JSON))[0]
			if ctx.Err() != nil {
				t.Fatal("did not end within 10 s")
			}
			if (r.Err == nil) != (tt.kind == "") || (r.Err != nil && r.Err.Kind != tt.kind) {
				t.Errorf("error %v, want kind %q", r.Err, tt.kind)
			}
			if tt.kind == "" && !strings.HasPrefix(string(r.Body), `{"kind":"Listing"`) {
				t.Errorf("body not decoded: %.40q", r.Body)
			}
		})
	}
}

// TestScheduleBoundsReading is TestBackpressureBoundsReading for the
// scheduler: with the sink blocked, the source stops after a number of
// items fixed by the schedule's window and the buffers.
func TestScheduleBoundsReading(t *testing.T) {
	const c, b = 8, 16
	api := startAPI(t, fakeapi.Config{})
	in := &endless{base: api.URL(), pad: 4<<10 - 64}
	window := max(2*c, c+64)
	// The sink's 1, Decode's b+1, Fetch's output b and the record it is
	// emitting, its window, and Lines' b+1.
	maxItems := 1 + (b + 1) + b + 1 + window + (b + 1)
	maxBytes := int64(maxItems*in.lineLen() + bufioSlack)

	p := pipeline.New(t.Context())
	recs := stages.Decode(stages.Fetch(stages.Lines(p, in), stages.WithConcurrency(c), stages.WithPerHost(c)), stages.None)
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- pipeline.ForEach(recs, func(_ context.Context, _ stages.Record) error {
			<-release
			return errors.New("seen enough")
		})
	}()
	requests := func() int64 { return api.Handler().Stats().Requests }
	waitFor(t, "the pipeline to fill", func() bool { return requests() >= int64(c) })
	settle(in, requests)
	t.Logf("with the sink blocked: %d requests, %d bytes read (bound %d)", requests(), in.read.Load(), maxBytes)
	if got := in.read.Load(); got > maxBytes {
		t.Errorf("source read %d bytes (%d lines) with the sink blocked, want ≤ %d", got, got/int64(in.lineLen()), maxBytes)
	}
	close(release)
	<-done
}

// TestCancelDuringBackoff: items waiting to be retried end at once when the
// run is cancelled, each with its record.
func TestCancelDuringBackoff(t *testing.T) {
	api := startAPI(t, fakeapi.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var urls []string
	for i := range 20 {
		urls = append(urls, fmt.Sprintf("%s/r/%d.json?status=503&retry_after=60", api.URL(), i))
	}
	p := pipeline.New(ctx)
	recs := stages.Fetch(stages.URLs(p, urls), stages.WithConcurrency(4), stages.WithMaxRetryWait(time.Minute))
	// Fetch holds twice its concurrency: 8 items wait for a retry, and
	// reading stops.
	go func() {
		for api.Handler().Stats().ByStatus[503] < 8 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	n := 0
	for r := range pipeline.All(recs) {
		n++
		// The first attempt's 503, or, for one whose answer was still on
		// its way when the cancel came, canceled; an item the cancel
		// caught before it started was not sent.
		switch {
		case r.Attempts == 0 && r.Err != nil && r.Err.Kind == stages.KindCanceled:
		case r.Attempts == 1 && r.Err != nil && (r.Err.Kind == stages.KindHTTPStatus || r.Err.Kind == stages.KindCanceled):
		default:
			t.Errorf("record %d: attempts %d, error %v; want the first attempt's 503, or not sent", r.Seq, r.Attempts, r.Err)
		}
	}
	if n != 20 {
		t.Errorf("%d records for 20 items", n)
	}
}

// TestTimeoutStartsWithTheAttempt: a request that waits its turn is not
// timed while it waits. With one slot, the last of five 150 ms requests
// waits 600 ms, past its 400 ms limit, yet must not time out.
func TestTimeoutStartsWithTheAttempt(t *testing.T) {
	api := startAPI(t, fakeapi.Config{Latency: fakeapi.Latency{Min: 150 * time.Millisecond, Max: 150 * time.Millisecond}})
	var urls []string
	for i := range 5 {
		urls = append(urls, fmt.Sprintf("%s/r/%d.json", api.URL(), i))
	}
	for _, opts := range [][]stages.Option{
		{stages.WithRetries(0)},              // the plain path
		{stages.WithPerHost(1)},              // the scheduler, a per-host wait
		{stages.WithRate(1000, time.Second)}, // the scheduler, a rate wait
	} {
		p := pipeline.New(t.Context())
		recs := collect(t, stages.Fetch(stages.URLs(p, urls), append(opts, stages.WithConcurrency(1), stages.WithTimeout(400*time.Millisecond))...))
		for _, r := range recs {
			if !r.OK() || r.Attempts != 1 {
				t.Errorf("record %d: attempts %d, error %v: timed while it waited its turn", r.Seq, r.Attempts, r.Err)
			}
		}
	}
}

// panicky is a RoundTripper with a bug.
type panicky struct{}

func (panicky) RoundTrip(*http.Request) (*http.Response, error) { panic("boom in transport") }

// TestPanicInATransportEndsTheRun, on the plain path and the scheduler's.
func TestPanicInATransportEndsTheRun(t *testing.T) {
	for _, opts := range [][]stages.Option{{stages.WithRetries(0)}, nil, {stages.WithPerHost(1), stages.WithInputOrder()}} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		p := pipeline.New(ctx)
		recs := stages.Fetch(stages.URLs(p, []string{"http://127.0.0.1:1/a", "http://127.0.0.1:1/b"}),
			append(opts, stages.WithClient(&http.Client{Transport: panicky{}}))...)
		var runErr error
		for _, err := range pipeline.All(recs) {
			if err != nil {
				runErr = err
			}
		}
		if ctx.Err() != nil || runErr == nil || !strings.Contains(runErr.Error(), "boom in transport") {
			t.Errorf("run ended with %v (context: %v), want the panic as its error", runErr, ctx.Err())
		}
		cancel()
	}
}

// TestInvalidItemsTakeNoRateTokens: with one start an hour allowed, the
// one valid item must get it, whatever invalid items come before it.
func TestInvalidItemsTakeNoRateTokens(t *testing.T) {
	api := startAPI(t, fakeapi.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	items := []string{"ftp://x/1", "http://", "::bad", "", api.URL() + "/r/ok.json"}
	for _, opts := range [][]stages.Option{{stages.WithRate(1, time.Hour)}, {stages.WithHostRate(1, time.Hour)}} {
		p := pipeline.New(ctx)
		recs := collect(t, stages.Fetch(stages.URLs(p, items), opts...))
		if ctx.Err() != nil {
			t.Fatal("the valid item waited for a token an invalid one took")
		}
		for _, r := range recs {
			if wantOK := r.Seq == 4; r.OK() != wantOK || (!wantOK && r.Err.Kind != stages.KindInvalidInput) {
				t.Errorf("record %d: ok %v, error %v", r.Seq, r.OK(), r.Err)
			}
		}
	}
}

// TestFetchStagesShareABudget: two Fetch stages, the second fetching a
// follow-up for each record of the first, share one budget of 4 per host.
// The server sees at most 4 at once from both together, and the run does
// not deadlock, though each stage holds items the other needs a slot for.
func TestFetchStagesShareABudget(t *testing.T) {
	h := serveHosts(t, sleepy)
	budget := pipeline.NewBudget(pipeline.Limits{InFlight: 16}, func(string) pipeline.Limits {
		return pipeline.Limits{InFlight: 4}
	})
	p := pipeline.New(t.Context())
	first := stages.Fetch(stages.URLs(p, h.alternate(60, "latency=5ms")), stages.WithBudget(budget))
	follow := pipeline.Map(first, func(_ context.Context, r stages.Record) (stages.Request, error) {
		return stages.Request{Seq: r.Seq, URL: r.URL + "&again=1"}, nil
	})
	recs := collect(t, stages.Fetch(follow, stages.WithBudget(budget)))
	if len(recs) != 60 {
		t.Fatalf("%d records, want 60", len(recs))
	}
	for i := range h.each {
		if peak := h.each[i].peak.Load(); peak > 4 {
			t.Errorf("host %d saw %d requests at once from both stages, limit 4", i, peak)
		} else {
			t.Logf("host %d: peak %d in flight", i, peak)
		}
	}
}

// TestGraceLetsRequestsInFlightFinish: with WithGrace, a cancel stops the
// reading, and a request in flight that finishes within the grace keeps
// its own record, while one that does not is canceled when it runs out;
// a deadline gets no grace, and its records name it.
func TestGraceLetsRequestsInFlightFinish(t *testing.T) {
	api := startAPI(t, fakeapi.Config{})
	urls := []string{api.URL() + "/r/quick.json?latency=200ms", api.URL() + "/r/stuck.json?hang=1"}
	t.Run("a cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		p := pipeline.New(ctx)
		time.AfterFunc(50*time.Millisecond, cancel)
		recs := collect(t, stages.Fetch(stages.URLs(p, urls), stages.WithGrace(600*time.Millisecond), stages.WithInputOrder()))
		if !recs[0].OK() {
			t.Errorf("the request that finished within the grace: %v", recs[0].Err)
		}
		if recs[1].Err == nil || recs[1].Err.Kind != stages.KindCanceled || !strings.Contains(recs[1].Err.Message, "interrupted") {
			t.Errorf("the request that did not: %v", recs[1].Err)
		}
	})
	t.Run("a deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeoutCause(t.Context(), 100*time.Millisecond, errors.New("deadline of 100ms reached"))
		defer cancel()
		p := pipeline.New(ctx)
		for _, r := range collect(t, stages.Fetch(stages.URLs(p, urls), stages.WithGrace(2*time.Second))) {
			if r.Err == nil || r.Err.Kind != stages.KindCanceled || !strings.Contains(r.Err.Message, "the run stopped: deadline of 100ms reached") {
				t.Errorf("record %d: %v, want canceled at the deadline, named", r.Seq, r.Err)
			}
		}
	})
}

// TestTraceTellsRetriesAndRedirects: WithTrace hears of each retry, with
// why (the message, the kind and the status) and the wait (and whether
// Retry-After set it), and of each redirect, with the item's seq and URL;
// of only the events it asks for, where it names any.
func TestTraceTellsRetriesAndRedirects(t *testing.T) {
	api := startAPI(t, fakeapi.Config{})
	retry := "0 retry try=1 server answered 503 Service Unavailable (http_status 503) retry-after=true"
	redirect := "1 redirect to /r/b.json?redirect=0"
	for _, tt := range []struct {
		name   string
		events []stages.TraceEvent
		want   []string
	}{
		{"all", nil, []string{retry, redirect}},
		{"retries", []stages.TraceEvent{stages.TraceRetry}, []string{retry}},
		{"redirects", []stages.TraceEvent{stages.TraceRedirect, stages.TraceSpoolFull}, []string{redirect}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			trace := func(tr stages.Trace) {
				mu.Lock()
				defer mu.Unlock()
				switch tr.Event {
				case stages.TraceRetry:
					got = append(got, fmt.Sprintf("%d retry try=%d %s (%s %d) retry-after=%v", tr.Seq, tr.Try, tr.Reason, tr.Kind, tr.Status, tr.FromRetryAfter))
				case stages.TraceRedirect:
					got = append(got, fmt.Sprintf("%d redirect to %s", tr.Seq, strings.TrimPrefix(tr.To, api.URL())))
				}
			}
			p := pipeline.New(t.Context())
			urls := []string{api.URL() + "/r/a.json?fail=1&id=" + tt.name + "&retry_after=1", api.URL() + "/r/b.json?redirect=1"}
			for _, r := range collect(t, stages.Fetch(stages.URLs(p, urls), stages.WithTrace(trace, tt.events...), stages.WithMaxRetryWait(time.Millisecond))) {
				if !r.OK() {
					t.Errorf("record %d: %v", r.Seq, r.Err)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("traces %q, want %q", got, tt.want)
			}
		})
	}
}
