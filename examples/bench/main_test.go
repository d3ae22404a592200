package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/goleak"
)

// TestMain also serves as the clients under test: the bench re-executes
// its own binary with -client, and under "go test" that binary is this one.
func TestMain(m *testing.M) {
	if isClient(os.Args[1:]) {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

// TestBenchTiny runs scenarios end to end at N≈50: fetchpipe built, the
// fake API and every client started as processes, and every row complete.
// It asserts what the runs did, never how fast. curl and vegeta run where
// they are at hand; vegeta is built only from the module cache
// (GOPROXY=off), as the tests never reach the network, and where it
// cannot be its table must say so.
func TestBenchTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fetchpipe and runs a few dozen processes")
	}
	t.Setenv("GOPROXY", "off")
	var out, stderr bytes.Buffer
	// -python none: the rows must not depend on what Python this machine has.
	args := []string{"-tiny", "-scenarios", "S2,S3,S6,S7,S8,S9", "-repeat", "1", "-json", "-progress=false", "-python", "none"}
	if code := run(t.Context(), args, strings.NewReader(""), &out, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("-json output does not decode: %v\n%s", err, out.String())
	}
	if got := strings.Join(ids(rep.Scenarios), ","); got != "S2,S3,S6,S7,S8,S9" {
		t.Fatalf("scenarios %v, want S2, S3, S6, S7, S8 and S9", got)
	}
	want := map[string][]string{
		"S2": {"sequential", "pool", "bare", "fetchpipe", "curl?", "vegeta?"},
		"S3": {"sequential", "pool", "bare", "discard", "fetchpipe", "curl?", "vegeta?"},
		"S6": {"discard", "fetchpipe", "fetchpipe -d none", "curl?", "vegeta?"},
		"S7": {"fetchpipe", "fetchpipe --ordered", "fetchpipe", "fetchpipe --ordered"},
		"S8": {"fetchpipe", "fetchpipe", "fetchpipe"},
		"S9": {
			"fetchpipe " + throttleFlags + " --retries 10", "fetchpipe " + throttleFlags + " --per-host 8", "fetchpipe " + throttleFlags + " --auto-throttle --retries 10",
			"fetchpipe " + throttleFlags, "fetchpipe " + throttleFlags, "fetchpipe " + throttleFlags, "fetchpipe " + throttleFlags, "fetchpipe " + throttleFlags + " --auto-throttle",
			"fetchpipe " + throttleFlags, "fetchpipe " + throttleFlags, "fetchpipe " + throttleFlags, "fetchpipe " + throttleFlags, "fetchpipe " + throttleFlags + " --auto-throttle",
			"fetchpipe " + throttleFlags + " --auto-throttle --retries 10 -v",
		},
	}
	for _, s := range rep.Scenarios {
		var got []string
		for _, r := range s.Rows {
			got = append(got, r.Strategy)
			if r.Problem != "" || r.ExitCode != 0 {
				t.Errorf("%s %s: exit %d, problem %q", s.ID, r.Label, r.ExitCode, r.Problem)
			}
			if s.ID == "S8" && r != s.Rows[len(s.Rows)-1] {
				continue // a reading taken while the run went on: no server figures, CPU to 10 ms
			}
			// A request the server refused for its --capacity (S9) is not
			// served; its retry is.
			if r.Lines >= 0 && r.Lines != int64(r.Measured) || r.ServerRequests-r.ServerRefused != int64(r.Measured) || r.ServerOK != int64(r.Measured) || r.Measured == 0 {
				t.Errorf("%s %s: %d lines, %d requests (%d refused) and %d OKs at the server for %d URLs", s.ID, r.Label, r.Lines, r.ServerRequests, r.ServerRefused, r.ServerOK, r.Measured)
			}
			if r.CPUS <= 0 || r.PeakRSSMB <= 0 {
				t.Errorf("%s %s: CPU %v s, peak RSS %v MB: the child's usage was not read", s.ID, r.Label, r.CPUS, r.PeakRSSMB)
			}
		}
		// -tiny is too small to judge a target by; a scenario that has
		// targets says first what they are for.
		targets := false
		for _, r := range s.Ratios {
			if r.Max > 0 || r.Min > 0 {
				targets = true
				if r.Met != nil || r.NotJudged != "-tiny" {
					t.Errorf("%s %q: met %v, not judged %q; want it not judged at -tiny", s.ID, r.Name, r.Met, r.NotJudged)
				}
			}
		}
		if targets && (len(s.Notes) == 0 || !strings.HasPrefix(s.Notes[0], "target")) {
			t.Errorf("%s has targets, and its first note does not say what they are for: %q", s.ID, s.Notes)
		}
		if w := expectRows(want[s.ID], s); strings.Join(got, ",") != strings.Join(w, ",") {
			t.Errorf("%s rows %v, want %v", s.ID, got, w)
		}
		if len(s.Ratios) == 0 {
			t.Errorf("%s has no ratios", s.ID)
		}
	}
	if r := rep.Scenarios[0].Rows[0]; !r.Extrapolated || r.Measured >= r.N {
		t.Errorf("S2 sequential measured %d of %d URLs, extrapolated %v: want a sample", r.Measured, r.N, r.Extrapolated)
	}
	load := rep.Scenarios[4].Rows
	if last := load[len(load)-1]; last.ErrorRecords == nil || *last.ErrorRecords != 0 || last.PeakFDs < 1 {
		t.Errorf("S8: error records %v, peak descriptors %d: want 0 and some", last.ErrorRecords, last.PeakFDs)
	}
	if n := []int{load[0].N, load[1].N, load[2].N}; n[0] >= n[1] || n[1] >= n[2] {
		t.Errorf("S8 rows at N %v, want growing", n)
	}
	for _, r := range load[:len(load)-1] {
		if r.ServerPeakInFlight != -1 {
			t.Errorf("S8 %s: srv peak %d; want -1, as no server was asked while the run went on", r.Label, r.ServerPeakInFlight)
		}
	}
	checkThrottle(t, rep.Scenarios[5])
	var table bytes.Buffer
	if err := rep.write(&table, false); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"S2 ", "S3 ", "S6 ", "S7 ", "S8 ", "S9 ", "fetchpipe / ideal", "sequential (extrapolated from 5)", "machine: ",
		"fetchpipe -d json / discard, CPU per request", "--ordered / unordered, wall", "records whose \"error\" is not null: 0 of 1000",
		"target ≤ 1.30: not judged at -tiny", "unordered / ideal, N=50", "--ordered / ideal, N=50", "the last slow URL starts only when a slot frees",
		"the heap is still growing to its working size",
		"\n  1. a server that refuses: ", "\n  2. a server that queues: ", "\n  2b. a server that slows at every load: ", "\n  3. two hosts at once, ", " attempts   refused  refused%",
		"target ≥ 0.83: not judged at -tiny", "target 0.50–1.50: not judged at -tiny", "note: 2b. the trade, no target: "} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("the table has no %q:\n%s", s, table.String())
		}
	}
	for _, s := range []string{": met", ": missed", "issue"} {
		if strings.Contains(table.String(), s) {
			t.Errorf("the table of a -tiny run has %q:\n%s", s, table.String())
		}
	}
}

