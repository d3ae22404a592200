package main

import (
	"context"
	"fmt"
	"time"
)

// s7 is the cost of input order behind a slow tail: 600 URLs at 50 ms,
// every 50th at 2 s, K=50. Unordered, the slow URLs hold 12 slots for 2 s
// while the rest flow past them; in input order, the records behind a
// slow one must wait for it, and a fetcher that stopped fetching while
// they waited would take several times as long. fetchpipe --ordered keeps
// fetching and holds the waiting records (in memory up to about 2K, then
// in a spool on disk), so it should end when the unordered run does, with
// the same memory; the runs at 5 × N show how memory moves with N.
func (b *bench) s7(ctx context.Context) (*scenarioResult, error) {
	const latency, every, k = "50ms", 50, 50
	slow := 2 * time.Second
	if b.cfg.tiny {
		slow = 500 * time.Millisecond // the test proves the bench works, not the figures
	}
	n := b.cfg.n(600)
	sizes := []int{n, 5 * n}
	res := &scenarioResult{Setup: fmt.Sprintf("N URLs http://HOST:PORT/r/nameI.json on stdin, every %dth with ?latency=%v, K=%d; server: fetchpipe serve-fake --latency %s, its own process",
		every, slow, k, latency)}
	for _, n := range sizes {
		u := urlSet{n: n, slowEvery: every}
		fast := time.Duration(n-u.slow()) * 50 * time.Millisecond
		work := (fast + time.Duration(u.slow())*slow) / k
		res.addIdeal(fmt.Sprintf("ideal at N=%d: max(slowest, Σ latency / K)", n), max(work, slow))
	}
	err := b.withServer(ctx, latency, 0, func(srv *fakeServer) error {
		for _, n := range sizes {
			for _, st := range []string{"fetchpipe", "fetchpipe --ordered"} {
				r, err := b.measureRun(ctx, runSpec{strategy: st, servers: []*fakeServer{srv}, n: n, k: k,
					urls: urlSet{bases: []string{srv.url}, n: n, slowEvery: every, slowQuery: "?latency=" + slow.String()}})
				if err != nil {
					return err
				}
				r.Label = fmt.Sprintf("%s, N=%d", st, n)
				res.Rows = append(res.Rows, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	un, or, un5, or5 := res.Rows[0], res.Rows[1], res.Rows[2], res.Rows[3]
	res.addRatio(fmt.Sprintf("--ordered / unordered, wall, N=%d", n), or.WallS, un.WallS, 1.1)
	res.addRatio(fmt.Sprintf("--ordered / unordered, wall, N=%d", 5*n), or5.WallS, un5.WallS, 1.1)
	res.addRatio(fmt.Sprintf("--ordered / unordered, peak RSS, N=%d", n), or.PeakRSSMB, un.PeakRSSMB, 0)
	res.addRatio(fmt.Sprintf("--ordered / unordered, peak RSS, N=%d", 5*n), or5.PeakRSSMB, un5.PeakRSSMB, 0)
	res.addRatio(fmt.Sprintf("--ordered, peak RSS at N=%d / at N=%d", 5*n, n), or5.PeakRSSMB, or.PeakRSSMB, 0)
	res.addRatio(fmt.Sprintf("unordered, peak RSS at N=%d / at N=%d", 5*n, n), un5.PeakRSSMB, un.PeakRSSMB, 0)
	res.addRatio(fmt.Sprintf("--ordered / ideal, N=%d", n), or.WallS, res.Ideals[0].WallS, 0)
	res.notef("in input order the first %d records come at once, and each one after a slow URL waits for it: the first-record column is the same for both", every-1)
	res.notef("the memory --ordered adds is the records it holds behind a slow URL: the ratio to unordered at the same N. Both peak RSS figures also grow with N while the heap grows to its working size, which S5 shows level from 10⁵ URLs on")
	return res, nil
}
