package main

import (
	"context"
	"fmt"
)

// s5 is whether memory stays flat however long the input: fetchpipe alone
// at growing N, reading its URLs from a pipe as it goes. A client that read
// its input whole, or queued results without bound, would grow with N.
func (b *bench) s5(ctx context.Context) (*scenarioResult, error) {
	const latency = "0"
	sizes := b.cfg.s5Sizes()
	k := 256
	res := &scenarioResult{Setup: serverSetup(sizes[len(sizes)-1], k, latency)}
	err := b.withServer(ctx, latency, 0, func(srv *fakeServer) error {
		for _, n := range sizes {
			r, err := b.measure(ctx, srv, "fetchpipe", n, n, k)
			if err != nil {
				return err
			}
			r.Label = fmt.Sprintf("fetchpipe, N=%d", n)
			res.Rows = append(res.Rows, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	first, last := res.Rows[0], res.Rows[len(res.Rows)-1]
	if len(res.Rows) > 1 {
		res.addRatio(fmt.Sprintf("peak RSS at N=%d / at N=%d", last.N, first.N), last.PeakRSSMB, first.PeakRSSMB, 1.10)
	}
	res.addRatio(fmt.Sprintf("peak RSS at N=%d / 100 MB (the project's cap)", last.N), last.PeakRSSMB, 100, 1)
	res.noteTargets("targets: peak RSS at the largest N within 1.1× of that at the smallest, as memory must not grow with the length of the input, and under 100 MB")
	return res, nil
}
