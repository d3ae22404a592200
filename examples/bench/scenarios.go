package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// A scenario is one of the project's measurements: it starts its own fake
// API (so that its latency can differ from the others'), runs the
// strategies against it and returns its table.
type scenario struct {
	id, title string
	run       func(b *bench, ctx context.Context) (*scenarioResult, error)
	// optIn scenarios take minutes and run only when named (-scenarios),
	// or, the load run, when asked for (-load).
	optIn bool
}

// allScenarios are in the order they run. S0 runs last: its 20,000
// connections leave sockets in TIME_WAIT that should not weigh on the
// connection set-up S1 and S8 measure.
var allScenarios = []scenario{
	{"S1", "latency-bound, everything at once: 1,000 URLs, latency uniform 50–250 ms, K=1,000", (*bench).s1, false},
	{"S2", "latency-bound, in waves: 5,000 URLs, 100 ms each, K=100", (*bench).s2, false},
	{"S3", "CPU-bound: 20,000 URLs, no latency, K=64, ~1.9 KB JSON bodies", (*bench).s3, false},
	{"S4", "time to the first record in S2, from process start", (*bench).s4, false},
	{"S5", "peak RSS of fetchpipe streaming N URLs from stdin, no latency, K=256", (*bench).s5, false},
	{"S6", "CPU-bound, indented bodies: 10,000 URLs, no latency, K=64, ~3.6 KB pretty-printed JSON in many scripts", (*bench).s6, false},
	{"S7", "a slow tail in input order: 600 URLs at 50 ms, every 50th at 2 s, K=50, unordered and --ordered, and N ×5", (*bench).s7, false},
	{loadScenario, "load: 1,000,000 URLs, K=1,000, four servers on 127.0.0.1–4, no latency: RSS, descriptors, rate, errors", (*bench).s8, true},
	{"S9", "politeness that adapts to each server: --auto-throttle beside fixed settings, 800 URLs against servers that refuse or slow down under load", (*bench).s9, true},
	{"S10", "across machines, on one: 100,000 URLs through a NATS JetStream work queue and two workers at once, nats-server its own process", (*bench).s10, true},
	{"S0", "capacity: 10,000 requests in flight at once, each held 5 s by the server", (*bench).s0, false},
}

// loadScenario is the ID of the load run, which -load adds.
const loadScenario = "S8"

func scenarioIDs() []string {
	ids := make([]string, len(allScenarios))
	for i, s := range allScenarios {
		ids[i] = s.id
	}
	return ids
}

// defaultScenarioIDs are the scenarios a run without -scenarios runs:
// all but the opt-in ones.
func defaultScenarioIDs() []string {
	var ids []string
	for _, s := range allScenarios {
		if !s.optIn {
			ids = append(ids, s.id)
		}
	}
	return ids
}

// bench is what every scenario shares: the binaries and the settings.
type bench struct {
	cfg  *config
	bin  string // the fetchpipe binary under test, which also serves the fake API
	self string // this program, run as the seed's clients
	// python runs aiohttpScript, the optional aiohttp client; "" when no
	// Python with aiohttp was found.
	python, aiohttpScript string
	// peers are the other tools run beside fetchpipe (curl, vegeta); a
	// peer that is missing has a path of "" and a note that says why.
	curl, vegeta peer
	tmp          string    // the bench's temporary directory: binaries, URL lists
	log          io.Writer // progress, when cfg.progress

	// childCPU is the CPU time of every client and server that has ended,
	// so that the CPU used by the rest of the machine can be told apart.
	childCPU time.Duration

	// serverOpenFiles is the lowest open-file soft limit of the servers.
	serverOpenFiles int64

	// s2Rows keeps S2's bare and fetchpipe rows, which are also S4's: S4 is
	// the first-record column of S2's runs.
	s2Rows map[string]*measurement
}

func (b *bench) logf(format string, args ...any) {
	if b.cfg.progress {
		fmt.Fprintf(b.log, format, args...)
	}
}

