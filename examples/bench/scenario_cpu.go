package main

import "context"

// s3 takes latency away, so that what each client costs per request is all
// there is to see. discard is the floor: it reads every body and keeps
// none. curl and vegeta, where at hand, discard their bodies too. Each
// strategy but sequential runs several times; the table shows medians, as
// CPU time on two shared cores varies by several percent.
func (b *bench) s3(ctx context.Context) (*scenarioResult, error) {
	const latency = "0"
	n, k := b.cfg.n(20000), 64
	res := &scenarioResult{Setup: serverSetup(n, k, latency)}
	err := b.withServer(ctx, latency, 0, func(srv *fakeServer) error {
		seq, err := b.measure(ctx, srv, "sequential", n, n, 1)
		if err != nil {
			return err
		}
		res.Rows = append(res.Rows, seq)
		runs := map[string][]*measurement{}
		order := append([]string{"pool", "bare", "discard", "fetchpipe"}, b.peers()...)
		if b.python != "" {
			order = append(order, "aiohttp")
		}
		for range b.cfg.repeat {
			for _, st := range order {
				r, err := b.measure(ctx, srv, st, n, n, k)
				if err != nil {
					return err
				}
				runs[st] = append(runs[st], r)
			}
		}
		for _, st := range order {
			res.Rows = append(res.Rows, median(runs[st]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pipe := res.row("fetchpipe")
	res.addRatio("fetchpipe / discard, CPU per request", pipe.CPUPerReqUS, res.row("discard").CPUPerReqUS, 1.1)
	res.addRatio("fetchpipe / pool, CPU per request", pipe.CPUPerReqUS, res.row("pool").CPUPerReqUS, 0)
	res.addRatio("fetchpipe / bare, CPU per request", pipe.CPUPerReqUS, res.row("bare").CPUPerReqUS, 0)
	res.addRatio("discard / fetchpipe, requests per second", res.row("discard").ReqPerS, pipe.ReqPerS, 0)
	for _, p := range b.peers() {
		res.addRatio("fetchpipe / "+p+", CPU per request", pipe.CPUPerReqUS, res.row(p).CPUPerReqUS, 0)
	}
	targets := "target: fetchpipe's CPU per request within 1.1× of discard's, a client that reads each body and throws it away: checking a body and embedding it in a record costs little beside the request"
	if py := res.row("aiohttp"); py != nil {
		res.addRatio("aiohttp / fetchpipe, requests per second (fetchpipe ≥ 2×)", py.ReqPerS, pipe.ReqPerS, 0.5)
		targets = "targets: fetchpipe's CPU per request within 1.1× of discard's, a client that reads each body and throws it away; and at least twice aiohttp's requests per second"
		res.notef("aiohttp is %s, run by %s: K tasks sharing one session, a line per result as it comes", "examples/bench/aiohttp_client.py", b.python)
	} else {
		res.notef("no Python with aiohttp was found (Debian: apt-get install python3-aiohttp), so its row is left out")
	}
	res.noteTargets("%s", targets)
	res.notef("CPU is the client's user+sys from wait4; the server's CPU is not in it, though it shares the cores. Per 1,000 requests, fetchpipe used %.3f CPU s",
		pipe.CPUPerReqUS/1000)
	res.notef("discard reads each body into io.Discard and writes \"STATUS BYTES\"; pool, bare and sequential write the body raw on one line; fetchpipe validates it and embeds it in a record")
	b.notePeers(res, k)
	return res, nil
}
