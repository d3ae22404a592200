package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// s9 is politeness that adapts to each server: fetchpipe --auto-throttle
// beside fixed settings, against fake APIs that push back as real ones do
// under load. It has three parts, each a section of the table:
//
//  1. A server that takes 8 requests at once and answers the rest 429 at
//     once, without Retry-After: -c 64 with retries alone, the hand-tuned
//     --per-host 8, and --auto-throttle.
//  2. Servers that slow as more arrive: one that works on 8 at once and
//     queues the rest (--workers 8), and one that slows every answer a
//     little for each other in flight (--load-latency 8): fixed -c 4, 8,
//     16 and 64, and --auto-throttle at -c 64, against each.
//  3. Two servers at once, one taking 4 at once and one 16, the URLs
//     alternating between them: the limit --auto-throttle ends at for each
//     host, against that host's capacity.
//
// Each server counts what it saw (GET /stats: attempts, refusals, peak in
// flight), and each fetchpipe run prints its summary as JSON on stderr
// (the median time of an item, the limit each host ended at), which the
// bench reads as it streams past.
func (b *bench) s9(ctx context.Context) (*scenarioResult, error) {
	p := throttleParams{n: b.cfg.n(800), latency: 100 * time.Millisecond}
	if b.cfg.tiny {
		p.latency = 25 * time.Millisecond // the test proves the bench works, not the figures
	}
	res := &scenarioResult{
		Setup: fmt.Sprintf("N=%d URLs http://HOST:PORT/r/nameI.json on stdin, K=-c as each row has it; fetchpipe with %s, its summary read from its stderr; servers: fetchpipe serve-fake --latency %v and the flags of each part, each its own process",
			p.n, throttleFlags, p.latency),
		Columns: []string{"attempts", "refused", "refused%", "p50 s", "limit"},
	}
	for _, part := range []func(context.Context, *scenarioResult, throttleParams) error{b.s9Refusing, b.s9Slowing, b.s9TwoHosts} {
		if err := part(ctx, res, p); err != nil {
			return nil, err
		}
	}
	res.noteTargets("targets: 1. against a server that refuses beyond 8 in flight, --auto-throttle's wall within 1.2× of the hand-tuned --per-host 8's, with at most 10%% of its attempts refused; 2. against a server that queues what it cannot work on at once, its throughput at least 1/1.2 of the best fixed -c's, and its median time of an item within 1.5× of the unloaded %s; 3. with two hosts at once, the limit it ends at for each within 0.5× to 1.5× of that host's capacity",
		inMS(p.latency))
	return res, nil
}

// throttleParams are what S9's parts share: the URLs of each run, and
// every server's --latency, what a request takes when the server is not
// loaded.
type throttleParams struct {
	n       int
	latency time.Duration
}

// throttleFlags are on every fetchpipe run of S9: no bodies in the
// records, as only the counts matter, and the summary as JSON on stderr,
// for the bench to read.
const throttleFlags = "-d none --summary json"

