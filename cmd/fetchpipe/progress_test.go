package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// TestProgressLeavesTheRecordsAlone: with --progress always, stdout holds
// the same records as without it (elapsed_ms aside, in input order), and
// away from a terminal stderr gets plain status lines, with no carriage
// return, that count what was done, the last at the end.
func TestProgressLeavesTheRecordsAlone(t *testing.T) {
	defer func(d time.Duration) { statusEvery = d }(statusEvery)
	statusEvery = 20 * time.Millisecond
	base := fake(t, fakeapi.Config{Latency: fakeapi.Latency{Min: 5 * time.Millisecond, Max: 20 * time.Millisecond}})
	var in strings.Builder
	for i := range 60 {
		q := ""
		if i%7 == 0 {
			q = "?status=404"
		}
		fmt.Fprintf(&in, "%s/r/%d.json%s\n", base, i, q)
	}
	strip := func(out []byte) string {
		var b strings.Builder
		for line := range bytes.Lines(out) {
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			delete(m, "elapsed_ms")
			j, _ := json.Marshal(m)
			b.Write(append(j, '\n'))
		}
		return b.String()
	}
	without := runCmd(t, in.String(), "--ordered", "-c", "4", "--progress", "never")
	with := runCmd(t, in.String(), "--ordered", "-c", "4", "--progress", "always")
	if strip(with.stdout) != strip(without.stdout) {
		t.Errorf("the records differ with progress shown")
	}
	if !strings.Contains(with.stderr, "fetchpipe: ") || !strings.Contains(with.stderr, " done of ") || strings.Contains(with.stderr, "\r") {
		t.Errorf("status lines %q", with.stderr)
	}
	// However short the run, its log says where it ended.
	short := runCmd(t, base+"/r/a.json\n", "--progress", "always", "--summary", "never")
	if lines := strings.Split(strings.TrimSpace(short.stderr), "\n"); !strings.HasPrefix(lines[len(lines)-1], "fetchpipe: 1 done of 1 read · 0 failed") {
		t.Errorf("a short run's status lines %q, want the last to count its one item done", short.stderr)
	}
	if strings.Contains(without.stderr, " done of ") {
		t.Errorf("--progress never printed %q", without.stderr)
	}
	if r := runCmd(t, "", "--progress", "sometimes"); r.code != exitUsage || !strings.Contains(r.stderr, "--progress must be auto, always or never") {
		t.Errorf("a bad --progress: exit status %d, %q", r.code, r.stderr)
	}
}

// TestBarStopsCleanly: the bar, drawn as on a terminal, shows the counts,
// prints lines written meanwhile above it, and leaves nothing running
// once stopped (goleak checks, at the end of the package's tests).
func TestBarStopsCleanly(t *testing.T) {
	var out syncBuffer
	c := &counts{tally: stages.NewTally()}
	c.total.Store(10)
	d := newDisplay(&out, true)
	d.start(c)
	for i := range 4 {
		r := stages.Record{Attempts: 1}
		if i == 0 {
			r.Err = &stages.Error{Kind: stages.KindTimeout}
		}
		c.tally.Add(&r)
	}
	fmt.Fprintln(d, "fetchpipe: a line above the bar")
	time.Sleep(300 * time.Millisecond)
	d.stop()
	d.stop() // twice is safe
	fmt.Fprintln(d, "fetchpipe: a line after")
	s := out.String()
	for _, want := range []string{"4/10 · 1 failed", "a line above the bar", "a line after"} {
		if !strings.Contains(s, want) {
			t.Errorf("the display lacks %q:\n%q", want, s)
		}
	}
}

// syncBuffer is a bytes.Buffer for writers on several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStatusCountsItemsHeldForOrder: in input order, records finished
// behind a slow item are not yet written; the status line says how many,
// and its rate and ETA count them, rather than stall with the writes.
func TestStatusCountsItemsHeldForOrder(t *testing.T) {
	tests := []struct {
		name    string
		ordered bool
		want    []string
		not     []string
	}{
		{"in input order", true, []string{"2/10 · 0 failed · 4 held for order · ", "in flight"}, nil},
		{"as completed", false, []string{"2/10 · 0 failed · "}, []string{"held for order"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &counts{tally: stages.NewTally(), ordered: tt.ordered}
			c.total.Store(10)
			for seq := range int64(6) {
				c.tally.Observe(pipeline.Event{Kind: pipeline.EventStarted, Seq: seq, Try: 1})
				c.tally.Observe(pipeline.Event{Kind: pipeline.EventDone, Seq: seq, Try: 1})
			}
			for range 2 {
				c.tally.Add(&stages.Record{Attempts: 1})
			}
			// Six of ten finished in two seconds: four more take about
			// one and a third, whatever was written.
			s := c.status(time.Now().Add(-2 * time.Second))
			for _, want := range append(tt.want, "3.0/s", "ETA 1s") {
				if !strings.Contains(s, want) {
					t.Errorf("status %q lacks %q", s, want)
				}
			}
			for _, not := range tt.not {
				if strings.Contains(s, not) {
					t.Errorf("status %q has %q", s, not)
				}
			}
		})
	}
}

