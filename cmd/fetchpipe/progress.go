package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
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
}

// read returns how many items the run has read so far.
func (c *counts) read() int64 {
	if p := c.run.Load(); p != nil {
		return p.Produced()
	}
	return 0
}

// countItems counts the items of a regular file as Lines does, beside the
// fetch, so that the first request never waits for it.
func countItems(path string, c *counts) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var n int64
	for {
		line, err := br.ReadSlice('\n')
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			n++
		}
		if err == bufio.ErrBufferFull {
			// The rest of a long line: not an item of its own.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
		}
		if err != nil {
			break
		}
	}
	c.total.Store(n)
}

// status is the one line that says how far a run has come.
func (c *counts) status(start time.Time) string {
	now := c.tally.Now()
	done, ok := c.base+now.Done, c.base+now.OK
	of := fmt.Sprintf("%s read", humanize.Comma(c.read()))
	eta := ""
	elapsed := time.Since(start)
	if total := c.total.Load(); total >= 0 {
		of = "of " + humanize.Comma(total)
		if done > 0 && total > done {
			left := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
			eta = ", ETA " + left.Round(time.Second).String()
		}
	}
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	return fmt.Sprintf("%s %s done: %s ok, %s failed · %s/s · %d in flight, %d waiting · %s%s",
		humanize.Comma(done), of, humanize.Comma(ok), humanize.Comma(done-ok), humanize.FtoaWithDigits(rate, 1),
		now.InFlight, now.Waiting, elapsed.Round(time.Second), eta)
}

// A display shows counts on stderr while a run goes on, and is the
// writer of every other line for stderr meanwhile, so that they print
// above the bar instead of through it.
type display struct {
	mu     sync.Mutex
	out    io.Writer // stderr, or the bar's writer while it runs
	stderr io.Writer
	stop   func()
}

func (p *display) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// startDisplay shows c on stderr: a bar on a terminal, refreshed every
// 200 ms, or else a plain line every 10 s. Stop ends it; lines written
// after go to stderr as they are.
func startDisplay(stderr io.Writer, terminal bool, c *counts) *display {
	pr := &display{out: stderr, stderr: stderr}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	if !terminal {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(statusEvery)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					fmt.Fprintf(pr, "fetchpipe: %s\n", c.status(start))
				case <-done:
					return
				}
			}
		}()
		pr.stop = sync.OnceFunc(func() { close(done); wg.Wait() })
		return pr
	}
	bars := mpb.New(mpb.WithOutput(stderr), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithWidth(24), mpb.WithAutoRefresh())
	bar := bars.New(0, mpb.BarStyle(), mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return c.status(start) })))
	pr.out = bars
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
	pr.stop = sync.OnceFunc(func() {
		close(done)
		wg.Wait()
		bar.SetTotal(-1, true) // complete at what was done, whatever the total
		bars.Wait()
		pr.mu.Lock()
		pr.out = stderr
		pr.mu.Unlock()
	})
	return pr
}