// s9Refusing is part 1: a server that refuses what it cannot take.
func (b *bench) s9Refusing(ctx context.Context, res *scenarioResult, p throttleParams) error {
	const capacity, k = 8, 64
	section := fmt.Sprintf("1. a server that refuses: serve-fake --latency %v --capacity %d (429 at once, no Retry-After, beyond %d in flight)",
		p.latency, capacity, capacity)
	spec := throttleServer("127.0.0.1:0", p.latency.String(), "--capacity", strconv.Itoa(capacity))
	var rows []*measurement
	err := b.withServerSpecs(ctx, []serverSpec{spec}, func(srvs []*fakeServer) error {
		for _, flags := range []string{"--retries 10", "--per-host 8", "--auto-throttle --retries 10"} {
			r, err := b.throttleRun(ctx, srvs, []int{capacity}, flags, p.n, k)
			if err != nil {
				return err
			}
			r.Section = section
			rows = append(rows, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Rows = append(res.Rows, rows...)
	alone, tuned, auto := rows[0], rows[1], rows[2]
	res.addRatio("1. --auto-throttle / --per-host 8 (hand-tuned), wall", auto.WallS, tuned.WallS, 1.2)
	res.addShare("1. --auto-throttle, refused / attempts", auto.ServerRefused, auto.ServerRequests, 0.10)
	res.addRatio("1. --retries 10 alone / --per-host 8, wall", alone.WallS, tuned.WallS, 0)
	res.addShare("1. --retries 10 alone, refused / attempts", alone.ServerRefused, alone.ServerRequests, 0)
	res.notef("1. --per-host 8 is the best a hand can tune here: the server's capacity, which a user would have to know; --retries 10 alone leans on the server and waits out each refusal with a backoff (250 ms doubling, full jitter)")
	return nil
}

// s9Slowing is part 2: servers whose answers slow as more arrive at once,
// in two ways. One works on 8 at once and queues the rest (--workers 8),
// as a server with a fixed pool of workers does: past 8 in flight it
// answers no more a second, and each answer waits for those ahead of it.
// The targets are judged on it. The other slows every answer a little for
// each other in flight (--load-latency 8), with no such point: there, no
// -c has both the throughput and the time of an answer alone, and the
// rows show where --auto-throttle stands between them.
func (b *bench) s9Slowing(ctx context.Context, res *scenarioResult, p throttleParams) error {
	const workers = 8
	// Answers that vary, as real ones do, around the same median: with
	// every answer of the same time, half the requests past 8 in flight
	// would wait a whole turn and half none, and the median time would
	// jump from once the latency to twice it.
	spread := fmt.Sprintf("%v..%v", p.latency/2, p.latency*3/2)
	section := fmt.Sprintf("2. a server that queues: serve-fake --latency %s --workers %d (%d at once, the rest wait their turn, so that past %d in flight answers take k/%d times as long)",
		spread, workers, workers, workers, workers)
	fixed, auto, err := b.s9SlowingRuns(ctx, res, p, section, spread, "--workers", strconv.Itoa(workers))
	if err != nil {
		return err
	}
	best := fastest(fixed)
	unloaded := p.latency.Seconds()
	res.addRatioIn(fmt.Sprintf("2. --auto-throttle / best fixed (-c %d), throughput", best.K), auto.ReqPerS, best.ReqPerS, 1/1.2, 0)
	res.addRatio(fmt.Sprintf("2. --auto-throttle, median time / unloaded %s", inMS(p.latency)), auto.LatencyP50S, unloaded, 1.5)
	res.notef("2. past %d in flight the server answers no more a second, so every -c from %d up has its whole throughput, and answers wait the longer the more are sent: of the fixed settings here, throughput within 1.2× of the best: %s; median time within 1.5× of %s: %s",
		workers, workers, strings.Join(fast(fixed, best), ", "), inMS(p.latency), orNone(prompt(fixed, unloaded)))

	const loadLatency = 8
	section = fmt.Sprintf("2b. a server that slows at every load: serve-fake --latency %v --load-latency %d (a request that finds k others in flight takes %v × (1 + k/%d))",
		p.latency, loadLatency, p.latency, loadLatency)
	fixed, auto, err = b.s9SlowingRuns(ctx, res, p, section, p.latency.String(), "--load-latency", strconv.Itoa(loadLatency))
	if err != nil {
		return err
	}
	best = fastest(fixed)
	res.addRatio(fmt.Sprintf("2b. --auto-throttle / best fixed (-c %d), throughput", best.K), auto.ReqPerS, best.ReqPerS, 0)
	res.addRatio(fmt.Sprintf("2b. --auto-throttle, median time / unloaded %s", inMS(p.latency)), auto.LatencyP50S, unloaded, 0)
	res.notef("2b. the trade, no target: at a fixed -c K each request finds about K−1 others in flight, so it takes %s × (1 + (K−1)/%d), and throughput, K over that, climbs toward %.0f/s as K grows while each request waits longer: no -c meets both of part 2's targets, and a client can only choose where to stand between them. Of the fixed settings here, throughput within 1.2× of the best: %s; median time within 1.5× of %s: %s. --auto-throttle keeps answers near their usual time (1.25 to 1.5 times it), giving up throughput to spare the server's queue",
		inMS(p.latency), loadLatency, float64(loadLatency)/unloaded, strings.Join(fast(fixed, best), ", "), inMS(p.latency), orNone(prompt(fixed, unloaded)))
	return nil
}

// s9SlowingRuns runs fixed -c 4, 8, 16 and 64 and --auto-throttle at -c 64
// against a server of latency and flags, and adds them to res under
// section.
func (b *bench) s9SlowingRuns(ctx context.Context, res *scenarioResult, p throttleParams, section, latency string, flags ...string) (fixed []*measurement, auto *measurement, err error) {
	spec := throttleServer("127.0.0.1:0", latency, flags...)
	err = b.withServerSpecs(ctx, []serverSpec{spec}, func(srvs []*fakeServer) error {
		for _, k := range []int{4, 8, 16, 64} {
			r, err := b.throttleRun(ctx, srvs, []int{0}, "", p.n, k)
			if err != nil {
				return err
			}
			r.Label = fmt.Sprintf("fetchpipe -c %d", k)
			fixed = append(fixed, r)
		}
		var err error
		auto, err = b.throttleRun(ctx, srvs, []int{0}, "--auto-throttle", p.n, 64)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	for _, r := range append(fixed, auto) {
		r.Section = section
		res.Rows = append(res.Rows, r)
	}
	return fixed, auto, nil
}

// fastest returns the row of most throughput.
func fastest(rows []*measurement) *measurement {
	best := rows[0]
	for _, r := range rows {
		if r.ReqPerS > best.ReqPerS {
			best = r
		}
	}
	return best
}

// fast returns the -c of the rows within 1.2× of best's throughput.
func fast(rows []*measurement, best *measurement) []string {
	var cs []string
	for _, r := range rows {
		if r.ReqPerS*1.2 >= best.ReqPerS {
			cs = append(cs, fmt.Sprintf("-c %d", r.K))
		}
	}
	return cs
}

// prompt returns the -c of the rows whose median time is within 1.5× of
// unloaded seconds.
func prompt(rows []*measurement, unloaded float64) []string {
	var cs []string
	for _, r := range rows {
		if r.LatencyP50S > 0 && r.LatencyP50S <= 1.5*unloaded {
			cs = append(cs, fmt.Sprintf("-c %d", r.K))
		}
	}
	return cs
}

// s9TwoHosts is part 3: two hosts of different capacity in one run.
func (b *bench) s9TwoHosts(ctx context.Context, res *scenarioResult, p throttleParams) error {
	const k, flags = 64, "--auto-throttle --retries 10 -v"
	capacities := []int{4, 16}
	addrs, shared := loadAddrs()
	addrs = addrs[:len(capacities)]
	hosts := "on 127.0.0.1 and 127.0.0.2"
	if shared {
		hosts = "on two ports of 127.0.0.1 (127.0.0.2 cannot be listened on here)"
	}
	section := fmt.Sprintf("3. two hosts at once, the URLs alternating: serve-fake --latency %v --capacity %d and --capacity %d, %s",
		p.latency, capacities[0], capacities[1], hosts)
	specs := make([]serverSpec, len(capacities))
	for i, c := range capacities {
		specs[i] = throttleServer(addrs[i], p.latency.String(), "--capacity", strconv.Itoa(c))
	}
	var r *measurement
	err := b.withServerSpecs(ctx, specs, func(srvs []*fakeServer) error {
		var err error
		r, err = b.throttleRun(ctx, srvs, capacities, flags, p.n, k)
		return err
	})
	if err != nil {
		return err
	}
	r.Section = section
	res.Rows = append(res.Rows, r)
	for _, h := range r.Hosts {
		res.addRatioIn(fmt.Sprintf("3. the host of capacity %d, limit at the end / capacity", h.Capacity), float64(h.Limit), float64(h.Capacity), 0.5, 1.5)
		if h.Limit == 0 {
			r.Problem = joinProblems(r.Problem, fmt.Sprintf("the summary gives no limit for %s", h.Host))
		}
		logged := "-v printed no line of its limit"
		if h.LimitChanges > 0 {
			logged = fmt.Sprintf("-v printed %d lines of its limit (each cut, and growth at powers of two), the last at %d", h.LimitChanges, h.LoggedLimit)
		}
		res.notef("3. %s, capacity %d: limit %d at the end (the summary's; %s); %d attempts, %d refused (%.1f%%), at most %d in flight at the server",
			h.Host, h.Capacity, h.Limit, logged, h.Requests, h.Refused, 100*float64(h.Refused)/float64(max(h.Requests, 1)), h.PeakInFlight)
	}
	return nil
}

// throttleServer is an S9 server at addr: --latency latency and flags.
func throttleServer(addr, latency string, flags ...string) serverSpec {
	return serverSpec{addr: addr, flags: append(serverFlags(latency, 0), flags...)}
}

// hostFigures are one server's figures in a run of S9, beside what
// fetchpipe said of that server's host.
type hostFigures struct {
	Host     string `json:"host"`               // host:port, as fetchpipe names it
	Capacity int    `json:"capacity,omitempty"` // the server's --capacity (0: none)
	// Limit is the in-flight limit --auto-throttle ended at for the host,
	// from fetchpipe's summary (0: none, a fixed setting).
	Limit int `json:"limit,omitempty"`
	// LimitChanges and LoggedLimit are what -v printed: how many lines of
	// the host's limit (each cut, and growth at powers of two), and the
	// last limit it printed (0: not asked for).
	LimitChanges int   `json:"limit_changes,omitempty"`
	LoggedLimit  int   `json:"logged_limit,omitempty"`
	Requests     int64 `json:"requests"`
	Refused      int64 `json:"refused"`
	PeakInFlight int64 `json:"peak_in_flight"`
}

// throttleRun runs fetchpipe -c k with throttleFlags and flags on n URLs
// taken in turn from srvs, whose --capacity are capacities (0: none), and
// fills the row with what fetchpipe's summary and each server said: the
// median time of an item, and per host the limit it ended at, the
// attempts and the refusals. The row's label is fetchpipe and flags.
func (b *bench) throttleRun(ctx context.Context, srvs []*fakeServer, capacities []int, flags string, n, k int) (*measurement, error) {
	bases := make([]string, len(srvs))
	for i, srv := range srvs {
		bases[i] = srv.url
	}
	log := &fetchLog{}
	r, err := b.measureRun(ctx, runSpec{strategy: strings.TrimSpace("fetchpipe " + throttleFlags + " " + flags), servers: srvs,
		urls: urlSet{bases: bases, n: n}, n: n, k: k, stderr: log})
	if err != nil {
		return nil, err
	}
	r.Label = strings.TrimSpace("fetchpipe " + flags)
	var limits map[string]int
	if s := log.summary; s != nil {
		r.LatencyP50S = s.P50MS / 1000
		limits = s.Limits
	} else {
		r.Problem = joinProblems(r.Problem, "no summary on stderr")
	}
	for i, srv := range srvs {
		// The server's counts are as measureRun read them at the run's
		// end: nothing has reached it since, and /stats is not counted.
		st, err := srv.stats(ctx)
		if err != nil {
			return nil, err
		}
		host := hostOf(srv.url)
		r.Hosts = append(r.Hosts, hostFigures{Host: host, Capacity: capacities[i], Limit: limits[host],
			LimitChanges: log.changes[host], LoggedLimit: log.limits[host],
			Requests: st.Requests, Refused: st.Refused, PeakInFlight: st.PeakInFlight})
	}
	return r, nil
}

// hostOf is the host:port of a server's URL, as fetchpipe keys its hosts.
func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	return u.Host
}

// inMS writes d as prose does: "100 ms".
func inMS(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

func orNone(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return strings.Join(v, ", ")
}
