package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// progressMode says when progress is shown on stderr (--progress).
type progressMode string

const (
	progressAuto   progressMode = "auto"   // when stderr is a terminal
	progressAlways progressMode = "always" // a bar on a terminal, a status line every 10 s elsewhere
	progressNever  progressMode = "never"
)

// statusEvery is how often progress away from a terminal prints a line: a
// log that a person reads later needs no more.
var statusEvery = 10 * time.Second

// counts are what progress shows: the tally of the run (its records,
// and Fetch's events for what is in flight and waiting), and the total,
// counted beside the fetch. Read on a ticker, never per item.
type counts struct {
	run   atomic.Pointer[pipeline.Pipeline] // its sources' count is the items read
	tally *stages.Tally
	total atomic.Int64 // -1 while unknown
	base  int64        // items done before this run: a resumed run's

	stopping atomic.Bool // the run was interrupted: no ETA
	ordered  bool        // records wait for their turn: show how many

	mu      sync.Mutex
	samples []sample // each count of items finished, when first seen: the last 4 × rate's n items

	// queue, with --from, says how many items the queue holds that no
	// worker has taken yet.
	queue func() (n uint64, ok bool)
}

// read returns how many items the run has read so far.
func (c *counts) read() int64 {
	if p := c.run.Load(); p != nil {
		return p.Produced()
	}
	return 0
}

// countItems counts the items of a regular file by reading it with the
// run's own source and its options in a pipeline of its own, so that the
// total follows its rules on comments, encodings, overlong lines and
// shards. It runs beside the fetch, so that the first request never waits
// for it, and stops when ctx ends.
func countItems(ctx context.Context, path string, jsonl bool, opts []stages.Option, c *counts) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	var n int64
	p := pipeline.New(ctx)
	src := fetchTask{in: f, source: opts, jsonl: jsonl}
	err = pipeline.ForEach(src.requests(p), func(context.Context, stages.Request) error {
		n++
		return nil
	})
	if err == nil {
		c.total.Store(n)
	}
}

// paceItems is the fewest finished items the rate and the ETA are
// measured over: those of the last paceItems to finish, or of as many as
// are out at once if more (so that a batch of answers that come together
// is one step, not a burst), or all of them while fewer have finished.
// The run's average would say nothing of a pace that changed: a host
// --auto-throttle cut to one in flight, a server that slowed, the fast
// first half of a list; a window of time would say it only once the
// window has passed, and nothing at all while no answer came within it.
const paceItems = 20

// A sample is how many items had finished when that count was first seen.
type sample struct {
	at       time.Time
	finished int64
}

// rate returns the items finished per second over the last of them (see
// paceItems), out being how many are in flight or waiting, and notes
// finished as of now.
func (c *counts) rate(start, now time.Time, finished, out int64) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.samples) == 0 {
		c.samples = append(c.samples, sample{at: start})
	}
	if finished != c.samples[len(c.samples)-1].finished {
		c.samples = append(c.samples, sample{now, finished})
	}
	n := max(out, paceItems)
	from := 0 // the latest sample at least n items back; else the start
	for k := len(c.samples) - 1; k >= 0; k-- {
		if finished-c.samples[k].finished >= n {
			from = k
			break
		}
	}
	// Older samples are kept as long as a wider n, with more out, could
	// want them, and no longer: memory stays flat however long the run.
	keep := from
	for keep > 0 && finished-c.samples[keep].finished < 4*n {
		keep--
	}
	c.samples = c.samples[keep:]
	// Measured between completions, not up to now: answers that come in
	// batches (all in flight taking one latency) would otherwise seem
	// slower the longer since the last batch. Only a wait longer than the
	// items took slows the pace shown.
	first, last := c.samples[from-keep], c.samples[len(c.samples)-1]
	span := max(last.at.Sub(first.at), now.Sub(last.at)).Seconds()
	if span <= 0 {
		return 0
	}
	return float64(finished-first.finished) / span
}

// status is the one line that says how far a run has come, short enough
// for an 80-column terminal. The rate and the ETA count items finished,
// written or not: in input order, records wait behind a slow item, and a
// count of records written would stall with them.
func (c *counts) status(start time.Time) string { return c.statusAt(start, time.Now()) }

