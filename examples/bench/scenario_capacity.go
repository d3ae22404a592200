package main

import (
	"context"
	"fmt"
	"time"
)

// s0 is whether a client can really hold 10,000 requests at once: the
// server holds each one 5 s, so only a client with all of them in flight
// ends near 5 s, and the server's own peak in-flight count (the srv peak
// column) says how many it saw at once. Per-connection buffers are what
// the peak RSS shows. Each runs several times, alternately, and the
// table shows medians: one run's RSS moves by tens of MB with when the
// collector happens to run.
func (b *bench) s0(ctx context.Context) (*scenarioResult, error) {
	const latency = "5s"
	n, k := b.cfg.n(10000), 10000
	res := &scenarioResult{Setup: serverSetup(n, k, latency)}
	res.addIdeal("ideal: ceil(N/K) × latency", waves(n, k)*5*time.Second)
	rss := map[string][]float64{}
	err := b.withServer(ctx, latency, 0, func(srv *fakeServer) error {
		runs := map[string][]*measurement{}
		for range b.cfg.repeat {
			for _, st := range []string{"bare", "fetchpipe"} {
				r, err := b.measure(ctx, srv, st, n, n, k)
				if err != nil {
					return err
				}
				runs[st] = append(runs[st], r)
				rss[st] = append(rss[st], r.PeakRSSMB)
			}
		}
		res.Rows = []*measurement{median(runs["bare"]), median(runs["fetchpipe"])}
		return nil
	})
	if err != nil {
		return nil, err
	}
	bare, pipe := res.row("bare"), res.row("fetchpipe")
	res.addRatio(fmt.Sprintf("fetchpipe / bare, wall (medians of %d)", b.cfg.repeat), pipe.WallS, bare.WallS, 1)
	res.addRatio(fmt.Sprintf("fetchpipe / bare, peak RSS (medians of %d)", b.cfg.repeat), pipe.PeakRSSMB, bare.PeakRSSMB, 1)
	res.addRatio("fetchpipe peak RSS / 300 MB (the project's cap)", pipe.PeakRSSMB, 300, 1)
	res.addRatio("fetchpipe / ideal", pipe.WallS, res.Ideals[0].WallS, 0)
	res.noteTargets("targets: with every request in flight at once, fetchpipe ends no later than bare (a goroutine per URL), holds them in no more memory than bare, and in under 300 MB")
	res.notef("peak RSS MB of each run, bare: %s; fetchpipe: %s", joinf("%.1f", rss["bare"]), joinf("%.1f", rss["fetchpipe"]))
	want := int64(min(n, k))
	for _, r := range res.Rows {
		// A socket per request, plus a few: short of that, the run fails
		// with "too many open files" rather than measuring anything.
		if r.NofileSoft > 0 && r.NofileSoft < want+64 {
			res.notef("%s ran with an open-file limit of %d, below the %d this needs: raise the hard limit (ulimit -Hn)", r.Strategy, r.NofileSoft, want+64)
		}
		if r.ServerPeakInFlight != want {
			res.notef("%s: the server saw at most %d requests at once, not %d", r.Strategy, r.ServerPeakInFlight, want)
		} else {
			res.notef("%s: the server saw all %d requests in flight at once", r.Strategy, want)
		}
	}
	return res, nil
}
