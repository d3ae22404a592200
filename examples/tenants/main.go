// Command tenants throttles a stage that is not HTTP at all: calls to an
// API client on behalf of several tenants, where each tenant has a quota
// of its own. Tenant "acme" may make 20 calls a second, "globex" 5, and
// "initech" as many as it likes. A tenant at its limit holds up only its
// own calls: the others go on at full speed.
//
//	go run ./examples/tenants
//
// The client here is a stand-in that takes a few milliseconds per call;
// put a real one (a database, a gRPC service, a cloud SDK) in its place.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// Call is one call to make for a tenant.
type Call struct {
	Tenant string
	N      int
}

// Result is what a call gave.
type Result struct {
	Call
	Err  error
	Done time.Duration // since the run began
}

// quotas are the tenants' limits; a tenant not listed has none.
var quotas = map[string]pipeline.Limits{
	"acme":   {Rate: 20},
	"globex": {Rate: 5, InFlight: 2},
}

// client stands in for a real API client.
type client struct{ latency time.Duration }

func (c client) Do(ctx context.Context, call Call) error {
	select {
	case <-time.After(c.latency):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tenants:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tenants", flag.ContinueOnError)
	n := fs.Int("n", 20, "calls per tenant")
	latency := fs.Duration("latency", 5*time.Millisecond, "how long the stand-in client takes per call")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tenants := []string{"acme", "globex", "initech"}
	var calls []Call
	for i := range *n {
		for _, t := range tenants {
			calls = append(calls, Call{Tenant: t, N: i})
		}
	}

	// The budget: 64 calls at once overall, and each tenant's quota. The
	// stage holds twice that many calls, waiting or running: enough that
	// the calls of the slow tenants waiting their turn leave room for
	// initech's (see pipeline.Schedule on the window).
	budget := pipeline.NewBudget(pipeline.Limits{InFlight: 64}, func(tenant string) pipeline.Limits {
		return quotas[tenant]
	})
	c := client{latency: *latency}
	start := time.Now()
	p := pipeline.New(ctx)
	results := pipeline.Schedule(pipeline.FromSlice(p, calls),
		func(ctx context.Context, t *pipeline.Task[Call]) (Result, error) {
			err := c.Do(ctx, t.Value)
			return Result{Call: t.Value, Err: err, Done: time.Since(start)}, nil
		},
		pipeline.WithBudget(budget),
		pipeline.WithKey(func(c Call) string { return c.Tenant }),
	)

	finished := map[string]time.Duration{}
	failed := 0
	err := pipeline.ForEach(results, func(_ context.Context, r Result) error {
		finished[r.Tenant] = max(finished[r.Tenant], r.Done)
		if r.Err != nil {
			failed++
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, t := range tenants {
		q := quotas[t]
		limit := "no limit"
		if q.Rate > 0 {
			limit = fmt.Sprintf("%g/s", q.Rate)
		}
		fmt.Fprintf(out, "%-8s %-8s %d calls done after %v\n", t, limit, *n, finished[t].Round(10*time.Millisecond))
	}
	if failed > 0 {
		return fmt.Errorf("%d calls failed", failed)
	}
	return nil
}
