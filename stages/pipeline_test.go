package stages_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// End-to-end tests: sources, Fetch, Decode and sinks together, against the
// fake API on loopback. They assert properties of a run (one record per
// input, order, bounded reading, nothing left running) and the order of
// events, never how long something took.

// startAPI runs a fake API for the rest of the test.
func startAPI(t testing.TB, cfg fakeapi.Config) *fakeapi.Server {
	t.Helper()
	srv, err := fakeapi.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("closing the fake API: %v", err)
		}
	})
	return srv
}

// waitFor polls cond until it holds. The deadline only turns a hang into a
// failure; it is not a claim about speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// receive is a channel receive that fails the test instead of hanging it.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("gave up waiting for %s", what)
		panic("unreachable")
	}
}

// line is one NDJSON record as a consumer that knows only the documented
// schema reads it, with the standard library. Pointers tell a missing
// required field from a zero one.
type line struct {
	Seq         *int64            `json:"seq"`
	Follow      []int             `json:"follow"`
	Item        string            `json:"item"`
	URL         *string           `json:"url"`
	FinalURL    string            `json:"final_url"`
	Status      *int              `json:"status"`
	OK          *bool             `json:"ok"`
	Attempts    *int              `json:"attempts"`
	ElapsedMS   *float64          `json:"elapsed_ms"`
	Bytes       *int64            `json:"bytes"`
	ContentType string            `json:"content_type"`
	Headers     map[string]string `json:"headers"`
	Error       *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
	Meta json.RawMessage `json:"meta"`
	Body json.RawMessage `json:"body"`
}

// schema is the documented field order of a record (Record.AppendJSON).
var schema = []string{"seq", "follow", "item", "url", "final_url", "status", "ok", "attempts", "elapsed_ms", "bytes",
	"content_type", "headers", "file", "error", "meta", "body"}

// parseLines reads NDJSON output with encoding/json, refusing any field the
// schema does not document, any field out of the documented order, and any
// missing required field.
func parseLines(t *testing.T, out []byte) []line {
	t.Helper()
	var lines []line
	for i, raw := range bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n")) {
		if len(raw) == 0 {
			t.Fatalf("line %d is empty", i)
		}
		var l line
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("line %d is not a record: %v\n%s", i, err, raw)
		}
		if dec.More() {
			t.Fatalf("line %d holds more than one JSON value: %s", i, raw)
		}
		if l.Seq == nil || l.URL == nil || l.Status == nil || l.OK == nil || l.Attempts == nil ||
			l.ElapsedMS == nil || l.Bytes == nil {
			t.Fatalf("line %d lacks a required field: %s", i, raw)
		}
		if keys := topKeys(t, raw); !inSchemaOrder(keys) {
			t.Errorf("line %d has fields %v, want a subsequence of %v", i, keys, schema)
		}
		lines = append(lines, l)
	}
	return lines
}

