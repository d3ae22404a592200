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
// return, that count what was done.
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
// last 20 s, not the run's average, which a pace that changed (a host cut
// to one in flight) leaves far off.
func TestStatusFollowsTheRecentPace(t *testing.T) {
	c := &counts{tally: stages.NewTally()}
	c.total.Store(100)
	finish := func(from, to int64) {
		for seq := from; seq < to; seq++ {
			c.tally.Observe(pipeline.Event{Kind: pipeline.EventStarted, Seq: seq, Try: 1})
			c.tally.Observe(pipeline.Event{Kind: pipeline.EventDone, Seq: seq, Try: 1})
			c.tally.Add(&stages.Record{Attempts: 1})
		}
	}
	start := time.Now()
	steps := []struct {
		at       time.Duration
		finished int64
		want     []string
	}{
		{10 * time.Second, 50, []string{"50/100", "5.0/s", "ETA 10s"}},
		{20 * time.Second, 51, []string{"51/100", "2.5/s", "ETA 19s"}},
		// The last 20 s finished 2: 0.1 a second, and 48 left. The run's
		// average (52 in 30 s) would say 28 s.
		{30 * time.Second, 52, []string{"52/100", "0.10/s", "ETA 8m0s"}},
		{40 * time.Second, 52, []string{"52/100", "0.05/s", "ETA 16m0s"}},
		// Nothing in the last 20 s: no estimate at all.
		{50 * time.Second, 52, []string{"52/100", "0.00/s"}},
	}
	done := int64(0)
	for _, st := range steps {
		finish(done, st.finished)
		done = st.finished
		s := c.statusAt(start, start.Add(st.at))
		for _, want := range st.want {
			if !strings.Contains(s, want) {
				t.Errorf("at %s: status %q lacks %q", st.at, s, want)
			}
		}
		if st.at == 50*time.Second && strings.Contains(s, "ETA") {
			t.Errorf("at %s: status %q has an ETA with nothing finished of late", st.at, s)
		}
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