// checkThrottle asserts what S9's rows must hold whatever the timing: the
// summary read from each run's stderr, a server's figures per host, a
// limit per host where --auto-throttle ran, and refusals where -c 64 met a
// server that takes 8.
func checkThrottle(t *testing.T, s *scenarioResult) {
	t.Helper()
	if len(s.Rows) != 14 {
		t.Fatalf("S9 has %d rows, want 14", len(s.Rows))
	}
	two := s.Rows[len(s.Rows)-1]
	for _, r := range s.Rows {
		auto := strings.Contains(r.Strategy, "--auto-throttle")
		hosts := 1
		if r == two {
			hosts = 2
		}
		if r.LatencyP50S <= 0 || len(r.Hosts) != hosts || r.Section == "" {
			t.Errorf("S9 %s: p50 %v s, %d hosts, section %q: want a median, %d hosts and a section", r.Label, r.LatencyP50S, len(r.Hosts), r.Section, hosts)
		}
		var requests int64
		for _, h := range r.Hosts {
			requests += h.Requests
			if auto != (h.Limit > 0) {
				t.Errorf("S9 %s: %s has limit %d; want one only under --auto-throttle", r.Label, h.Host, h.Limit)
			}
		}
		if requests != r.ServerRequests {
			t.Errorf("S9 %s: the hosts' requests add up to %d, not the row's %d", r.Label, requests, r.ServerRequests)
		}
	}
	if r := s.Rows[0]; r.ServerRefused == 0 {
		t.Errorf("S9 %s: no request refused by a server that takes 8 at once", r.Label)
	}
	for _, h := range two.Hosts {
		// -v prints cuts, and growth at powers of two only: its last
		// line need not be the summary's limit, but there is one.
		if h.LimitChanges == 0 || h.LoggedLimit == 0 || h.Limit == 0 || h.Capacity == 0 {
			t.Errorf("S9 two hosts, %s: %d lines of -v, the last at %d, for a limit of %d at the end, capacity %d: want -v's lines and the summary's limit",
				h.Host, h.LimitChanges, h.LoggedLimit, h.Limit, h.Capacity)
		}
	}
}