func topKeys(t *testing.T, obj []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func inSchemaOrder(keys []string) bool {
	i := 0
	for _, k := range keys {
		for i < len(schema) && schema[i] != k {
			i++
		}
		if i == len(schema) {
			return false
		}
		i++
	}
	return true
}

// bodyType says how a body was written: "object", "string" or "" (absent).
func bodyType(b json.RawMessage) string {
	switch {
	case len(b) == 0:
		return ""
	case b[0] == '{':
		return "object"
	case b[0] == '"':
		return "string"
	}
	return "other: " + string(b)
}

// mixedCase is one kind of input line in TestEveryInputYieldsOneRecord and
// what its record must say under each Decode format.
type mixedCase struct {
	name     string
	line     func(api, closed string, i int) string
	status   int
	attempts int
	kind     func(stages.Format) stages.Kind // "" for ok
	body     func(stages.Format) string      // as bodyType
}

func always(k stages.Kind) func(stages.Format) stages.Kind {
	return func(stages.Format) stages.Kind { return k }
}

// asDecoded is where a body that came goes: a JSON value, a string, or
// nowhere.
func asDecoded(f stages.Format) string {
	return map[stages.Format]string{stages.JSON: "object", stages.Text: "string", stages.None: ""}[f]
}

func noBody(stages.Format) string { return "" }

var mixedCases = []mixedCase{
	{"ok", func(api, _ string, i int) string { return fmt.Sprintf("%s/r/ok%d.json", api, i) },
		200, 1, always(""), asDecoded},
	{"status 500", func(api, _ string, i int) string { return fmt.Sprintf("%s/r/e%d.json?status=500", api, i) },
		500, 1, always(stages.KindHTTPStatus), asDecoded},
	{"bad json", func(api, _ string, i int) string { return fmt.Sprintf("%s/r/b%d.json?format=badjson", api, i) },
		200, 1, func(f stages.Format) stages.Kind {
			if f == stages.JSON {
				return stages.KindDecode // only a JSON decode knows it is not JSON
			}
			return ""
		}, func(f stages.Format) string {
			if f == stages.None {
				return ""
			}
			return "string" // what came instead of JSON is kept as text
		}},
	{"unparsable URL", func(string, string, int) string { return "http://[::1" },
		0, 0, always(stages.KindInvalidInput), noBody},
	{"unsupported scheme", func(string, string, int) string { return "ftp://x" },
		0, 0, always(stages.KindInvalidInput), noBody},
	{"closed port", func(_, closed string, i int) string { return fmt.Sprintf("http://%s/r/c%d.json", closed, i) },
		0, 1, always(stages.KindConnect), noBody},
}

// noise is input that is not an item: it must yield no record and take no
// seq.
var noise = []string{"", "   ", "# a comment", "#http://127.0.0.1:1/r/not-an-item.json", "\t"}

func TestEveryInputYieldsOneRecord(t *testing.T) {
	api := startAPI(t, fakeapi.Config{Latency: fakeapi.Latency{Max: 3 * time.Millisecond}})
	closed := closedPort(t)

	const n = 60
	var input strings.Builder
	want := make([]mixedCase, n) // by seq
	wantURL := make([]string, n)
	for i := range n {
		if i%4 == 0 {
			input.WriteString(noise[i/4%len(noise)] + "\n")
		}
		c := mixedCases[i%len(mixedCases)]
		want[i], wantURL[i] = c, c.line(api.URL(), closed, i)
		input.WriteString("  " + wantURL[i] + "\n")
	}

	fetches := []struct {
		name string
		opts []stages.Option
	}{
		{"serial", []stages.Option{stages.WithConcurrency(1), stages.WithRetries(0)}},
		{"unordered/8", []stages.Option{stages.WithConcurrency(8), stages.WithRetries(0)}},
		{"ordered/8", []stages.Option{stages.WithConcurrency(8), stages.WithInputOrder(), stages.WithRetries(0)}},
		// The same through the scheduler, which a per-host limit brings in.
		{"scheduled/unordered/8", []stages.Option{stages.WithConcurrency(8), stages.WithPerHost(3), stages.WithRetries(0)}},
		{"scheduled/ordered/8", []stages.Option{stages.WithConcurrency(8), stages.WithPerHost(3), stages.WithInputOrder(), stages.WithRetries(0)}},
	}
	for _, format := range []stages.Format{stages.JSON, stages.Text, stages.None} {
		for _, fc := range fetches {
			t.Run(format.String()+"/"+fc.name, func(t *testing.T) {
				t.Parallel()
				p := pipeline.New(t.Context())
				reqs := stages.Lines(p, strings.NewReader(input.String()))
				recs := stages.Decode(stages.Fetch(reqs, fc.opts...), format)
				var out bytes.Buffer
				if err := stages.WriteNDJSON(recs, &out); err != nil {
					t.Fatalf("WriteNDJSON = %v: an item's failure must not end the run", err)
				}

				lines := parseLines(t, out.Bytes())
				if len(lines) != n {
					t.Fatalf("%d records for %d input items", len(lines), n)
				}
				seen := make([]bool, n)
				for _, l := range lines {
					seq := *l.Seq
					if seq < 0 || seq >= n || seen[seq] {
						t.Fatalf("seq %d out of range or seen twice", seq)
					}
					seen[seq] = true
					checkMixed(t, format, want[seq], wantURL[seq], l)
				}
			})
		}
	}
}

func checkMixed(t *testing.T, format stages.Format, c mixedCase, url string, l line) {
	t.Helper()
	what := fmt.Sprintf("seq %d (%s)", *l.Seq, c.name)
	kind := c.kind(format)
	if *l.URL != url {
		t.Errorf("%s: url %q, want %q", what, *l.URL, url)
	}
	if *l.Status != c.status || *l.Attempts != c.attempts {
		t.Errorf("%s: status %d attempts %d, want %d and %d", what, *l.Status, *l.Attempts, c.status, c.attempts)
	}
	switch {
	case *l.OK != (l.Error == nil):
		t.Errorf("%s: ok is %v with error %+v", what, *l.OK, l.Error)
	case kind == "" && l.Error != nil:
		t.Errorf("%s: unexpected error %+v", what, *l.Error)
	case kind != "" && (l.Error == nil || l.Error.Kind != string(kind) || l.Error.Message == ""):
		t.Errorf("%s: error %+v, want kind %s with a message", what, l.Error, kind)
	}
	if got, want := bodyType(l.Body), c.body(format); got != want {
		t.Errorf("%s: body written as %q, want %q", what, got, want)
	}
	if l.Body != nil && bodyType(l.Body) == "object" && int64(len(l.Body)) != *l.Bytes {
		t.Errorf("%s: bytes %d, but the one-line JSON body is %d bytes", what, *l.Bytes, len(l.Body))
	}
	if c.status == 200 && *l.Bytes == 0 {
		t.Errorf("%s: bytes is 0 for a body that came", what)
	}
}

func TestInputOrder(t *testing.T) {
	const n = 100
	var input strings.Builder
	for i := range n {
		fmt.Fprintf(&input, "name%d\n", i)
	}
	cases := []struct {
		name   string
		decode []stages.Option
	}{
		{"decode default", nil},
		{"decode ordered/4", []stages.Option{stages.WithConcurrency(4), stages.WithInputOrder()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Latencies up to 5ms, drawn per path: completions overtake
			// each other, so order comes from the stages, not the server.
			api := startAPI(t, fakeapi.Config{Latency: fakeapi.Latency{Max: 5 * time.Millisecond}})
			p := pipeline.New(t.Context())
			reqs := stages.Lines(p, strings.NewReader(input.String()), stages.WithTemplate(api.URL()+"/r/{}.json"))
			recs := stages.Decode(stages.Fetch(reqs, stages.WithConcurrency(16), stages.WithInputOrder()),
				stages.JSON, tc.decode...)
			var seqs []int64
			for r, err := range pipeline.All(recs) {
				if err != nil {
					t.Fatal(err)
				}
				if !r.OK() {
					t.Errorf("seq %d: %v", r.Seq, r.Err)
				}
				seqs = append(seqs, r.Seq)
			}
			if len(seqs) != n {
				t.Fatalf("%d records for %d items", len(seqs), n)
			}
			for i, s := range seqs {
				if s != int64(i) {
					t.Fatalf("record %d has seq %d: input order not kept (%v…)", i, s, seqs[:min(len(seqs), i+5)])
				}
			}
			if peak := api.Handler().Stats().PeakInFlight; peak > 16 {
				t.Errorf("peak in flight %d > concurrency 16", peak)
			}
		})
	}
}

// TestFirstRecordArrivesWhileSlowestIsInFlight checks that records stream:
// the sink sees the first one while the slowest request is still inside the
// server, and a cancel then ends that request as a canceled record.
func TestFirstRecordArrivesWhileSlowestIsInFlight(t *testing.T) {
	h := fakeapi.NewHandler(fakeapi.Config{})
	var slowIn, slowOut = make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("hang") {
			once.Do(func() {
				// Let the fast requests go only once this one is counted
				// inside the handler, so that InFlight below is a fact and
				// not a race.
				go func() {
					for h.Stats().InFlight == 0 {
						time.Sleep(time.Millisecond)
					}
					close(slowIn)
				}()
			})
			defer close(slowOut)
		} else {
			select {
			case <-slowIn:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p := pipeline.New(ctx)
	items := []string{"slow.json?hang=1", "a.json", "b.json", "c.json", "d.json", "e.json"}
	reqs := stages.URLs(p, items, stages.WithTemplate(srv.URL+"/r/{raw}"))
	recs := stages.Decode(stages.Fetch(reqs, stages.WithConcurrency(4)), stages.JSON)

	var (
		got []stages.Record
		cut bool
	)
	for r, err := range pipeline.All(recs) {
		if err != nil {
			// Canceled if the cancel came before the source had handed
			// on all its items, nil if after.
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("run error %v", err)
			}
			cut = true
			break
		}
		if len(got) == 0 {
			select {
			case <-slowOut:
				t.Fatal("the slow request returned before the first record reached the sink")
			default:
			}
			if in := h.Stats().InFlight; in < 1 {
				t.Fatalf("InFlight = %d when the first record arrived, want the slow request counted", in)
			}
			if r.Seq == 0 {
				t.Fatal("the first record is the slow item's")
			}
			cancel() // the slow one would never end otherwise
		}
		got = append(got, r)
	}

	// One record for each item read: a cancel before the source handed on
	// the last ones (it may not have been scheduled yet) leaves those
	// unread, and without one.
	read := int(p.Produced())
	if len(got) != read || (!cut && read != len(items)) {
		t.Fatalf("%d records for %d items read of %d (cut short: %v)", len(got), read, len(items), cut)
	}
	slices.SortFunc(got, func(a, b stages.Record) int { return int(a.Seq - b.Seq) })
	for i, r := range got {
		switch {
		case r.Seq != int64(i):
			t.Fatalf("sorted record %d has seq %d: want seqs 0..%d, each once", i, r.Seq, len(items)-1)
		case i == 0 && (r.Err == nil || r.Err.Kind != stages.KindCanceled):
			t.Errorf("slow item: %v, want a canceled record", r.Err)
		case i > 0 && !r.OK() && r.Err.Kind != stages.KindCanceled:
			// Items not yet sent when the cancel came are canceled too.
			t.Errorf("seq %d: %v, want ok or canceled", r.Seq, r.Err)
		}
	}
	receive(t, slowOut, "the slow handler to return after the cancel")
	waitFor(t, "the server has no request in flight", func() bool { return h.Stats().InFlight == 0 })
}

// TestStreamsFromInputToOutput feeds input one line at a time and reads the
// output one line at a time: line k+1 is only written once record k has
// been read from the output. It passes only if Lines hands on a line before
// its input ends and WriteNDJSON flushes a record as soon as the sink is
// idle, not when its buffer fills or the run ends.
func TestStreamsFromInputToOutput(t *testing.T) {
	api := startAPI(t, fakeapi.Config{})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := pipeline.New(t.Context())
	reqs := stages.Lines(p, inR, stages.WithTemplate(api.URL()+"/r/{}.json"))
	recs := stages.Decode(stages.Fetch(reqs), stages.JSON)
	done := make(chan error, 1)
	go func() {
		err := stages.WriteNDJSON(recs, outW)
		outW.CloseWithError(err)
		done <- err
	}()
	lines := make(chan []byte)
	quit := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case lines <- slices.Clone(sc.Bytes()):
			case <-quit:
				return
			}
		}
	}()
	t.Cleanup(func() { // after a failure, let every goroutine end
		close(quit)
		inW.Close()
		outR.Close()
	})

	const n = 5
	for i := range n {
		if _, err := fmt.Fprintf(inW, "item%d\n", i); err != nil {
			t.Fatal(err)
		}
		raw := receive(t, lines, fmt.Sprintf("record %d to be written out before line %d is input", i, i+1))
		l := parseLines(t, raw)[0]
		if *l.Seq != int64(i) || !*l.OK || bodyType(l.Body) != "object" {
			t.Fatalf("line %d: %s", i, raw)
		}
	}
	inW.Close()
	if err := receive(t, done, "WriteNDJSON to return once input ended"); err != nil {
		t.Fatal(err)
	}
	if _, more := <-lines; more {
		t.Error("more output than input")
	}
}

