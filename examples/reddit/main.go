// Command reddit is the task fetchpipe was made for, in Go: fetch the JSON
// listing of many subreddits at once, decode each into a struct, and print
// its top titles the moment it arrives.
//
//	go run ./examples/reddit                      # offline, against the built-in fake API
//	go run ./examples/reddit -base https://www.reddit.com golang rust
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
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

var defaultNames = []string{"golang", "rust", "python", "programming", "linux", "datascience", "physics", "books", "cooking", "cycling"}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "reddit:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("reddit", flag.ContinueOnError)
	base := fs.String("base", "", "API base URL, such as https://www.reddit.com (default: start the offline fake API)")
	top := fs.Int("top", 3, "titles to print per subreddit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	names := fs.Args()
	if len(names) == 0 {
		names = defaultNames
	}

	// Scaffolding: with no -base, serve a fake of the real API on loopback
	// so that the example runs offline. Everything below works unchanged
	// against the real one.
	if *base == "" {
		srv, err := fakeapi.Start("127.0.0.1:0", fakeapi.Config{Latency: fakeapi.Latency{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}})
		if err != nil {
			return err
		}
		defer srv.Close()
		*base = srv.URL()
	}

	p := pipeline.New(ctx)
	reqs := stages.URLs(p, names, stages.WithTemplate(strings.TrimSuffix(*base, "/")+"/r/{}.json"))
	listings := stages.DecodeAs[Listing](stages.Fetch(reqs, stages.WithConcurrency(20)))
	for l, err := range pipeline.All(listings) {
		if err != nil {
			return err // the run itself failed; a failed fetch is in l.Record
		}
		name := names[l.Record.Seq]
		if !l.Record.OK() {
			fmt.Fprintf(w, "r/%s: %s\n", name, l.Record.Err)
			continue
		}
		fmt.Fprintf(w, "r/%s (%d ms)\n", name, l.Record.Elapsed.Milliseconds())
		for i, c := range l.Value.Data.Children {
			if i == *top {
				break
			}
			fmt.Fprintf(w, "  %5d  %s\n", c.Data.Score, c.Data.Title)
		}
	}
	return nil
}