// expectRows turns the rows a scenario may have into those it must have:
// a peer's ("curl?") where it ran, and none where a note says it was left
// out. A peer with neither is an error the comparison shows.
func expectRows(may []string, s *scenarioResult) []string {
	var want []string
	for _, st := range may {
		name, optional := strings.CutSuffix(st, "?")
		if optional && s.row(name) == nil && slices.ContainsFunc(s.Notes, func(n string) bool { return strings.HasPrefix(n, name+" is left out: ") }) {
			continue
		}
		want = append(want, name)
	}
	return want
}

// TestPeersLeftOut runs a scenario with peers where neither is at hand:
// the bench goes on without their rows, and its table says why.
func TestPeersLeftOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fetchpipe and runs a few processes")
	}
	var out, stderr bytes.Buffer
	args := []string{"-tiny", "-scenarios", "S6", "-repeat", "1", "-progress=false", "-curl", filepath.Join(t.TempDir(), "no-curl"), "-vegeta", "none"}
	if code := run(t.Context(), args, strings.NewReader(""), &out, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	for _, s := range []string{"note: curl is left out: ", "note: vegeta is left out: -vegeta none", "fetchpipe -d none"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("the table has no %q:\n%s", s, out.String())
		}
	}
	for _, s := range []string{"\n  curl ", "\n  vegeta "} {
		if strings.Contains(out.String(), s) {
			t.Errorf("the table has a row %q:\n%s", s, out.String())
		}
	}
}

// TestInterrupt cancels a run while a client of its second scenario is
// running, as Ctrl-C does: the first scenario's table comes out, the
// report says which was stopped, the exit status is 130, and no process
// the bench started is left.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fetchpipe and runs a few processes")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc to list the bench's processes with")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// Once the progress says the client has been started, give it a moment
	// to be running, then interrupt.
	var timer *time.Timer
	stderr := &watchFor{s: "fetchpipe --ordered -c ", f: func() { timer = time.AfterFunc(200*time.Millisecond, cancel) }}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var out bytes.Buffer
	args := []string{"-tiny", "-scenarios", "S5,S7", "-json", "-python", "none"}
	if code := run(ctx, args, strings.NewReader(""), &out, stderr); code != exitInterrupted {
		t.Fatalf("exit status %d, want %d; stderr:\n%s", code, exitInterrupted, stderr.String())
	}
	if left := children(t); len(left) > 0 {
		t.Errorf("processes left running: %s", strings.Join(left, ", "))
	}
	if !strings.Contains(stderr.String(), "bench: interrupted during S7") {
		t.Errorf("stderr does not say where the bench stopped:\n%s", stderr.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("-json output does not decode: %v\n%s", err, out.String())
	}
	if got := strings.Join(ids(rep.Scenarios), ","); got != "S5" || rep.Interrupted != "S7" {
		t.Errorf("scenarios %q, interrupted %q; want S5 done and S7 interrupted", got, rep.Interrupted)
	}
	var table bytes.Buffer
	if err := rep.write(&table, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "\nS5  ") || !strings.Contains(table.String(), "interrupted during S7") {
		t.Errorf("the tables do not show S5 and where the run stopped:\n%s", table.String())
	}
}