// TestStatusFollowsTheRecentPace: the rate and the ETA are those of the
// last 20 items to finish, not the run's average, which a pace that
// changed (a host cut to one in flight) leaves far off; and a long wait
// with nothing finishing slows the pace shown rather than leave no ETA.
func TestStatusFollowsTheRecentPace(t *testing.T) {
	c := &counts{tally: stages.NewTally()}
	c.total.Store(100)
	done := int64(0)
	finish := func(to int64) {
		for ; done < to; done++ {
			c.tally.Observe(pipeline.Event{Kind: pipeline.EventStarted, Seq: done, Try: 1})
			c.tally.Observe(pipeline.Event{Kind: pipeline.EventDone, Seq: done, Try: 1})
			c.tally.Add(&stages.Record{Attempts: 1})
		}
	}
	start := time.Now()
	status := func(at time.Duration) string { return c.statusAt(start, start.Add(at)) }
	check := func(s string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(s, w) {
				t.Errorf("status %q lacks %q", s, w)
			}
		}
	}
	// Ten a second for six seconds.
	for sec := int64(1); sec <= 6; sec++ {
		finish(10 * sec)
		status(time.Duration(sec) * time.Second)
	}
	check(status(6*time.Second), "60/100", "10/s", "ETA 4s")
	// Then one every ten seconds: the last 20 took 200 s. The run's
	// average (80 in 206 s) would say 51 s.
	for k := range int64(20) {
		finish(61 + k)
		status(time.Duration(16+10*k) * time.Second)
	}
	check(status(206*time.Second), "80/100", "0.10/s", "ETA 3m20s")
	// A wait shorter than the last 20 took leaves the pace as it was;
	// a longer one slows it.
	check(status(306*time.Second), "80/100", "0.10/s", "ETA 3m20s")
	check(status(506*time.Second), "80/100", "0.07/s", "ETA 5m0s")
}

// TestStatusOfBatches: answers that come in batches, every request in
// flight taking the same time, show the pace of the batches however long
// since the last one.
func TestStatusOfBatches(t *testing.T) {
	c := &counts{tally: stages.NewTally()}
	c.total.Store(1000)
	done := int64(0)
	start := time.Now()
	var s string
	// 20 in flight, each a second: 20 a second, in steps, seen every 200 ms.
	for tick := range 50 {
		at := time.Duration(tick) * 200 * time.Millisecond
		for ; done < 20*int64(at/time.Second); done++ {
			c.tally.Observe(pipeline.Event{Kind: pipeline.EventStarted, Seq: done, Try: 1})
			c.tally.Observe(pipeline.Event{Kind: pipeline.EventDone, Seq: done, Try: 1})
			c.tally.Add(&stages.Record{Attempts: 1})
		}
		if s = c.statusAt(start, start.Add(at)); tick > 15 && !strings.Contains(s, " · 20/s · ") {
			t.Errorf("at %s: status %q, want 20/s", at, s)
		}
	}
}

// TestStatusLastOut: "last N out" stands for the ETA only once every item
// left is in flight; items waiting on a limit (a host --auto-throttle
// holds at one) go at the pace, and have an ETA.
func TestStatusLastOut(t *testing.T) {
	tests := []struct {
		name             string
		inFlight, parked int64 // of the 8 left of 10
		want             string
	}{
		{"all in flight", 8, 0, "last 8 out"},
		{"most waiting on a limit", 1, 7, "ETA "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &counts{tally: stages.NewTally()}
			c.total.Store(10)
			for seq := range int64(2) {
				c.tally.Observe(pipeline.Event{Kind: pipeline.EventStarted, Seq: seq, Try: 1})
				c.tally.Observe(pipeline.Event{Kind: pipeline.EventDone, Seq: seq, Try: 1})
				c.tally.Add(&stages.Record{Attempts: 1})
			}
			for seq := range tt.inFlight {
				c.tally.Observe(pipeline.Event{Kind: pipeline.EventStarted, Seq: 2 + seq, Try: 1})
			}
			for seq := range tt.parked {
				c.tally.Observe(pipeline.Event{Kind: pipeline.EventWaiting, Seq: 2 + tt.inFlight + seq})
			}
			if s := c.status(time.Now().Add(-2 * time.Second)); !strings.Contains(s, tt.want) {
				t.Errorf("status %q lacks %q", s, tt.want)
			}
		})
	}
}

// TestStatusOfAWorker: a worker's progress says what the queue holds, and
// that it waits once the queue is empty, not how much of an input is left.
func TestStatusOfAWorker(t *testing.T) {
	for _, tc := range []struct {
		name     string
		inQueue  uint64
		inFlight bool
		want     string
	}{
		{"items waiting", 2400, true, "· 2,400 in the queue ·"},
		{"the last ones out", 0, true, "· 0 in the queue ·"},
		{"nothing to do", 0, false, "· the queue is empty: waiting for items ·"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &counts{tally: stages.NewTally(), queue: func() (uint64, bool) { return tc.inQueue, true }}
			c.total.Store(-1)
			if tc.inFlight {
				c.tally.Observe(pipeline.Event{Kind: pipeline.EventStarted, Seq: 1, Try: 1})
			}
			s := c.status(time.Now().Add(-2 * time.Second))
			if !strings.Contains(s, tc.want) || !strings.Contains(s, "taken from the queue") {
				t.Errorf("status %q lacks %q", s, tc.want)
			}
		})
	}
}
