package stages

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/dustin/go-humanize"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// A Tally counts records as they pass, for the summary of a run: items ok
// and failed by kind, statuses, attempts and retries, bytes, and the
// items' latency (Record.Elapsed, backoffs included) in a histogram of
// fixed memory, however many records pass. Add it to a sink:
//
//	tally := stages.NewTally()
//	err := pipeline.ForEach(recs, func(_ context.Context, r stages.Record) error {
//		tally.Add(&r)
//		return nw.Write(r)
//	})
//	fmt.Fprint(os.Stderr, tally.Summary())
//
// Given to Fetch's WithObserver too (WithObserver(tally.Observe)), it
// counts the requests in flight and the items waiting, for a progress
// report; given to WithTrace (WithTrace(tally.Trace, TraceRetry)), what
// the retries were for. It is safe for concurrent use, so a progress
// report may read it (Now) while the run goes on.
type Tally struct {
	// Read lock-free, by a progress report. done and good change under mu
	// too, so that a Summary sees them with the counts beside them.
	done, good, running, waiting atomic.Int64
	finished                     atomic.Int64 // items whose result is final (EventDone)

	mu       sync.Mutex
	backoff  map[int64]struct{} // items in a backoff, by seq: few at a time
	start    time.Time
	kinds    map[Kind]int64
	statuses map[int]int64
	attempts int64
	retries  int64
	retried  map[string]int64 // retries by what failed (Trace)
	bytes    int64
	latency  *hdrhistogram.Histogram // in microseconds
	limits   map[string]int          // each key's last in-flight limit (EventLimits), for at most maxLimits keys
	unkept   map[string]struct{}     // keys whose limits were not kept; counted, up to a bound
}

// maxLimits bounds the keys whose limits a Tally keeps: a run over a
// million hosts should not keep a million numbers for its summary.
const maxLimits = 1000

// latencyMax is the longest latency the histogram tells apart: longer
// ones count as this. An item held past a day is an item to look at, not
// a quantile.
const latencyMax = 24 * time.Hour

// NewTally returns an empty Tally whose clock, for items per second,
// starts now.
func NewTally() *Tally {
	return &Tally{
		start:    time.Now(),
		kinds:    make(map[Kind]int64),
		statuses: make(map[int]int64),
		retried:  make(map[string]int64),
		backoff:  make(map[int64]struct{}),
		limits:   make(map[string]int),
		unkept:   make(map[string]struct{}),
		// Three significant digits: quantiles within 0.1%.
		latency: hdrhistogram.New(1, latencyMax.Microseconds(), 3),
	}
}

// Add counts r.
func (t *Tally) Add(r *Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done.Add(1)
	if r.Err == nil {
		t.good.Add(1)
	} else {
		t.kinds[r.Err.Kind]++
	}
	if r.Status != 0 {
		t.statuses[r.Status]++
	}
	t.attempts += int64(r.Attempts)
	if r.Attempts > 1 {
		t.retries += int64(r.Attempts - 1)
	}
	t.bytes += r.Bytes
	if r.Attempts > 0 {
		us := min(max(r.Elapsed.Microseconds(), 1), latencyMax.Microseconds())
		_ = t.latency.RecordValue(us) // in range by construction
	}
}

// Observe counts the events of a Fetch (or any pipeline.Schedule stage):
// give it to WithObserver, and Now reports requests in flight and items
// waiting on a limit or in a backoff.
//
// A Tally observes one stage: items are told apart by their Seq.
func (t *Tally) Observe(ev pipeline.Event) {
	switch ev.Kind {
	case pipeline.EventWaiting:
		t.waiting.Add(1) // on a limit
	case pipeline.EventStarted:
		if ev.Reason != 0 {
			t.waiting.Add(-1) // the limit let it go
		}
		if ev.Try > 1 && t.leaveBackoff(ev.Seq) {
			t.waiting.Add(-1)
		}
		t.running.Add(1)
	case pipeline.EventRetrying:
		t.running.Add(-1)
		t.waiting.Add(1) // in a backoff
		t.mu.Lock()
		t.backoff[ev.Seq] = struct{}{}
		t.mu.Unlock()
	case pipeline.EventLimits:
		t.mu.Lock()
		if _, ok := t.limits[ev.Key]; ok || len(t.limits) < maxLimits {
			t.limits[ev.Key] = ev.Limits.InFlight
		} else if len(t.unkept) < 100*maxLimits {
			t.unkept[ev.Key] = struct{}{}
		}
		t.mu.Unlock()
	case pipeline.EventDone:
		t.finished.Add(1)
		if ev.Reason != 0 {
			t.waiting.Add(-1) // cut short while held by a limit
		}
		switch {
		case ev.Try == 0:
		case t.leaveBackoff(ev.Seq):
			t.waiting.Add(-1) // cut short in a backoff: it was not in flight
		default:
			t.running.Add(-1)
		}
	}
}

