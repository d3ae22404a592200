package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/segmentio/encoding/json"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/stages"
)

//go:embed demo_names.txt
var demoNames string

// demoLatency is what the demo's fake API makes each listing wait: varied
// like a real API's, with a few slow outliers, and short enough that the
// sequential comparison ends in seconds.
var demoLatency = fakeapi.Latency{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond, TailRate: 0.02, TailFactor: 5}

func newDemoCmd(e env) *cobra.Command {
	var (
		f       fetchFlags
		compare bool
		n       int
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run offline against a built-in fake API, beside the usual ways",
		Long: `demo starts a fake Reddit-like API on 127.0.0.1 (no network needed), fetches
the listings of 200 subreddits through a template, as

  fetchpipe -t 'http://127.0.0.1:PORT/r/{}.json' < names.txt

would, and streams the records to stdout. Then it fetches the same list with a
sequential loop and with a pool of 2 workers that returns its results at the
end, and prints on stderr how long each took and when its first result came.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), &f, n, compare, e)
		},
	}
	f.registerRun(cmd)
	cmd.Flags().IntVarP(&n, "names", "n", 200, "fetch the first `N` of the 200 subreddit names")
	cmd.Flags().BoolVar(&compare, "compare", true, "also time a sequential loop and a pool of 2 workers on the same list")
	return cmd
}

func runDemo(ctx context.Context, f *fetchFlags, n int, compare bool, e env) error {
	fetchOpts, format, err := f.options()
	if err != nil {
		return err
	}
	names := demoList(n)
	if len(names) == 0 {
		return fmt.Errorf("--names must be at least 1, not %d", n)
	}
	out, closeOut, err := f.openOutput(e, nil)
	if err != nil {
		return err
	}
	srv, err := fakeapi.Start("127.0.0.1:0", fakeapi.Config{Latency: demoLatency})
	if err != nil {
		return err
	}
	defer srv.Close()
	template := srv.URL() + "/r/{}.json"
	fmt.Fprintf(e.stderr, "fetchpipe demo: %d subreddit listings from a fake API at %s (latency %v–%v, a few slow outliers), -c %d\n",
		len(names), srv.URL(), demoLatency.Min, demoLatency.Max, f.concurrency)

	var first time.Duration
	start := time.Now()
	t := fetchTask{
		items:  names,
		source: []stages.Option{stages.WithTemplate(template)},
		fetch:  fetchOpts,
		format: format,
		out:    out,
		stderr: e.stderr,
		first:  func() { first = time.Since(start) },
	}
	if f.output == "" && isTerminal(e.stdout) {
		// 360 KB of one-line JSON scrolling past shows nothing a person
		// can read: at a terminal, a short line per record.
		t.brief = briefLine
	}
	res := t.runTo(ctx, closeOut)
	code := res.report(ctx, e.stderr, f.summary)
	if code == exitOK && compare {
		rows := compareStrategies(ctx, srv.URL(), names, e.stderr)
		if ctx.Err() != nil {
			return exitCode(exitInterrupted) // during the comparison
		}
		rows = append(rows, demoRow{fmt.Sprintf("fetchpipe -c %d, streaming", f.concurrency), res.elapsed, first})
		printComparison(e.stderr, rows)
	}
	return exitCode(code)
}

// demoList returns the first n names of the embedded list.
func demoList(n int) []string {
	var names []string
	for line := range strings.Lines(demoNames) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if len(names) == n {
			break
		}
		names = append(names, line)
	}
	return names
}

type demoRow struct {
	strategy     string
	total, first time.Duration
}

// compareStrategies fetches names the two ways fetchpipe replaces, at the
// same time, since both spend their time waiting on the server: a loop of
// one request after another, and a pool of 2 workers whose caller gets the
// results when all are done, as with a thread pool's map.
func compareStrategies(ctx context.Context, base string, names []string, stderr io.Writer) []demoRow {
	urls := make([]string, len(names))
	for i, n := range names {
		urls[i] = base + "/r/" + url.PathEscape(n) + ".json" // as the template makes them
	}
	fmt.Fprintf(stderr, "fetchpipe demo: now the same %d listings with a sequential loop and with 2 workers (some seconds)...\n", len(urls))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	defer client.CloseIdleConnections()
	rows := make([]demoRow, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		start := time.Now()
		var first time.Duration
		for i, u := range urls {
			if get(ctx, client, u) != nil {
				return
			}
			if i == 0 {
				first = time.Since(start)
			}
		}
		rows[0] = demoRow{"sequential loop", time.Since(start), first}
	})
	wg.Go(func() {
		start := time.Now()
		jobs := make(chan string)
		var workers sync.WaitGroup
		for range 2 {
			workers.Go(func() {
				for u := range jobs {
					_ = get(ctx, client, u)
				}
			})
		}
		for _, u := range urls {
			jobs <- u
		}
		close(jobs)
		workers.Wait()
		total := time.Since(start)
		rows[1] = demoRow{"2 workers, results at the end", total, total}
	})
	wg.Wait()
	return rows
}

// get fetches u and reads its body, as the simplest client would.
func get(ctx context.Context, c *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func printComparison(w io.Writer, rows []demoRow) {
	fmt.Fprintf(w, "\n  %-32s %10s %14s\n", "strategy", "total", "first result")
	for _, r := range rows {
		fmt.Fprintf(w, "  %-32s %8.2f s %12.2f s\n", r.strategy, r.total.Seconds(), r.first.Seconds())
	}
	seq, pipe := rows[0], rows[len(rows)-1]
	if pipe.total > 0 {
		fmt.Fprintf(w, "\nfetchpipe was %.0f× faster than the sequential loop, and its first record was out after %v.\n",
			seq.total.Seconds()/pipe.total.Seconds(), pipe.first.Round(time.Millisecond))
	}
}

// briefLine is the demo's line for a record at a terminal: its seq,
// status, time and the title of the listing's first post.
func briefLine(r stages.Record) string {
	title := ""
	if r.Err != nil {
		title = string(r.Err.Kind) + ": " + r.Err.Message
	} else {
		var listing struct {
			Data struct {
				Children []struct {
					Data struct{ Title string } `json:"data"`
				} `json:"children"`
			} `json:"data"`
		}
		if json.Unmarshal(r.Body, &listing) == nil && len(listing.Data.Children) > 0 {
			title = listing.Data.Children[0].Data.Title
		}
	}
	return fmt.Sprintf("%4d  %3d  %6.1f ms  %s\n", r.Seq, r.Status, float64(r.Elapsed.Microseconds())/1000, title)
}
