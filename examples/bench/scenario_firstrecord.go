package main

import (
	"context"
	"time"
)

// s4 is how soon a user sees a result: the first-record column of S2's
// bare and fetchpipe runs (run again here when S2 was not chosen), counted
// from process start. Rows with no input show what start-up and exit alone
// cost, so that the first-record time can be read without them.
func (b *bench) s4(ctx context.Context) (*scenarioResult, error) {
	const latency = "100ms"
	n, k := b.cfg.n(5000), 100
	res := &scenarioResult{Setup: serverSetup(n, k, latency)}
	res.addIdeal("ideal: one request's latency", 100*time.Millisecond)
	err := b.withServer(ctx, latency, 0, func(srv *fakeServer) error {
		for _, st := range []string{"bare", "fetchpipe"} {
			r := b.s2Rows[st]
			if r == nil {
				var err error
				if r, err = b.measure(ctx, srv, st, n, n, k); err != nil {
					return err
				}
			} else {
				b.logf("  %s: first record taken from S2's run\n", st)
			}
			res.Rows = append(res.Rows, r)
		}
		for _, st := range []string{"bare", "fetchpipe"} {
			var runs []*measurement
			for range 5 {
				r, err := b.measure(ctx, srv, st, 0, 0, k)
				if err != nil {
					return err
				}
				runs = append(runs, r)
			}
			r := median(runs)
			r.Label = st + ", no input: start-up+exit, med. 5"
			res.Rows = append(res.Rows, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	lat := res.Ideals[0].WallS
	pipe, bare := res.Rows[1], res.Rows[0]
	res.addRatio("fetchpipe first record / latency, from process start", pipe.FirstRecordS, lat, 1.5)
	res.addRatio("bare first record / latency, from process start", bare.FirstRecordS, lat, 0)
	if startup := res.Rows[3].WallS; pipe.FirstRecordS > startup {
		res.addRatio("fetchpipe (first record − start-up and exit) / latency", pipe.FirstRecordS-startup, lat, 1.2)
	}
	res.noteTargets("targets: fetchpipe's first record within 1.5× of one request's latency, counted from process start, and within 1.2× once start-up and exit are taken off: a record goes out as soon as its response is in")
	res.notef("with no input a run is start-up and exit only; subtracting it from the first record approximates the time inside the program, and overstates start-up by the exit")
	return res, nil
}
