package main

import (
	"bufio"
	"context"
	"io"
	"iter"
	"net/http"
	"slices"
	"sync"
)

// pool is a thread pool's map: k workers fetch the URLs, each result is
// kept in its slot of a slice, and the caller writes them all, in input
// order, once the last one is in. It is as fast as its k while it runs, but
// nothing comes out until the end, and every body is held until then.
func pool(ctx context.Context, k int, urls iter.Seq[string], out io.Writer) *tally {
	list := slices.Collect(urls) // a pool's map takes the whole list
	c := &http.Client{Transport: newTransport(k)}
	defer c.CloseIdleConnections()

	type result struct {
		status int
		body   []byte
		err    error
	}
	results := make([]result, len(list))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(k, len(list)) {
		wg.Go(func() {
			for i := range jobs {
				r := &results[i]
				r.status, r.body, r.err = get(ctx, c, list[i])
			}
		})
	}
	for i := range list {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	t := new(tally)
	bw := bufio.NewWriter(out)
	var line []byte
	for i, r := range results {
		t.add(r.status, r.err)
		line = appendLine(line[:0], list[i], r.status, r.body, r.err)
		if _, err := bw.Write(line); err != nil {
			return t
		}
	}
	_ = bw.Flush()
	return t
}
