// Command customstage puts a stage of its own between decode and sink: it
// splits every title of every listing into words, on several goroutines,
// and the sink counts them, to print the most common words at the end.
//
//	go run ./examples/customstage                 # offline, against the built-in fake API
//	go run ./examples/customstage -base https://www.reddit.com golang rust
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

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
			} `json:"data"`
		} `json:"children"`
	} `json:"data"`
}

// Words is the custom stage: a listing in, each word of its titles out. A
// failed fetch has no titles, and so gives no words; the stage would be a
// pipeline.Map if it made one value per listing.
func Words(in pipeline.Stream[stages.Decoded[Listing]], opts ...pipeline.Option) pipeline.Stream[string] {
	return pipeline.FlatMap(in, func(_ context.Context, l stages.Decoded[Listing], emit func(string) bool) error {
		for _, c := range l.Value.Data.Children {
			for _, w := range strings.FieldsFunc(c.Data.Title, notLetter) {
				if len(w) > 3 && !emit(strings.ToLower(w)) {
					return nil
				}
			}
		}
		return nil
	}, opts...)
}

func notLetter(r rune) bool { return !unicode.IsLetter(r) }

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "customstage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("customstage", flag.ContinueOnError)
	base := fs.String("base", "", "API base URL, such as https://www.reddit.com (default: start the offline fake API)")
	n := fs.Int("n", 100, "subreddits to fetch, when none are named")
	top := fs.Int("top", 10, "words to print")
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
		srv, err := fakeapi.Start("127.0.0.1:0", fakeapi.Config{Latency: fakeapi.Latency{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
		if err != nil {
			return err
		}
		defer srv.Close()
		*base = srv.URL()
	}

	p := pipeline.New(ctx)
	reqs := stages.URLs(p, names, stages.WithTemplate(strings.TrimSuffix(*base, "/")+"/r/{}.json"))
	listings := stages.DecodeAs[Listing](stages.Fetch(reqs, stages.WithConcurrency(50)))
	words := Words(listings, pipeline.WithConcurrency(4))

	counts := make(map[string]int)
	err := pipeline.ForEach(words, func(_ context.Context, word string) error {
		counts[word]++
		return nil
	})
	if err != nil {
		return err
	}
	ranked := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b))
	})
	for _, word := range ranked[:min(*top, len(ranked))] {
		fmt.Fprintf(w, "%6d  %s\n", counts[word], word)
	}
	return nil
}