// endless is an input of fixed-width URL lines that never ends, and counts
// the bytes it has handed out. pad lengthens every line by a query parameter
// that the fake API ignores.
type endless struct {
	base    string
	pad     int
	next    int
	pending []byte
	read    atomic.Int64
}

func (e *endless) lineLen() int {
	n := len(e.base) + len("/r/n00000000.json\n")
	if e.pad > 0 {
		n += len("?pad=") + e.pad
	}
	return n
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(e.pending) == 0 {
			e.pending = fmt.Appendf(nil, "%s/r/n%08d.json", e.base, e.next)
			if e.pad > 0 {
				e.pending = append(e.pending, "?pad="+strings.Repeat("p", e.pad)...)
			}
			e.pending = append(e.pending, '\n')
			e.next++
		}
		c := copy(p[n:], e.pending)
		e.pending, n = e.pending[c:], n+c
	}
	e.read.Add(int64(n))
	return n, nil
}

// bufioSlack is how far Lines may read ahead of the lines it has handed on:
// the size of its bufio.Reader.
const bufioSlack = 64 << 10

// TestBackpressureBoundsReading blocks the sink on its first record and
// checks that the source then stops reading an endless input, after a
// number of items fixed by the buffers and the concurrency.
//
// With Lines → Fetch → Decode → sink, buffer b per stage and c requests in
// flight, the items read but not yet written are at most:
//
//	1      in the sink, blocked
//	b + 1  in Decode's output buffer, and in its one goroutine's hand
//	b + h  in Fetch's output buffer, and held by Fetch: one per goroutine
//	       (c) unordered; with WithInputOrder, c+2 finished requests in the
//	       reorder window plus one waiting to enter it (c+3)
//	b + 1  in Lines' output buffer, and in its hand, blocked in emit
//
// and Lines reads at most its bufio buffer ahead of the last line it handed
// on. Lines of 4 KiB make that read-ahead 16 lines, so that a few items too
// many show in the bytes read. Without backpressure the source would read
// on for ever.
func TestBackpressureBoundsReading(t *testing.T) {
	cases := []struct {
		name        string
		concurrency int
		ordered     bool
		buffer      int // 0: the default, 16
	}{
		{"unordered/8", 8, false, 0},
		{"ordered/8", 8, true, 0},
		{"unordered/4 buffer 1", 4, false, 1},
		{"ordered/32 buffer 2", 32, true, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := startAPI(t, fakeapi.Config{})
			in := &endless{base: api.URL(), pad: 4<<10 - 64}
			var bufOpts []stages.Option
			b := 16
			if tc.buffer > 0 {
				b = tc.buffer
				bufOpts = append(bufOpts, stages.WithBuffer(b))
			}
			opts := append([]stages.Option{stages.WithConcurrency(tc.concurrency), stages.WithRetries(0)}, bufOpts...)
			// Fetch holds twice its concurrency. Unordered, at most one
			// item per worker was fetched and waits to go downstream, the
			// rest wait to start; in input order, every item it holds may
			// be fetched, waiting for its turn.
			held := 2 * tc.concurrency
			fetched := 1 + (b + 1) + (b + tc.concurrency) // every item past Fetch's input was requested
			if tc.ordered {
				opts = append(opts, stages.WithInputOrder())
				fetched = 1 + (b + 1) + (b + held)
			}
			maxItems := 1 + (b + 1) + (b + held) + (b + 1)
			maxBytes := int64(maxItems*in.lineLen() + bufioSlack)

			p := pipeline.New(t.Context())
			recs := stages.Decode(stages.Fetch(stages.Lines(p, in, bufOpts...), opts...), stages.None, bufOpts...)
			release := make(chan struct{})
			errEnough := errors.New("seen enough")
			done := make(chan error, 1)
			go func() {
				done <- pipeline.ForEach(recs, func(_ context.Context, _ stages.Record) error {
					<-release
					return errEnough
				})
			}()
			defer close(release)

			requests := func() int64 { return api.Handler().Stats().Requests }
			// The pipeline is full when every slot that holds a fetched
			// item holds one: a fact the server can count.
			waitFor(t, fmt.Sprintf("%d requests fill the pipeline", fetched), func() bool { return requests() >= int64(fetched) })
			settle(in, requests)
			t.Logf("with the sink blocked: %d requests (bound %d), %d bytes read (bound %d)",
				requests(), fetched, in.read.Load(), maxBytes)
			if got := requests(); got > int64(fetched) {
				t.Errorf("%d requests made with the sink blocked, want ≤ %d", got, fetched)
			}
			if got := in.read.Load(); got > maxBytes {
				t.Errorf("source read %d bytes (%d lines) with the sink blocked, want ≤ %d (%d items of %d bytes + %d of read-ahead)",
					got, got/int64(in.lineLen()), maxBytes, maxItems, in.lineLen(), bufioSlack)
			}

			release <- struct{}{}
			if err := receive(t, done, "the run to end"); !errors.Is(err, errEnough) {
				t.Errorf("ForEach = %v, want the sink's error", err)
			}
		})
	}
}

