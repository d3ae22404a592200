package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
)

func newServeFakeCmd(e env) *cobra.Command {
	var (
		addr, latency string
		cfg           fakeapi.Config
	)
	cmd := &cobra.Command{
		Use:   "serve-fake",
		Short: "Serve the fake API of the demo and the tests, until interrupted",
		Long: `serve-fake serves a fake Reddit-like JSON API, for trying fetchpipe or another
client offline and for benchmarks that must run the server in its own process.

  GET /r/{name}.json   a listing; the same name always gets the same answer
  GET {permalink}.json a post's comments (a listing's permalink + ".json")
  GET /stats           requests seen, in flight, peak in flight, by status

Query parameters make a request misbehave: latency=150ms, status=503,
fail=N&id=K (the first N requests with id K fail), retry_after=2,
redirect=N, loop=1, format=html|badjson, bytes=N, gzip=1, bomb=N,
trickle=1, reset=1, hang=1; or shape its answer: pretty=1 (indented
over many lines), unicode=1 (text in many scripts).

Flags make the whole server behave like a real API under load, counting the
requests in flight (all but /stats): --capacity N answers 429 at once, with
no latency, to a request that finds N in flight, with a Retry-After only if
--capacity-retry-after gives one; --load-latency N holds a request that
finds k others in flight for its latency × (1 + k/N), so a client that sends
more at once sees its latency climb, as queueing makes it on a real server;
--workers N works on N requests at once and queues the rest, first come
first served, as a server with a fixed pool of workers does: up to N in
flight nothing slows, and beyond, each answer waits for those ahead of it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lat, err := parseLatency(latency)
			if err != nil {
				return err
			}
			cfg.Latency.Min, cfg.Latency.Max = lat[0], lat[1]
			if err := checkLoadFlags(cfg); err != nil {
				return err
			}
			return serveFake(cmd.Context(), addr, cfg, e)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
	fs.StringVar(&latency, "latency", "0", "hold each request this long: a duration such as 100ms, or a uniform `RANGE` such as 50ms..250ms")
	fs.Float64Var(&cfg.Latency.TailRate, "tail", 0, "a fraction `F` of URLs, 0 to 1, are slow outliers")
	fs.Float64Var(&cfg.Latency.TailFactor, "tail-factor", 10, "an outlier is `X` times slower")
	fs.IntVar(&cfg.Posts, "posts", 5, "`N` posts per listing (each about 350 bytes)")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "pick another, equally deterministic set `N` of listings and latencies")
	fs.IntVar(&cfg.Capacity, "capacity", 0, "answer 429 at once beyond `N` requests in flight (0: unlimited)")
	fs.StringVar(&cfg.CapacityRetryAfter, "capacity-retry-after", "", "send Retry-After: `VALUE` with --capacity's 429s (default none)")
	fs.IntVar(&cfg.LoadLatency, "load-latency", 0, "hold a request that finds k others in flight for latency × (1 + k/`N`) (0: off)")
	fs.IntVar(&cfg.Workers, "workers", 0, "work on `N` requests at once and queue the rest, first come first served (0: no queue)")
	return cmd
}

// checkLoadFlags refuses what fakeapi.Start would, naming the flag, and a
// Retry-After with no capacity to send it.
func checkLoadFlags(cfg fakeapi.Config) error {
	switch {
	case cfg.Capacity < 0:
		return fmt.Errorf("--capacity %d: want 0 (unlimited) or more", cfg.Capacity)
	case cfg.LoadLatency < 0:
		return fmt.Errorf("--load-latency %d: want 0 (off) or more", cfg.LoadLatency)
	case cfg.Workers < 0:
		return fmt.Errorf("--workers %d: want 0 (no queue) or more", cfg.Workers)
	case cfg.CapacityRetryAfter != "" && cfg.Capacity == 0:
		return fmt.Errorf("--capacity-retry-after %q needs --capacity: no request is refused without it", cfg.CapacityRetryAfter)
	}
	return nil
}

// parseLatency reads "100ms" as a fixed latency and "50ms..250ms" as a
// uniform range.
func parseLatency(s string) ([2]time.Duration, error) {
	lo, hi, isRange := strings.Cut(s, "..")
	if !isRange {
		hi = lo
	}
	var d [2]time.Duration
	for i, v := range []string{lo, hi} {
		var err error
		if d[i], err = time.ParseDuration(strings.TrimSpace(v)); err != nil || d[i] < 0 {
			return d, fmt.Errorf("--latency %q is not a duration such as 100ms or a range such as 50ms..250ms", s)
		}
	}
	if d[1] < d[0] {
		return d, fmt.Errorf("--latency %q: the range ends before it starts", s)
	}
	return d, nil
}

func serveFake(ctx context.Context, addr string, cfg fakeapi.Config, e env) error {
	srv, err := fakeapi.Start(addr, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "fetchpipe serve-fake: listening on %s (try %s/r/golang.json); interrupt to stop\n", srv.URL(), srv.URL())
	if load := loadSaid(cfg); load != "" {
		// What the flags make of it, so that a run against it can be
		// read for what it is.
		fmt.Fprintf(e.stderr, "fetchpipe serve-fake: under load, %s\n", load)
	}
	<-ctx.Done()
	srv.Close()
	s := srv.Handler().Stats()
	fmt.Fprintf(e.stderr, "fetchpipe serve-fake: served %d requests, at most %d at once", s.Requests, s.PeakInFlight)
	if cfg.Capacity > 0 {
		fmt.Fprintf(e.stderr, ", refused %d over capacity", s.Refused)
	}
	fmt.Fprintln(e.stderr)
	return nil
}

// loadSaid says what cfg's load flags make the server do, or "".
func loadSaid(cfg fakeapi.Config) string {
	var said []string
	if cfg.Workers > 0 {
		said = append(said, fmt.Sprintf("it works on %d at once and queues the rest", cfg.Workers))
	}
	if cfg.LoadLatency > 0 {
		said = append(said, fmt.Sprintf("a request that finds k others in flight takes its latency × (1 + k/%d)", cfg.LoadLatency))
	}
	if cfg.Capacity > 0 {
		retry := "no Retry-After"
		if cfg.CapacityRetryAfter != "" {
			retry = "Retry-After: " + cfg.CapacityRetryAfter
		}
		said = append(said, fmt.Sprintf("it answers 429 at once (%s) to a request that finds %d in flight", retry, cfg.Capacity))
	}
	return strings.Join(said, "; ")
}
