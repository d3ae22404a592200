package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"sync"
)

// discard is the floor of CPU per request: k long-lived workers that read
// each body to its end and throw it away, and write a few bytes per result
// through one buffer. A client that keeps, checks and writes every body
// cannot cost less; S3 measures how close fetchpipe comes.
func discard(ctx context.Context, k int, urls iter.Seq[string], out io.Writer) *tally {
	c := &http.Client{Transport: newTransport(k)}
	defer c.CloseIdleConnections()
	t := new(tally)
	var mu sync.Mutex
	bw := bufio.NewWriterSize(out, 64<<10)
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range k {
		wg.Go(func() {
			var line []byte
			for u := range jobs {
				status, n, err := getDiscard(ctx, c, u)
				t.add(status, err)
				line = fmt.Appendf(line[:0], "%d %d\n", status, n)
				mu.Lock()
				_, _ = bw.Write(line)
				mu.Unlock()
			}
		})
	}
	for u := range urls {
		if ctx.Err() != nil {
			break
		}
		jobs <- u
	}
	close(jobs)
	wg.Wait()
	_ = bw.Flush()
	return t
}

// getDiscard fetches u and reads its body into nothing.
func getDiscard(ctx context.Context, c *http.Client, u string) (int, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, n, err
}