func (c *counts) statusAt(start, at time.Time) string {
	now := c.tally.Now()
	done, ok := c.base+now.Done, c.base+now.OK
	finished := now.Done + now.Held
	elapsed := at.Sub(start)
	rate := c.rate(start, at, finished, now.InFlight+now.Waiting)
	var b strings.Builder
	total := c.total.Load()
	if total >= 0 {
		fmt.Fprintf(&b, "%s/%s", humanize.Comma(done), humanize.Comma(total))
	} else {
		verb := "read"
		if c.queue != nil {
			verb = "taken from the queue"
		}
		fmt.Fprintf(&b, "%s done of %s %s", humanize.Comma(done), humanize.Comma(c.read()), verb)
	}
	fmt.Fprintf(&b, " · %s failed", humanize.Comma(done-ok)) // the rest are ok
	if c.ordered && now.Held > 0 {
		fmt.Fprintf(&b, " · %s held for order", humanize.Comma(now.Held))
	}
	switch {
	case elapsed <= time.Second:
	case rate == 0:
		b.WriteString(" · 0/s")
	case rate < 0.995:
		fmt.Fprintf(&b, " · %.2f/s", rate) // a throttled host's pace is still a pace
	case rate < 9.95:
		fmt.Fprintf(&b, " · %.1f/s", rate)
	default:
		fmt.Fprintf(&b, " · %s/s", humanize.Comma(int64(math.Round(rate))))
	}
	fmt.Fprintf(&b, " · %d in flight", now.InFlight)
	if now.Waiting > 0 {
		fmt.Fprintf(&b, ", %d waiting", now.Waiting)
	}
	if c.queue != nil {
		switch n, ok := c.queue(); {
		case !ok:
		case n == 0 && now.InFlight == 0 && now.Waiting == 0:
			b.WriteString(" · the queue is empty: waiting for items")
		default:
			fmt.Fprintf(&b, " · %s in the queue", humanize.Comma(int64(n)))
		}
	}
	fmt.Fprintf(&b, " · %s", elapsed.Round(time.Second))
	left := total - c.base - finished
	switch {
	case c.stopping.Load():
		b.WriteString(" · stopping")
	case total < 0 || left <= 0:
	case left <= now.InFlight:
		// The last ones are in flight: the rate says nothing of when
		// they end. (Those waiting on a limit go at the rate.)
		fmt.Fprintf(&b, " · last %d out", left)
	case rate > 0:
		eta := time.Duration(float64(left) / rate * float64(time.Second))
		fmt.Fprintf(&b, " · ETA %s", eta.Round(time.Second))
	}
	return b.String()
}

// A display shows counts on stderr while a run goes on, and is the
// writer of every other line for stderr meanwhile, so that they print
// above the progress line instead of through it.
type display struct {
	mu     sync.Mutex
	out    io.Writer // stderr, or the progress line's writer while it runs
	stderr io.Writer
	redraw bool // in place, on a terminal; else a line every statusEvery
	stop   func()
}

func (d *display) Write(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.out != d.stderr {
		// Above the line redrawn in place. A terminal that echoes ^C
		// moves the cursor off the start of that line, and the line's
		// first characters would stay in front of this one: go back to
		// the start, and clear what is there.
		if _, err := io.WriteString(d.out, "\r\x1b[K"); err != nil {
			return 0, err
		}
	}
	return d.out.Write(b)
}

// newDisplay returns a display for stderr that shows nothing until start.
// redraw says whether it may redraw a line in place: only on a terminal
// that nothing else writes to, as the records on stdout would be erased.
func newDisplay(stderr io.Writer, redraw bool) *display {
	return &display{out: stderr, stderr: stderr, redraw: redraw, stop: func() {}}
}

// start shows c: a line redrawn every 200 ms, or else a plain line every
// statusEvery. Stop ends it; lines written after go to stderr as they are.
func (d *display) start(c *counts) {
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	if !d.redraw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(statusEvery)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					fmt.Fprintf(d, "fetchpipe: %s\n", c.status(start))
				case <-done:
					// A log read later says where the run ended, even
					// one that needs no summary.
					fmt.Fprintf(d, "fetchpipe: %s\n", c.status(start))
					return
				}
			}
		}()
		d.stop = sync.OnceFunc(func() { close(done); wg.Wait() })
		return
	}
	bars := mpb.New(mpb.WithOutput(d.stderr), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())
	// No bar drawn: the counts say more, and a line of text fits 80
	// columns where a bar and the text would not.
	bar := bars.New(0, mpb.NopStyle(), mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return c.status(start) })))
	d.mu.Lock()
	d.out = bars
	d.mu.Unlock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			total := c.total.Load()
			if total < 0 {
				total = c.read()
			}
			bar.SetTotal(max(total, 1), false)
			bar.SetCurrent(c.base + c.tally.Now().Done)
			select {
			case <-tick.C:
			case <-done:
				return
			}
		}
	}()
	d.stop = sync.OnceFunc(func() {
		close(done)
		wg.Wait()
		// Left as it was: a run cut short is not shown complete.
		bar.Abort(false)
		bars.Wait()
		d.mu.Lock()
		d.out = d.stderr
		d.mu.Unlock()
	})
}
