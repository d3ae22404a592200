// Command bench measures fetchpipe against the approaches it replaces and
// against the physical limit, offline, in one run, and prints a table per
// scenario (or, with -json, one JSON document).
//
//	go run ./examples/bench                    # every scenario but S8, S9 and S10, several minutes
//	go run ./examples/bench -quick             # every N about 10× smaller, a smoke run
//	go run ./examples/bench -scenarios S1,S3   # some scenarios only
//	go run ./examples/bench -scenarios S8      # the load run alone: 10⁶ URLs at -c 1000, minutes
//	go run ./examples/bench -scenarios S9      # --auto-throttle against servers that push back, minutes
//	go run ./examples/bench -scenarios S10     # a NATS JetStream work queue and two workers, 100,000 URLs
//	go run ./examples/bench -load              # every scenario and the load run
//	go run ./examples/bench -json > bench.json
//
// S8, the load run, is left out unless named or asked for with -load: a
// million URLs at -c 1000 against four servers on 127.0.0.1 to 127.0.0.4,
// followed from /proc while it runs (peak RSS after 10⁴, 10⁵ and 10⁶
// records, open descriptors, rate, error records). With -quick it fetches
// 100 times fewer URLs.
//
// S9, politeness that adapts to each server, is left out unless named:
// fetchpipe --auto-throttle beside fixed settings against fake APIs that
// refuse what they cannot take (serve-fake --capacity), queue what their
// workers cannot take (--workers) or slow down as more arrive
// (--load-latency), and two of different capacity at once, about four
// minutes of runs at 100 ms a request.
//
// S10, across machines on one, is left out unless named: 100,000 URLs
// loaded into a NATS JetStream work queue with fetchpipe enqueue, then
// fetched by two workers at once (--from … --until-empty --to …), with a
// real nats-server as its own process (on the PATH, or built from the
// version go.mod requires, about 30 s the first time): the time and CPU of
// each, CPU per message, redeliveries, and whether the results stream
// holds exactly one record per item.
//
// Each table's ratios carry the project's targets where it sets one, and
// say whether they were met; -quick and -tiny, whose N are too small for
// that, print the targets unjudged. An interrupt (Ctrl-C) prints the tables
// of the scenarios that finished, ends every process the bench started, and
// exits with status 130.
//
// S2, S3 and S6 also run two other tools on the same list, where they are
// at hand: curl --parallel (7.66 or later, on the PATH or -curl PATH) and
// vegeta (on the PATH, -vegeta PATH, or else built by the bench with
// "go install github.com/tsenart/vegeta/v12@v12.13.0" into its temporary
// directory). A tool that is not at hand is left out with a note in the
// table; -curl none and -vegeta none leave them out.
//
// Every party is its own process, so that what is measured is one program
// alone: the bench builds the fetchpipe binary, starts the fake API with
// "fetchpipe serve-fake" (one server per scenario), and runs each client
// under test as a child whose CPU time and peak RSS come from the kernel's
// accounting of that child. The clients the seed used, re-created in Go,
// are hidden modes of this same binary (see clients.go). Client and server
// share the machine's cores, as they would on a laptop.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitInterrupted is the exit status after an interrupt: 128 + SIGINT, as
// a shell reports a program that an interrupt ended.
const exitInterrupted = 130

// run is the whole program: a client under test when the arguments ask for
// one (the bench re-executes itself that way), else the bench. It returns
// the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if isClient(args) {
		return runClient(ctx, args, stdin, stdout, stderr)
	}
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	rep, err := runBench(ctx, cfg, stderr)
	if rep != nil {
		if werr := rep.write(stdout, cfg.json); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil && ctx.Err() != nil {
		// An interrupt: the error is only how it surfaced. The tables of the
		// scenarios that finished are out; say where it stopped.
		where := "before the first scenario"
		if rep != nil && rep.Interrupted != "" {
			where = "during " + rep.Interrupted
		}
		fmt.Fprintf(stderr, "bench: interrupted %s (%v)\n", where, context.Cause(ctx))
		return exitInterrupted
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}
