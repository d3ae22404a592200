// Command fanout joins two sources into one fetch and splits its records
// between two consumers: every record goes to an NDJSON file, and a live
// summary on stderr counts them by list as they come.
//
//	source "tech"    ─┐                        ┌─ NDJSON file
//	                  ├─ Merge ─ Fetch ─ Tee ─┤
//	source "hobbies" ─┘                        └─ live summary
//
// Each request carries the name of its list in Meta, which Fetch copies
// into the record, so the consumers can tell the lists apart.
//
//	go run ./examples/fanout -o records.ndjson    # offline, against the built-in fake API
//	go run ./examples/fanout -base https://www.reddit.com -o records.ndjson
package main

import (
	"context"
	"encoding/json"
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

var lists = map[string][]string{
	"tech":    {"golang", "rust", "python", "programming", "linux", "sysadmin", "devops", "webdev"},
	"hobbies": {"cooking", "baking", "coffee", "gardening", "cycling", "running", "hiking", "photography"},
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	base := fs.String("base", "", "API base URL, such as https://www.reddit.com (default: start the offline fake API)")
	output := fs.String("o", "", "write the records to this NDJSON file (default: stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var file io.Writer = stdout
	if *output != "" {
		f, err := os.Create(*output)
		if err != nil {
			return err
		}
		defer f.Close()
		file = f
	}

	// Scaffolding: with no -base, serve a fake of the real API on loopback.
	if *base == "" {
		srv, err := fakeapi.Start("127.0.0.1:0", fakeapi.Config{Latency: fakeapi.Latency{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}})
		if err != nil {
			return err
		}
		defer srv.Close()
		*base = srv.URL()
	}
	template := stages.WithTemplate(strings.TrimSuffix(*base, "/") + "/r/{}.json")

	p := pipeline.New(ctx)
	// Two sources, merged. Seq counts within each source, so the list name
	// in Meta is what tells two records with the same seq apart.
	tech := tag(stages.URLs(p, lists["tech"], template), "tech")
	hobbies := tag(stages.URLs(p, lists["hobbies"], template), "hobbies")
	records := stages.Decode(stages.Fetch(pipeline.Merge(tech, hobbies), stages.WithConcurrency(8)), stages.JSON)

	// Two consumers. Both must read, so one runs in a goroutine of the
	// pipeline, and the sink on the other waits for the whole run.
	copies := pipeline.Tee(records, 2)
	counts := map[string]int{}
	p.Go(func(context.Context) error {
		for r := range copies[1].Chan() {
			var m struct{ List string }
			json.Unmarshal(r.Meta, &m)
			counts[m.List]++
			fmt.Fprintf(stderr, "\rtech %2d/%d  hobbies %2d/%d", counts["tech"], len(lists["tech"]), counts["hobbies"], len(lists["hobbies"]))
		}
		fmt.Fprintln(stderr)
		return nil
	})
	return stages.WriteNDJSON(copies[0], file)
}

// tag puts the name of its list into each request's Meta.
func tag(reqs pipeline.Stream[stages.Request], list string) pipeline.Stream[stages.Request] {
	meta := json.RawMessage(fmt.Sprintf(`{"list":%q}`, list))
	return pipeline.Map(reqs, func(_ context.Context, r stages.Request) (stages.Request, error) {
		r.Meta = meta
		return r, nil
	})
}
