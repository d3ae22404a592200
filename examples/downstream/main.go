// Command downstream feeds fetched records to a processor of its own, a
// plain Go loop over pipeline.All, which writes a CSV summary: one row per
// subreddit with its post count, mean score and top title.
//
// The processor is slow on purpose (-work): watch the fetcher slow down to
// its pace instead of piling records up in memory. At the end the program
// says how far ahead of the processor the fetcher ever got: a bound set by
// the stage buffers and the concurrency, not by the length of the input.
//
//	go run ./examples/downstream                  # offline, against the built-in fake API
//	go run ./examples/downstream -base https://www.reddit.com golang rust
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// Listing is the part of a subreddit listing this program reads.
type Listing struct {
	Data struct {
		Children []struct {
			Data struct {
				Title string `json:"title"`
				Score int    `json:"score"`
			} `json:"data"`
		} `json:"children"`
	} `json:"data"`
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "downstream:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("downstream", flag.ContinueOnError)
	base := fs.String("base", "", "API base URL, such as https://www.reddit.com (default: start the offline fake API)")
	n := fs.Int("n", 300, "subreddits to fetch, when none are named")
	work := fs.Duration("work", 5*time.Millisecond, "time the processor spends on each record")
	concurrency := fs.Int("c", 32, "requests in flight at most")
	if err := fs.Parse(args); err != nil {
		return err
	}
	names := fs.Args()
	if len(names) == 0 {
		for i := range *n {
			names = append(names, fmt.Sprintf("topic%d", i))
		}
	}

	// Scaffolding: with no -base, serve a fake of the real API on loopback.
	if *base == "" {
		srv, err := fakeapi.Start("127.0.0.1:0", fakeapi.Config{})
		if err != nil {
			return err
		}
		defer srv.Close()
		*base = srv.URL()
	}

	p := pipeline.New(ctx)
	reqs := stages.URLs(p, names, stages.WithTemplate(strings.TrimSuffix(*base, "/")+"/r/{}.json"))
	// Count what the fetcher takes on, to compare with what the processor
	// has done: the difference is what the pipeline holds.
	var taken atomic.Int64
	reqs = pipeline.Map(reqs, func(_ context.Context, r stages.Request) (stages.Request, error) {
		taken.Add(1)
		return r, nil
	})
	listings := stages.DecodeAs[Listing](stages.Fetch(reqs, stages.WithConcurrency(*concurrency)))

	out := csv.NewWriter(stdout)
	out.Write([]string{"subreddit", "ok", "posts", "mean_score", "top_title"})
	var done, ahead int64
	for l, err := range pipeline.All(listings) {
		if err != nil {
			return err
		}
		ahead = max(ahead, taken.Load()-done)
		time.Sleep(*work) // the processor's own work: a database write, say
		out.Write(summary(names[l.Record.Seq], l))
		done++
	}
	out.Flush()
	fmt.Fprintf(stderr, "processed %d records; the fetcher was never more than %d records ahead of the processor (-c %d)\n", done, ahead, *concurrency)
	return out.Error()
}

// summary is the CSV row of one listing.
func summary(name string, l stages.Decoded[Listing]) []string {
	posts := l.Value.Data.Children
	if !l.Record.OK() {
		return []string{name, "false", "0", "", l.Record.Err.Message}
	}
	total, best := 0, 0
	for i, c := range posts {
		total += c.Data.Score
		if c.Data.Score > posts[best].Data.Score {
			best = i
		}
	}
	row := []string{name, "true", strconv.Itoa(len(posts)), "", ""}
	if len(posts) > 0 {
		row[3] = strconv.FormatFloat(float64(total)/float64(len(posts)), 'f', 1, 64)
		row[4] = posts[best].Data.Title
	}
	return row
}