// settle returns once neither the bytes read nor the requests made have
// moved for a while. Returning early could only make the bounds above
// easier to meet, never flag a correct run.
func settle(in *endless, requests func() int64) {
	lastRead, lastReq := int64(-1), int64(-1)
	for stable := 0; stable < 3; {
		r, q := in.read.Load(), requests()
		if r == lastRead && q == lastReq {
			stable++
		} else {
			stable = 0
		}
		lastRead, lastReq = r, q
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLeavingEarlyLeavesNothingRunning ends a run with requests still in
// flight, by leaving the range loop or by cancelling its context, and checks
// that nothing is left on either side: no goroutine in the process, no
// request in the server, and a server that closes cleanly.
//
// Not parallel: goleak.VerifyNone sees every goroutine in the process.
func TestLeavingEarlyLeavesNothingRunning(t *testing.T) {
	cases := []struct {
		name   string
		cancel bool // else break
	}{
		{"break out of the loop", false},
		{"cancel the context", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := fakeapi.Start("127.0.0.1:0", fakeapi.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			var input strings.Builder
			for i := range 1000 {
				if i%3 == 0 {
					fmt.Fprintf(&input, "%s/r/h%d.json?hang=1\n", srv.URL(), i)
				} else {
					fmt.Fprintf(&input, "%s/r/n%d.json\n", srv.URL(), i)
				}
			}

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			p := pipeline.New(ctx)
			recs := stages.Decode(stages.Fetch(stages.Lines(p, strings.NewReader(input.String())),
				stages.WithConcurrency(8)), stages.JSON)
			var seqs []int64
			var runErr error
			for r, err := range pipeline.All(recs) {
				if err != nil {
					runErr = err
					break
				}
				seqs = append(seqs, r.Seq)
				if len(seqs) == 5 {
					if !tc.cancel {
						break
					}
					cancel()
				}
				if len(seqs) > 5 && !r.OK() && r.Err.Kind != stages.KindCanceled {
					t.Errorf("seq %d after the cancel: %v, want ok or canceled", r.Seq, r.Err)
				}
			}

			if err := p.Wait(); tc.cancel != errors.Is(err, context.Canceled) || err != runErr {
				t.Errorf("Wait = %v (the loop saw %v)", err, runErr)
			}
			if tc.cancel {
				// A graceful cancel drains what was read: the records are
				// those of a prefix of the input, each exactly once.
				slices.Sort(seqs)
				for i, s := range seqs {
					if s != int64(i) {
						t.Fatalf("after a cancel, records are not those of input 0..%d: %v", len(seqs)-1, seqs)
					}
				}
			}
			waitFor(t, "the server has no request in flight", func() bool { return srv.Handler().Stats().InFlight == 0 })
			if err := srv.Close(); err != nil {
				t.Errorf("server Close = %v", err)
			}
			goleak.VerifyNone(t)
		})
	}
}

// failingWriter accepts ok writes, then fails every one.
type failingWriter struct {
	ok     int
	writes atomic.Int64
}

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.writes.Add(1) > int64(w.ok) {
		return 0, errDiskFull
	}
	return len(p), nil
}

// TestWriteFailureEndsTheRun gives WriteNDJSON an endless input and a writer
// that fails: only a run that stops can return, and it must return the
// writer's error.
func TestWriteFailureEndsTheRun(t *testing.T) {
	for _, ok := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("fails after %d writes", ok), func(t *testing.T) {
			t.Parallel()
			api := startAPI(t, fakeapi.Config{})
			w := &failingWriter{ok: ok}
			p := pipeline.New(t.Context())
			recs := stages.Decode(stages.Fetch(stages.Lines(p, &endless{base: api.URL()})), stages.JSON)
			done := make(chan error, 1)
			go func() { done <- stages.WriteNDJSON(recs, w) }()
			err := receive(t, done, "WriteNDJSON to give up")
			if !errors.Is(err, errDiskFull) || !strings.HasPrefix(err.Error(), "writing output: ") {
				t.Errorf("WriteNDJSON = %v, want %q wrapped as a write error", err, errDiskFull)
			}
			if got := w.writes.Load(); got != int64(ok)+1 {
				t.Errorf("%d writes, want %d: writing went on after the failure", got, ok+1)
			}
		})
	}
}

