package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in  string
		n   int
		per time.Duration
		bad bool
	}{
		{in: "50", n: 50, per: time.Second},
		{in: "50/s", n: 50, per: time.Second},
		{in: "3000/m", n: 3000, per: time.Minute},
		{in: "10/hour", n: 10, per: time.Hour},
		{in: "1/2s", n: 1, per: 2 * time.Second},
		{in: " 7 / min ", n: 7, per: time.Minute},
		{in: "0", bad: true},
		{in: "fast", bad: true},
		{in: "5/fortnight", bad: true},
		{in: "5/-1s", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, per, err := parseRate(tt.in)
			if (err != nil) != tt.bad || (!tt.bad && (n != tt.n || per != tt.per)) {
				t.Errorf("parseRate(%q) = %d, %v, %v", tt.in, n, per, err)
			}
		})
	}
}

// count returns the statuses from lo up to hi, not included.
func count(lo, hi int) []int {
	var s []int
	for st := lo; st < hi; st++ {
		s = append(s, st)
	}
	return s
}

func TestParseRetryOn(t *testing.T) {
	tests := []struct {
		in       string
		statuses []int
		kinds    []stages.Kind
		bad      bool
	}{
		{in: "429,503", statuses: []int{429, 503}},
		{in: "502-504, timeout", statuses: []int{502, 503, 504}, kinds: []stages.Kind{stages.KindTimeout}},
		{in: "", statuses: nil},
		{in: "connect,network,dns,tls", kinds: []stages.Kind{stages.KindConnect, stages.KindNetwork, stages.KindDNS, stages.KindTLS}},
		{in: "http_status", bad: true},
		{in: "600", bad: true},
		{in: "504-502", bad: true},
		{in: "4xx", statuses: count(400, 500)},
		{in: "6xx", bad: true},
		{in: "5x", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			statuses, kinds, err := parseRetryOn(tt.in)
			if (err != nil) != tt.bad {
				t.Fatalf("err = %v", err)
			}
			if !tt.bad && (!slices.Equal(statuses, tt.statuses) || !slices.Equal(kinds, tt.kinds)) {
				t.Errorf("got %v %v", statuses, kinds)
			}
		})
	}
}

func TestThrottleFlags(t *testing.T) {
	srv := fakeServer(t, fakeapi.Config{Latency: fakeapi.Latency{Min: 10 * time.Millisecond, Max: 10 * time.Millisecond}})
	base := srv.URL()
	var names strings.Builder
	for i := range 20 {
		names.WriteString(strings.Repeat("n", i+1) + "\n")
	}
	type flagCase struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
		peak   int64 // the most requests the server may see at once; 0: any
	}
	tests := []flagCase{
		{"bad rate", "", []string{"--rate", "fast"}, exitUsage, "--rate", 0},
		{"bad retry-on", "", []string{"--retry-on", "sometimes"}, exitUsage, "--retry-on", 0},
		{"negative per-host", "", []string{"--per-host", "-1"}, exitUsage, "--per-host", 0},
		{"per-host limit", names.String(), []string{"-t", base + "/r/{}.json", "-c", "8", "--per-host", "2", "-d", "none"}, exitOK, "", 2},
		{"retried into success", base + "/r/x.json?fail=2&id=x\n", []string{"--max-retry-wait", "10ms"}, exitOK, "", 0},
		{"no retries", base + "/r/y.json?fail=1&id=y\n", []string{"--retries", "0"}, exitFailed, "http_status 1", 0},
		{"redirects limited", base + "/r/z.json?redirect=3\n", []string{"--max-redirects", "2"}, exitFailed, "redirect 1", 0},
	}
	if silent, closeSilent, err := fakeapi.Silent(); err == nil {
		t.Cleanup(closeSilent)
		tests = append(tests, flagCase{"connect timeout", "http://" + silent + "/r/q.json\n", []string{"--connect-timeout", "200ms", "--retries", "0"}, exitFailed, "timeout 1", 0})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Handler().Reset()
			r := runCmd(t, tt.stdin, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit status %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.stderr)
			}
			if got := srv.Handler().Stats().PeakInFlight; tt.peak > 0 && got > tt.peak {
				t.Errorf("the server saw %d requests at once, limit %d", got, tt.peak)
			}
		})
	}
}

