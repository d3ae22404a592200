// Command followup fetches in two rounds: the listings of a few
// subreddits, then the comments of the top posts of each, found by
// following the listing's permalinks. Both rounds go to one NDJSON
// stream as they complete.
//
//	URLs ─ Fetch ─ Tee ─────────────────────────────┐
//	                 └─ Follow ─ Fetch (comments) ──┴─ Merge ─ NDJSON
//
// A listing's record has the seq of its subreddit in the input; the
// record of a post's comments has the same seq, and a follow path that
// says which post of the listing it is: {"seq":2,"follow":[0]} is the
// comments of the first post of the third subreddit. So every record has
// an identity of its own however the two rounds interleave.
//
//	go run ./examples/followup                     # offline, against the built-in fake API
//	go run ./examples/followup -base https://www.reddit.com golang rust
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/segmentio/encoding/json"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
	"github.com/fetchpipe/fetchpipe/stages/fetchtest"
)

var defaultNames = []string{"golang", "rust", "python", "linux", "cooking"}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "followup:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("followup", flag.ContinueOnError)
	base := fs.String("base", "", "API base URL, such as https://www.reddit.com (default: start the offline fake API)")
	top := fs.Int("top", 3, "follow the first `N` posts of each listing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	names := fs.Args()
	if len(names) == 0 {
		names = defaultNames
	}

	// Scaffolding: with no -base, serve a fake of the real API on loopback,
	// the one package fetchtest gives tests.
	if *base == "" {
		srv := fetchtest.NewServer(fetchtest.WithLatency(10*time.Millisecond, 50*time.Millisecond))
		defer srv.Close()
		*base = srv.URL
	}
	*base = strings.TrimSuffix(*base, "/")

	p := pipeline.New(ctx)
	listings := stages.Fetch(
		stages.URLs(p, names, stages.WithTemplate(*base+"/r/{}.json")),
		stages.WithConcurrency(8), stages.WithDecode(stages.JSON))
	both := pipeline.Tee(listings, 2)
	comments := stages.Fetch(
		stages.Follow(both[1], permalinks(*top), stages.WithTemplate(*base+"{raw}.json")),
		stages.WithConcurrency(8), stages.WithDecode(stages.JSON))
	return stages.WriteNDJSON(pipeline.Merge(both[0], comments), stdout)
}

// permalinks returns Follow's derive function: the permalinks of the
// first n posts of a listing. A body that is not a listing has none.
func permalinks(n int) func(stages.Record) []string {
	return func(rec stages.Record) []string {
		var listing struct {
			Data struct {
				Children []struct {
					Data struct {
						Permalink string `json:"permalink"`
					} `json:"data"`
				} `json:"children"`
			} `json:"data"`
		}
		if json.Unmarshal(rec.Body, &listing) != nil {
			return nil
		}
		var links []string
		for _, c := range listing.Data.Children[:min(n, len(listing.Data.Children))] {
			links = append(links, c.Data.Permalink)
		}
		return links
	}
}