// Trace counts the retries Fetch traces by what failed: give it to
// WithTrace, and the summary says what the retries were for (RetriedFor),
// such as how many requests a server turned away with 429 before an item
// went through, which the records' final statuses do not show.
func (t *Tally) Trace(tr Trace) {
	if tr.Event != TraceRetry {
		return
	}
	why := string(tr.Kind)
	if tr.Kind == KindHTTPStatus {
		// Not any status: a body cut short or too slow keeps its 200.
		why = strconv.Itoa(tr.Status)
	}
	t.mu.Lock()
	t.retried[why]++
	t.mu.Unlock()
}

// leaveBackoff reports whether item seq was in a backoff, which it leaves.
func (t *Tally) leaveBackoff(seq int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, in := t.backoff[seq]
	delete(t.backoff, seq)
	return in
}

// Progress is what a Tally says of a run under way, read without a lock.
type Progress struct {
	Done, OK          int64 // records counted by Add
	InFlight, Waiting int64 // from Observe
	// Held counts the items Observe saw finish whose records Add has not
	// counted yet: in input order, those that wait behind a slow item
	// (in memory or in a spool), and otherwise the few on their way.
	Held int64
}

// Now returns the counts of a run under way, cheaply enough to be read on
// a ticker by a progress display.
func (t *Tally) Now() Progress {
	done := t.done.Load()
	return Progress{Done: done, OK: t.good.Load(), InFlight: t.running.Load(), Waiting: max(t.waiting.Load(), 0),
		Held: max(t.finished.Load()-done, 0)}
}

// A Summary is what a Tally has counted. Durations are in milliseconds,
// with the unit in the JSON key.
type Summary struct {
	Items    int64          `json:"items"`
	OK       int64          `json:"ok"`
	Failed   int64          `json:"failed"`
	Kinds    map[Kind]int64 `json:"failed_by_kind"`
	Statuses map[int]int64  `json:"statuses"`
	Attempts int64          `json:"attempts"`
	Retries  int64          `json:"retries"`
	// RetriedFor counts the retries by what failed: the HTTP status of
	// an attempt retried for its status ("429"), or its error kind
	// ("timeout", "network"); only where the Tally heard Fetch's traces
	// (Trace), and nil where there were none. It counts the retries Fetch
	// decided, of which a cancel may have stopped some, and those of
	// records not counted (Add): its sum may be more than Retries.
	RetriedFor map[string]int64 `json:"retried_for,omitempty"`
	Bytes      int64            `json:"bytes"`
	WallMS     float64          `json:"wall_ms"`
	PerSecond  float64          `json:"items_per_s"`
	// Latency of the items that were sent (Record.Elapsed): quantiles and
	// the most.
	P50MS float64 `json:"p50_ms"`
	P90MS float64 `json:"p90_ms"`
	P99MS float64 `json:"p99_ms"`
	MaxMS float64 `json:"max_ms"`
	// Limits holds the in-flight limit each key (host) had at the end,
	// where it changed during the run (an adaptive budget, such as
	// Fetch's WithAutoThrottle): what it settled at. At most 1,000 keys.
	Limits map[string]int `json:"limits,omitempty"`
	// LimitsNotKept counts the hosts past those 1,000 whose limits
	// changed (up to 100,000).
	LimitsNotKept int `json:"limits_not_kept,omitempty"`
}

