package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// s1 is the seed's case at its most concurrent: every request in flight at
// once, so the run takes as long as the slowest request plus whatever it
// costs to open 1,000 connections at once on two cores. bare and fetchpipe
// run several times, alternately, and the table shows medians.
func (b *bench) s1(ctx context.Context) (*scenarioResult, error) {
	const latency = "50ms..250ms"
	n, k := b.cfg.n(1000), 1000
	mean, slowest := 150*time.Millisecond, 250*time.Millisecond
	res := &scenarioResult{Setup: serverSetup(n, k, latency)}
	res.addIdeal("ideal: ceil(N/K) × mean latency", waves(n, k)*mean)
	if k >= n {
		res.addIdeal("ideal: slowest URL as K ≥ N, ≈ max latency", slowest)
	}
	err := b.withServer(ctx, latency, 0, func(srv *fakeServer) error {
		seq, err := b.measure(ctx, srv, "sequential", n, b.cfg.sampleSize(n), 1)
		if err != nil {
			return err
		}
		pool, err := b.measure(ctx, srv, "pool", n, n, k)
		if err != nil {
			return err
		}
		var bares, pipes []*measurement
		for range b.cfg.repeat {
			r, err := b.measure(ctx, srv, "bare", n, n, k)
			if err != nil {
				return err
			}
			bares = append(bares, r)
			if r, err = b.measure(ctx, srv, "fetchpipe", n, n, k); err != nil {
				return err
			}
			pipes = append(pipes, r)
		}
		res.Rows = []*measurement{seq, pool, median(bares), median(pipes)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	bare, pipe := res.row("bare"), res.row("fetchpipe")
	res.addRatio(fmt.Sprintf("fetchpipe / bare, wall (medians of %d)", b.cfg.repeat), pipe.WallS, bare.WallS, 1.05)
	for _, i := range res.Ideals {
		res.addRatio("fetchpipe / "+i.Label, pipe.WallS, i.WallS, 0)
		res.addRatio("bare / "+i.Label, bare.WallS, i.WallS, 0)
	}
	res.noteTargets("target: with every request in flight at once, fetchpipe's wall time within 1.05× of bare's, the least a Go client can do (a goroutine per URL)")
	res.notef("the ideal from the formula uses the mean latency, 0.15 s; with K ≥ N the true limit is the slowest of the N latency draws, ≈ 0.25 s")
	res.notef("wall of each run, bare: %s; fetchpipe: %s", seconds(bare.EachWallS), seconds(pipe.EachWallS))
	res.notef("first record of each run, bare: %s; fetchpipe: %s", seconds(bare.EachFirstS), seconds(pipe.EachFirstS))
	return res, nil
}

// s2 is the case where concurrency is the limit: 50 waves of 100 requests,
// so any gap between one request's end and the next one's start adds up.
// curl and vegeta, where at hand, run the same list at the same K.
func (b *bench) s2(ctx context.Context) (*scenarioResult, error) {
	const latency = "100ms"
	n, k := b.cfg.n(5000), 100
	res := &scenarioResult{Setup: serverSetup(n, k, latency)}
	res.addIdeal("ideal: ceil(N/K) × latency", waves(n, k)*100*time.Millisecond)
	err := b.withServer(ctx, latency, 0, func(srv *fakeServer) error {
		for _, st := range append([]string{"sequential", "pool", "bare", "fetchpipe"}, b.peers()...) {
			m, kk := n, k
			if st == "sequential" {
				m, kk = b.cfg.sampleSize(n), 1
			}
			r, err := b.measure(ctx, srv, st, n, m, kk)
			if err != nil {
				return err
			}
			res.Rows = append(res.Rows, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.s2Rows = map[string]*measurement{"bare": res.row("bare"), "fetchpipe": res.row("fetchpipe")}
	ideal := res.Ideals[0].WallS
	res.addRatio("fetchpipe / ideal", res.row("fetchpipe").WallS, ideal, 1.03)
	res.addRatio("bare / ideal", res.row("bare").WallS, ideal, 0)
	res.addRatio("pool / ideal", res.row("pool").WallS, ideal, 0)
	res.noteTargets("target: fetchpipe's wall time within 1.03× of the ideal, %d waves of one latency each: a slot that frees starts the next request at once", waves(n, k))
	for _, p := range b.peers() {
		res.addRatio(p+" / ideal", res.row(p).WallS, ideal, 0)
		res.addRatio("fetchpipe / "+p+", peak RSS", res.row("fetchpipe").PeakRSSMB, res.row(p).PeakRSSMB, 0)
	}
	b.notePeers(res, k)
	return res, nil
}

// waves is ceil(n/k): how many rounds of k requests n URLs take.
func waves(n, k int) time.Duration { return time.Duration((n + k - 1) / k) }

func seconds(v []float64) string { return joinf("%.3f", v) }

// joinf formats each of v, for a note that lists every run's figure.
func joinf(format string, v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, ", ")
}