// fullListing is the fake API's listing, as a typed program would declare it.
type fullListing struct {
	Kind string `json:"kind"`
	Data struct {
		After    *string `json:"after"`
		Dist     int     `json:"dist"`
		Children []struct {
			Kind string `json:"kind"`
			Data struct {
				ID          string `json:"id"`
				Subreddit   string `json:"subreddit"`
				Title       string `json:"title"`
				Author      string `json:"author"`
				Score       int    `json:"score"`
				NumComments int    `json:"num_comments"`
				CreatedUTC  int64  `json:"created_utc"`
				Permalink   string `json:"permalink"`
				URL         string `json:"url"`
				Selftext    string `json:"selftext"`
			} `json:"data"`
		} `json:"children"`
	} `json:"data"`
}

func TestDecodeAsListing(t *testing.T) {
	api := startAPI(t, fakeapi.Config{Posts: 7})
	cases := []struct {
		item string // a path under /r/
		kind stages.Kind
	}{
		{"golang.json", ""},
		{"rust.json", ""},
		{"x.json?status=500", stages.KindHTTPStatus},
		{"y.json?format=badjson", stages.KindDecode},
		{"zig.json", ""},
	}
	var items []string
	for _, tc := range cases {
		items = append(items, tc.item)
	}
	p := pipeline.New(t.Context())
	reqs := stages.URLs(p, items, stages.WithTemplate(api.URL()+"/r/{raw}"))
	got := collect(t, stages.DecodeAs[fullListing](stages.Fetch(reqs, stages.WithInputOrder()),
		stages.WithConcurrency(3), stages.WithInputOrder()))
	if len(got) != len(cases) {
		t.Fatalf("%d values for %d items", len(got), len(cases))
	}
	for i, tc := range cases {
		d := got[i]
		t.Run(tc.item, func(t *testing.T) {
			if d.Record.Seq != int64(i) {
				t.Fatalf("seq %d, want %d", d.Record.Seq, i)
			}
			if tc.kind != "" {
				if d.Record.Err == nil || d.Record.Err.Kind != tc.kind {
					t.Errorf("error %v, want kind %s", d.Record.Err, tc.kind)
				}
				if d.Value.Kind != "" || d.Value.Data.Children != nil {
					t.Errorf("a failed record carries a value: %+v", d.Value)
				}
				if tc.kind == stages.KindDecode && !strings.HasPrefix(d.Record.Err.Message, "body does not decode into stages_test.fullListing: ") {
					t.Errorf("message %q does not name the type", d.Record.Err.Message)
				}
				return
			}
			if d.Record.Err != nil {
				t.Fatalf("error %v", d.Record.Err)
			}
			name := strings.TrimSuffix(tc.item, ".json")
			v := d.Value
			if v.Kind != "Listing" || v.Data.Dist != 7 || len(v.Data.Children) != 7 {
				t.Fatalf("kind %q dist %d children %d, want a listing of 7", v.Kind, v.Data.Dist, len(v.Data.Children))
			}
			last := v.Data.Children[len(v.Data.Children)-1].Data.ID
			if v.Data.After == nil || *v.Data.After != "t3_"+last {
				t.Errorf("after %v, want t3_%s", v.Data.After, last)
			}
			for _, c := range v.Data.Children {
				post := c.Data
				if c.Kind != "t3" || post.Subreddit != name || post.Title == "" || post.Author == "" ||
					!strings.HasPrefix(post.Permalink, "/r/"+name+"/comments/"+post.ID+"/") {
					t.Errorf("post %+v", c)
				}
			}
		})
	}
}
