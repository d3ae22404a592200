package main

import (
	"context"
	"io"
	"iter"
	"net/http"
)

// sequential is the loop everyone writes first: one request after another
// on the default client, each result printed as soon as it is read. Its
// time is about N × latency; k is ignored.
func sequential(ctx context.Context, _ int, urls iter.Seq[string], out io.Writer) *tally {
	c := &http.Client{} // http.DefaultTransport: keep-alive works for one connection at a time
	defer c.CloseIdleConnections()
	t := new(tally)
	var line []byte
	for u := range urls {
		if ctx.Err() != nil {
			break
		}
		status, body, err := get(ctx, c, u)
		t.add(status, err)
		line = appendLine(line[:0], u, status, body, err)
		if _, err := out.Write(line); err != nil {
			break
		}
	}
	return t
}