func TestDeadlineFinishesWhatWasRead(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	stdin, stdout, stderr, done := pipes(t, t.Context(), "--deadline", "500ms")
	// The input stays open and one request never ends: only the deadline
	// can end this run.
	stdin.Write([]byte(base + "/r/stuck.json?hang=1\n" + base + "/r/quick.json\n"))
	first, second := readRecord(t, stdout), readRecord(t, stdout)
	if !first.OK || second.kind() != "canceled" {
		t.Errorf("records %+v and %+v, want one ok and one canceled", first, second)
	}
	if code := <-done; code != exitFailed {
		t.Errorf("exit status %d, want %d", code, exitFailed)
	}
	if want := "deadline of 500ms reached after 2 records (1 not ok); the rest of the input was left unread"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q does not say %q", stderr.String(), want)
	}
}

// TestLocationTrusted: a token given with -H stays with its origin across
// a redirect to another port, and the 401 that follows says so and names
// the flag; --location-trusted sends it on.
func TestLocationTrusted(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			http.Error(w, `{"error":"no token"}`, http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"ok":1}`)
	}))
	defer api.Close()
	front := httptest.NewServer(http.RedirectHandler(api.URL+"/v1", http.StatusMovedPermanently))
	defer front.Close()
	r := runCmd(t, "", "-H", "Authorization: Bearer t", front.URL)
	recs := parseRecords(t, r.stdout)
	if r.code != exitFailed || len(recs) != 1 || recs[0].Status != 401 || !strings.Contains(recs[0].Error.Message, "--location-trusted") {
		t.Errorf("exit status %d, records %s; want a 401 that names --location-trusted", r.code, r.stdout)
	}
	if r := runCmd(t, "", "-H", "Authorization: Bearer t", "--location-trusted", front.URL); r.code != exitOK {
		t.Errorf("exit status %d with --location-trusted, records %s", r.code, r.stdout)
	}
}

// TestDeadlineWithArguments: --deadline with URLs as arguments once gave
// one record for three; each argument gets its record, canceled at the
// deadline, which the records name.
func TestDeadlineWithArguments(t *testing.T) {
	base := fake(t, fakeapi.Config{})
	r := runCmd(t, "", "--deadline", "300ms", "-d", "none", base+"/r/a.json?hang=1", base+"/r/b.json?hang=1", base+"/r/c.json?hang=1")
	recs := parseRecords(t, r.stdout)
	if r.code != exitFailed || len(recs) != 3 {
		t.Fatalf("exit status %d, %d records for 3 arguments:\n%s", r.code, len(recs), r.stdout)
	}
	for _, rec := range recs {
		if rec.kind() != "canceled" || !strings.Contains(rec.Error.Message, "deadline of 300ms reached") {
			t.Errorf("record %d: %+v, want canceled at the deadline, named", rec.Seq, rec.Error)
		}
	}
}

// TestAutoThrottleFindsWhatAHostTakes: against a server that takes 4 at
// once and refuses the rest without a Retry-After, --auto-throttle at -c
// 32 has few requests refused, every item ends ok, -v says each change of
// the host's limit, and the summary what it settled at.
func TestAutoThrottleFindsWhatAHostTakes(t *testing.T) {
	srv := fakeServer(t, fakeapi.Config{Latency: fakeapi.Latency{Min: 20 * time.Millisecond, Max: 20 * time.Millisecond}, Capacity: 4})
	var in strings.Builder
	for i := range 120 {
		fmt.Fprintf(&in, "%s/r/%d.json\n", srv.URL(), i)
	}
	r := runCmd(t, in.String(), "-c", "32", "--auto-throttle", "--retries", "10", "-d", "none", "-v", "--summary", "always")
	if r.code != exitOK {
		t.Fatalf("exit status %d:\n%s", r.code, r.stderr)
	}
	if recs := parseRecords(t, r.stdout); len(recs) != 120 {
		t.Fatalf("%d records for 120 items", len(recs))
	}
	st := srv.Handler().Stats()
	if share := float64(st.Refused) / float64(st.Requests); share > 0.3 {
		t.Errorf("%d of %d requests refused: the limit did not come down to what the host takes", st.Refused, st.Requests)
	}
	host := strings.TrimPrefix(srv.URL(), "http://")
	if !strings.Contains(r.stderr, "fetchpipe: "+host+": up to 4 in flight") || !strings.Contains(r.stderr, "fetchpipe: "+host+": down to ") {
		t.Errorf("-v did not say the host's limits:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "limits    in flight at the end: "+host+" ") {
		t.Errorf("the summary lacks the limit the host settled at:\n%s", r.stderr)
	}
}

// TestAutoThrottleGrowsNothingOnTimeouts: a host that answers nothing
// is not one that answers well: its limit stays where it starts. Its
// timeouts grew it as answers did, to 32 and more, and -v said so.
func TestAutoThrottleGrowsNothingOnTimeouts(t *testing.T) {
	srv := fakeServer(t, fakeapi.Config{})
	var in strings.Builder
	for i := range 12 {
		fmt.Fprintf(&in, "%s/r/%d.json?hang=1\n", srv.URL(), i)
	}
	r := runCmd(t, in.String(), "-c", "32", "--auto-throttle", "--timeout", "200ms", "--retries", "0", "-v", "--summary", "always")
	if recs := parseRecords(t, r.stdout); len(recs) != 12 {
		t.Fatalf("%d records for 12 items", len(recs))
	}
	if strings.Contains(r.stderr, "up to") || strings.Contains(r.stderr, "in flight at the end") {
		t.Errorf("the limit of a host that answers nothing changed:\n%s", r.stderr)
	}
}

// TestLimitLog: each change of a host's limit is told with why; growth
// only at powers of two; a host's first change against where every host
// starts, so that a first cut from 2 to 1 is a cut, not growth.
func TestLimitLog(t *testing.T) {
	limits := func(key string, n int, why pipeline.LimitChange, usual time.Duration) pipeline.Event {
		return pipeline.Event{Kind: pipeline.EventLimits, Key: key, Limits: pipeline.Limits{InFlight: n}, Change: why, Usual: usual}
	}
	for _, tt := range []struct {
		name   string
		events []pipeline.Event
		want   string
	}{
		{"a first cut", []pipeline.Event{limits("a:1", 1, pipeline.LimitRefused, 0)},
			"fetchpipe: a:1: down to 1 in flight (was 2): it turned requests away (429, 502-504, a connection refused or reset)\n"},
		{"growth", []pipeline.Event{limits("b:1", 3, pipeline.LimitGrew, 0), limits("b:1", 4, pipeline.LimitGrew, 0)},
			"fetchpipe: b:1: up to 4 in flight\n"},
		{"slowed", []pipeline.Event{limits("c:1", 16, pipeline.LimitGrew, 0), limits("c:1", 12, pipeline.LimitSlowed, 21340*time.Microsecond)},
			"fetchpipe: c:1: up to 16 in flight\nfetchpipe: c:1: down to 12 in flight (was 16): its requests took over twice their usual 21.3ms\n"},
		{"restored", []pipeline.Event{limits("d:1", 8, pipeline.LimitGrew, 0), limits("d:1", 5, pipeline.LimitSlowed, 20*time.Millisecond),
			limits("d:1", 21, pipeline.LimitRestored, 100*time.Millisecond)},
			"fetchpipe: d:1: up to 8 in flight\nfetchpipe: d:1: down to 5 in flight (was 8): its requests took over twice their usual 20ms\n" +
				"fetchpipe: d:1: back up to 21 in flight (was 5): its answers were as slow with half as many at once, so 100ms is their usual time now\n"},
		{"eased", []pipeline.Event{limits("h:1", 16, pipeline.LimitGrew, 0), limits("h:1", 12, pipeline.LimitSlowed, 100*time.Millisecond),
			limits("h:1", 11, pipeline.LimitEased, 100*time.Millisecond)},
			"fetchpipe: h:1: up to 16 in flight\nfetchpipe: h:1: down to 12 in flight (was 16): its requests took over twice their usual 100ms\n" +
				"fetchpipe: h:1: down to 11 in flight (was 12): its requests took over 1.5 times their usual 100ms, and more at once would only wait in its queue\n"},
		{"refused anyway", []pipeline.Event{limits("i:1", 8, pipeline.LimitGrew, 0), limits("i:1", 5, pipeline.LimitRefused, 0),
			limits("i:1", 8, pipeline.LimitRefusedAnyway, 0)},
			"fetchpipe: i:1: up to 8 in flight\nfetchpipe: i:1: down to 5 in flight (was 8): it turned requests away (429, 502-504, a connection refused or reset)\n" +
				"fetchpipe: i:1: back up to 8 in flight (was 5): it turned as many requests away with fewer at once, so its refusals are no sign of load\n"},
		{"overdue", []pipeline.Event{{Kind: pipeline.EventOverdue, Seq: 7, Key: "f:1", Try: 1, Wait: 1000300 * time.Microsecond},
			{Kind: pipeline.EventOverdue, Seq: 8, Key: "f:1", Try: 1, Wait: time.Second},
			{Kind: pipeline.EventOverdue, Seq: 9, Key: "g:1", Try: 2, Wait: 4 * time.Second}},
			"fetchpipe: [seq 7] f:1: not done in 1s: the request goes on without holding one of the host's slots\n" +
				"fetchpipe: [seq 9] g:1: not done in 4s: the request goes on without holding one of the host's slots\n"},
		{"timed out", []pipeline.Event{limits("j:1", 16, pipeline.LimitGrew, 0), limits("j:1", 12, pipeline.LimitTimedOut, 521*time.Millisecond)},
			"fetchpipe: j:1: up to 16 in flight\nfetchpipe: j:1: down to 12 in flight (was 16): half or more of its requests timed out, where they usually take 521ms\n"},
		{"a usual time of a second", []pipeline.Event{limits("e:1", 16, pipeline.LimitGrew, 0), limits("e:1", 12, pipeline.LimitSlowed, 1000600*time.Microsecond)},
			"fetchpipe: e:1: up to 16 in flight\nfetchpipe: e:1: down to 12 in flight (was 16): its requests took over twice their usual 1s\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			log := withLimitLog(func(pipeline.Event) {}, &b)
			for _, e := range tt.events {
				log(e)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%swant\n%s", b.String(), tt.want)
			}
		})
	}
}

// TestLimitLogCountsWhatItDoesNotSay: past overdueLogEvery, the next line
// of a host's overdue requests says how many went unsaid.
func TestLimitLogCountsWhatItDoesNotSay(t *testing.T) {
	var b strings.Builder
	log := withLimitLog(func(pipeline.Event) {}, &b)
	overdue := func(seq int64) pipeline.Event {
		return pipeline.Event{Kind: pipeline.EventOverdue, Seq: seq, Key: "h:1", Try: 1, Wait: time.Second}
	}
	log(overdue(1))
	log(overdue(2))
	log(overdue(3))
	was := overdueLogEvery
	overdueLogEvery = 0
	defer func() { overdueLogEvery = was }()
	log(overdue(4))
	want := "fetchpipe: [seq 1] h:1: not done in 1s: the request goes on without holding one of the host's slots\n" +
		"fetchpipe: [seq 4] h:1: not done in 1s: the request goes on without holding one of the host's slots (and 2 more of the host's since the last such line)\n"
	if b.String() != want {
		t.Errorf("got\n%swant\n%s", b.String(), want)
	}
}