// watchFor is a stderr that calls f once what was written to it holds s.
type watchFor struct {
	s    string
	f    func()
	mu   sync.Mutex
	buf  bytes.Buffer
	seen bool
}

func (w *watchFor) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.seen && strings.Contains(w.buf.String(), w.s) {
		w.seen = true
		w.f()
	}
	return len(p), nil
}

func (w *watchFor) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// children lists the processes whose parent is this one, from /proc: the
// bench runs its servers and clients as children of the test.
func children(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // it ended meanwhile
		}
		// "PID (COMMAND) STATE PPID …", where COMMAND may hold spaces.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			found = append(found, e.Name()+" "+string(data[bytes.IndexByte(data, '('):i+1])+" "+f[0])
		}
	}
	return found
}

func ids(ss []*scenarioResult) []string {
	var v []string
	for _, s := range ss {
		v = append(v, s.ID)
	}
	return v
}

func TestURLReader(t *testing.T) {
	t.Parallel()
	const want = "B/r/name0.json?q\nC/r/name1.json?slow\nB/r/name2.json?q\nC/r/name3.json?slow\nB/r/name4.json?q\n"
	for _, name := range []string{"whole", "one byte at a time"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var r io.Reader = &urlReader{urls: urlSet{bases: []string{"B", "C"}, n: 5, query: "?q", slowEvery: 2, slowQuery: "?slow"}}
			if name != "whole" {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(r)
			if err != nil || string(got) != want {
				t.Errorf("read %q, %v; want %q", got, err, want)
			}
		})
	}
}

func TestParseOpenFiles(t *testing.T) {
	t.Parallel()
	limits := "Limit                     Soft Limit           Hard Limit           Units\n" +
		"Max processes             95938                95938                processes\n" +
		"Max open files            1024                 20000                files\n"
	if soft, hard := parseOpenFiles(limits), parseOpenFilesHard(limits); soft != 1024 || hard != 20000 {
		t.Errorf("soft %d, hard %d; want 1024 and 20000", soft, hard)
	}
	if got := parseOpenFiles("Max open files unlimited unlimited files\n"); got != 0 {
		t.Errorf("unlimited read as %d, want 0 (not known)", got)
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := medianOf(c.in); got != c.want {
			t.Errorf("medianOf(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestQueueScenarioTiny runs S10 on a few dozen URLs: enqueue, two
// workers, a real nats-server (built, if none is on the PATH, from the
// module's own requirement), and the results stream checked.
func TestQueueScenarioTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fetchpipe and nats-server")
	}
	t.Setenv("GOPROXY", "off")
	var out, stderr bytes.Buffer
	if code := run(t.Context(), []string{"-tiny", "-scenarios", "S10", "-json", "-progress=false", "-python", "none"}, strings.NewReader(""), &out, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("-json output does not decode: %v\n%s", err, out.String())
	}
	s := rep.Scenarios[0]
	var labels []string
	for _, r := range s.Rows {
		labels = append(labels, r.Strategy)
		// nats-server's CPU is read from /proc in ticks of 10 ms, which a
		// tiny run may not fill.
		if r.Problem != "" || r.ExitCode != 0 || r.CPUS <= 0 && r.Strategy != "nats-server" {
			t.Errorf("%s: exit %d, problem %q, CPU %v s", r.Label, r.ExitCode, r.Problem, r.CPUS)
		}
	}
	if got := strings.Join(labels, ","); got != "fetchpipe enqueue,worker 1,worker 2,both workers,nats-server" {
		t.Errorf("rows %s", got)
	}
	if both := s.Rows[3]; both.Pulled != int64(both.N) || both.Redelivered != 0 {
		t.Errorf("the workers pulled %d messages (%d redelivered) for %d items", both.Pulled, both.Redelivered, both.N)
	}
	if !strings.Contains(strings.Join(s.Notes, "\n"), "one each, none lost, none twice") {
		t.Errorf("notes: %q", s.Notes)
	}
}
