package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
	var inOrder []string
	for _, n := range sizes {
		u := urlSet{n: n, slowEvery: every}
		res.addIdeal(fmt.Sprintf("ideal at N=%d: max(slowest, Σ latency / K)", n), max(sumLatency(u, n, slow)/k, slow))
		inOrder = append(inOrder, fmt.Sprintf("%.2f s at N=%d", inOrderEnd(u, k, slow).Seconds(), n))
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
	ideal, ideal5 := res.Ideals[0].WallS, res.Ideals[1].WallS
	res.addRatio(fmt.Sprintf("unordered / ideal, N=%d", n), un.WallS, ideal, 0)
	res.addRatio(fmt.Sprintf("--ordered / ideal, N=%d", n), or.WallS, ideal, 0)
	res.addRatio(fmt.Sprintf("unordered / ideal, N=%d", 5*n), un5.WallS, ideal5, 0)
	res.addRatio(fmt.Sprintf("--ordered / ideal, N=%d", 5*n), or5.WallS, ideal5, 0)
	res.noteTargets("target: --ordered's wall time within 1.1× of the unordered run's at each N: keeping input order may cost memory, not time")
	res.notef("the ideal spreads the work evenly over the K slots, which a client that starts the URLs in input order cannot do: the last slow URL starts only when a slot frees, and then takes %v. So started, at no cost per request, a run ends at best at %s, ordered or not: the gap to the ideal is not a cost of --ordered",
		slow, strings.Join(inOrder, " and "))
	res.notef("in input order the first %d records come at once, and each one after a slow URL waits for it: the first-record column is the same for both", every-1)
	res.notef("the memory --ordered adds is the records it holds behind a slow URL: the ratio to unordered at the same N. Both peak RSS figures also grow with N while the heap grows to its working size, which S5 shows level from 10⁵ URLs on")
	return res, nil
}

// sumLatency is the time the first m URLs of u take one after another:
// 50 ms each, slow for the slow ones.
func sumLatency(u urlSet, m int, slow time.Duration) time.Duration {
	nSlow := 0
	if u.slowEvery > 0 {
		nSlow = m / u.slowEvery
	}
	return time.Duration(m-nSlow)*50*time.Millisecond + time.Duration(nSlow)*slow
}

// inOrderEnd is when a run of u at k in flight ends at best if it starts
// the URLs in input order, each as soon as one of the k slots frees, and
// every request takes its latency and nothing more: 50 ms, slow for the
// slow ones. fetchpipe starts its URLs so, ordered or not.
func inOrderEnd(u urlSet, k int, slow time.Duration) time.Duration {
	free := make([]time.Duration, k) // when each slot frees
	var end time.Duration
	for i := range u.n {
		j := slices.Index(free, slices.Min(free))
		if u.slowEvery > 0 && i%u.slowEvery == u.slowEvery-1 {
			free[j] += slow
		} else {
			free[j] += 50 * time.Millisecond
		}
		end = max(end, free[j])
	}
	return end
}
