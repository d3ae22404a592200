package main

import (
	"context"
	"io"
	"iter"
	"net/http"
	"sync"
)

// bare is the minimal streaming client in Go: a goroutine per URL, at most
// k of them at once (a semaphore), each printing its result the moment it
// has it. It is what fetchpipe must match on speed while doing more: it
// checks nothing, has no timeouts, records no errors by kind and keeps no
// order.
func bare(ctx context.Context, k int, urls iter.Seq[string], out io.Writer) *tally {
	c := &http.Client{Transport: newTransport(k)}
	defer c.CloseIdleConnections()
	w := &lockedWriter{w: out}
	t := new(tally)
	sem := make(chan struct{}, k)
	var wg sync.WaitGroup
	for u := range urls {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			status, body, err := get(ctx, c, u)
			t.add(status, err)
			_ = w.write(appendLine(nil, u, status, body, err))
		})
	}
	wg.Wait()
	return t
}