// Summary returns what t has counted so far.
func (t *Tally) Summary() Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	wall := time.Since(t.start)
	items, ok := t.done.Load(), t.good.Load()
	s := Summary{
		Items: items, OK: ok, Failed: items - ok,
		Kinds: maps.Clone(t.kinds), Statuses: maps.Clone(t.statuses),
		Attempts: t.attempts, Retries: t.retries, Bytes: t.bytes,
		WallMS: ms(wall),
	}
	if len(t.retried) > 0 {
		s.RetriedFor = maps.Clone(t.retried)
	}
	if len(t.limits) > 0 {
		s.Limits = maps.Clone(t.limits)
		s.LimitsNotKept = len(t.unkept)
	}
	if wall > 0 {
		s.PerSecond = math.Round(float64(items)/wall.Seconds()*10) / 10
	}
	if t.latency.TotalCount() > 0 {
		q := func(p float64) float64 { return float64(t.latency.ValueAtQuantile(p)) / 1000 }
		s.P50MS, s.P90MS, s.P99MS = q(50), q(90), q(99)
		s.MaxMS = float64(t.latency.Max()) / 1000
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// String is the summary in a few lines for a person, as the command
// prints it on stderr.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in %s (%s/s): %s ok", count(s.Items, "item"), wallTime(s.WallMS), humanize.FtoaWithDigits(s.PerSecond, 1), humanize.Comma(s.OK))
	if s.Failed > 0 {
		fmt.Fprintf(&b, ", %s failed (%s)", humanize.Comma(s.Failed), byCount(s.Kinds, func(k Kind) string { return string(k) }))
	}
	b.WriteByte('\n')
	if len(s.Statuses) > 0 {
		fmt.Fprintf(&b, "  statuses  %s\n", byCount(s.Statuses, func(st int) string { return fmt.Sprint(st) }))
	}
	fmt.Fprintf(&b, "  attempts  %s (%s", humanize.Comma(s.Attempts), count(s.Retries, "retry"))
	if len(s.RetriedFor) > 0 {
		fmt.Fprintf(&b, ": %s", byCount(s.RetriedFor, func(why string) string { return why }))
	}
	b.WriteString(")\n")
	if s.MaxMS > 0 {
		fmt.Fprintf(&b, "  latency   p50 %s  p90 %s  p99 %s  max %s\n", wallTime(s.P50MS), wallTime(s.P90MS), wallTime(s.P99MS), wallTime(s.MaxMS))
	}
	fmt.Fprintf(&b, "  received  %s\n", humanize.IBytes(uint64(s.Bytes)))
	if len(s.Limits) > 0 {
		fmt.Fprintf(&b, "  limits    %s", settled(s.Limits))
		if s.LimitsNotKept > 0 {
			fmt.Fprintf(&b, " (%s more hosts not kept)", humanize.Comma(int64(s.LimitsNotKept)))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// settled says what in-flight limit each host ended at: each one, for a
// few; their spread, for many.
func settled(limits map[string]int) string {
	keys := slices.Sorted(maps.Keys(limits))
	if len(keys) <= 4 {
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d", cmp.Or(k, `""`), limits[k])
		}
		return "in flight at the end: " + strings.Join(parts, ", ")
	}
	ls := slices.Sorted(maps.Values(limits))
	return fmt.Sprintf("in flight at the end, of %d hosts: median %d, from %d to %d", len(ls), ls[len(ls)/2], ls[0], ls[len(ls)-1])
}

// byCount lists counts, most first, as "http_status 3, timeout 1".
func byCount[K cmp.Ordered](m map[K]int64, name func(K) string) string {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b K) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %s", name(k), humanize.Comma(m[k]))
	}
	return strings.Join(parts, ", ")
}

func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		noun = noun[:len(noun)-1] + "ie"
	}
	return humanize.Comma(n) + " " + noun + "s"
}

// wallTime writes milliseconds as a person reads them: 850 ms, 1.2 s.
func wallTime(ms float64) string {
	if ms < 1000 {
		return humanize.FtoaWithDigits(ms, 1) + " ms"
	}
	return humanize.FtoaWithDigits(ms/1000, 2) + " s"
}