// runBench builds fetchpipe and runs the chosen scenarios. On an error it
// returns the scenarios done so far with it; when the error is that ctx
// was cancelled (an interrupt), the report names the scenario it stopped.
// Either way every process it started has ended.
func runBench(ctx context.Context, cfg *config, stderr io.Writer) (*report, error) {
	rep := &report{
		Command: strings.TrimSpace("go run ./examples/bench " + strings.Join(cfg.args, " ")),
		Machine: describeMachine(),
		Started: time.Now(),
	}
	defer func() { rep.TookS = time.Since(rep.Started).Seconds() }()
	b := &bench{cfg: cfg, log: stderr, self: cfg.selfPath}
	if b.self == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding this program to run its clients: %w", err)
		}
		b.self = self
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	tmp := cfg.tmpDir
	if tmp == "" {
		if tmp, err = os.MkdirTemp("", "fetchpipe-bench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
	}
	b.tmp = tmp
	b.logf("building ./cmd/fetchpipe in %s ...\n", root)
	if b.bin, err = buildFetchpipe(ctx, root, tmp); err != nil {
		return nil, err
	}
	if slices.ContainsFunc(cfg.scenarios, peersRun) {
		b.curl = findCurl(ctx, cfg.curl)
		b.vegeta = findVegeta(ctx, cfg.vegeta, tmp, b.logf)
		for _, p := range []peer{b.curl, b.vegeta} {
			if p.path == "" {
				b.logf("  %s: left out: %s\n", p.name, p.note)
			} else {
				b.logf("  %s: %s\n", p.name, p.note)
			}
		}
	}
	if slices.Contains(cfg.scenarios, "S3") { // the only one with an aiohttp row
		if b.python, err = findPython(ctx, cfg.python); err != nil {
			return nil, err
		}
		if b.python != "" {
			if b.aiohttpScript, err = writeAiohttpClient(tmp); err != nil {
				return nil, err
			}
		}
	}
	for _, id := range cfg.scenarios {
		for _, sc := range allScenarios {
			if sc.id != id {
				continue
			}
			b.logf("%s: %s\n", sc.id, sc.title)
			meter := b.startMeter()
			res, err := sc.run(b, ctx)
			if err != nil {
				// Whatever error an interrupt surfaced as (a killed child, a
				// server that did not answer), the interrupt is the cause.
				if ctx.Err() != nil {
					rep.Interrupted = sc.id
				}
				return rep, fmt.Errorf("%s: %w", sc.id, err)
			}
			res.ID, res.Title = sc.id, sc.title
			res.judge(cfg.smallN())
			if other, capacity, ok := meter.stop(b); ok {
				res.OtherCPUS, res.CapacityCPUS = other, capacity
			}
			rep.Scenarios = append(rep.Scenarios, res)
			for _, r := range res.Rows {
				noteLimit(&rep.ClientOpenFiles, r.NofileSoft)
			}
			rep.ServerOpenFiles = b.serverOpenFiles
		}
	}
	return rep, nil
}

// withServer starts a fake API with latency and posts (0: default), runs
// f against it, and stops it.
func (b *bench) withServer(ctx context.Context, latency string, posts int, f func(*fakeServer) error) error {
	return b.withServers(ctx, []string{"127.0.0.1:0"}, latency, posts, func(srvs []*fakeServer) error { return f(srvs[0]) })
}

// withServers starts a fake API at each of addrs, runs f against them, and
// stops them all.
func (b *bench) withServers(ctx context.Context, addrs []string, latency string, posts int, f func([]*fakeServer) error) error {
	specs := make([]serverSpec, len(addrs))
	for i, addr := range addrs {
		specs[i] = serverSpec{addr: addr, flags: serverFlags(latency, posts)}
	}
	return b.withServerSpecs(ctx, specs, f)
}

// withServerSpecs starts a fake API for each of specs, runs f against
// them in the same order, and stops them all.
func (b *bench) withServerSpecs(ctx context.Context, specs []serverSpec, f func([]*fakeServer) error) error {
	var srvs []*fakeServer
	defer func() {
		for _, srv := range srvs {
			srv.close()
			if user, sys, _, ok := usage(srv.cmd.ProcessState); ok {
				b.childCPU += user + sys
			}
		}
	}()
	for _, spec := range specs {
		srv, err := startServer(ctx, b.bin, spec)
		if err != nil {
			return err
		}
		srvs = append(srvs, srv)
		noteLimit(&b.serverOpenFiles, openFileLimit(srv.pid))
		b.logf("  fake API at %s, %s\n", srv.url, strings.Join(spec.flags, " "))
	}
	return f(srvs)
}

// serverSetup describes a server and its input in the table's second line.
func serverSetup(n, k int, latency string) string {
	return fmt.Sprintf("N=%d URLs http://HOST:PORT/r/nameI.json on stdin, K=%d; server: fetchpipe serve-fake --latency %s (bodies ≈ 1.9 KB), its own process",
		n, k, latency)
}
