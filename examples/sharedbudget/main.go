// Command sharedbudget fetches in two stages that share one politeness
// budget: the first fetches a page of each listing, the second a follow-up
// page for each record of the first. With 4 requests per host allowed,
// the hosts see at most 4 at once from both stages together, where two
// stages with 4 each would send them 8.
//
//	source ─ Fetch ─ next page ─ Fetch ─ NDJSON
//	           └──── one Budget ────┘
//
//	go run ./examples/sharedbudget    # offline, against two built-in fake API hosts
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, io.Discard); err != nil {
		fmt.Fprintln(os.Stderr, "sharedbudget:", err)
		os.Exit(1)
	}
}

// run fetches -n listings spread over two hosts and writes a line per host
// to out, saying what it saw; the records go to records.
func run(ctx context.Context, args []string, out, records io.Writer) error {
	fs := flag.NewFlagSet("sharedbudget", flag.ContinueOnError)
	n := fs.Int("n", 40, "listings, spread over the two hosts")
	perHost := fs.Int("per-host", 4, "requests in flight per host, across both stages")
	if err := fs.Parse(args); err != nil {
		return err
	}

	// Scaffolding: two fake API hosts that take 20ms a request.
	var hosts []*fakeapi.Server
	for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		srv, err := fakeapi.Start(ip+":0", fakeapi.Config{Latency: fakeapi.Latency{Min: 20 * time.Millisecond, Max: 20 * time.Millisecond}})
		if err != nil {
			return err
		}
		defer srv.Close()
		hosts = append(hosts, srv)
	}
	urls := make([]string, *n)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/r/listing%d.json", hosts[i%len(hosts)].URL(), i)
	}

	// One budget for both stages: 64 requests at once overall, and
	// -per-host to each host, counted across the two.
	limits := pipeline.Limits{InFlight: *perHost}
	budget := pipeline.NewBudget(pipeline.Limits{InFlight: 64}, func(host string) pipeline.Limits { return limits })

	p := pipeline.New(ctx)
	first := stages.Fetch(stages.URLs(p, urls), stages.WithBudget(budget))
	// Each record of the first stage asks for a follow-up page. Seq stays
	// the item's position, so the two records of an item share it.
	next := pipeline.Map(first, func(_ context.Context, r stages.Record) (stages.Request, error) {
		return stages.Request{Seq: r.Seq, URL: r.URL + "?page=2"}, nil
	})
	second := stages.Fetch(next, stages.WithBudget(budget))
	if err := stages.WriteNDJSON(second, records); err != nil {
		return err
	}

	for i, h := range hosts {
		st := h.Handler().Stats()
		fmt.Fprintf(out, "host %d: %d requests, at most %d at once (limit %d)\n", i+1, st.Requests, st.PeakInFlight, *perHost)
	}
	return nil
}
