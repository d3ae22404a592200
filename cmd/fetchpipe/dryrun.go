package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/segmentio/encoding/json"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// dryRun prints, for each item, the request a run would make, and makes
// none: to check a template, a list or the headers before a long run.
// Values of headers that carry credentials are masked, and so are
// passwords in URLs, as in records.
func dryRun(ctx context.Context, src *fetchTask, f *fetchFlags, out io.Writer, closeOut func() error, stderr io.Writer) error {
	p := pipeline.New(ctx)
	defer p.Stop()
	method := cmp.Or(strings.ToUpper(f.method), http.MethodGet)
	var buf []byte
	err := pipeline.ForEach(src.requests(p), func(_ context.Context, r stages.Request) error {
		h := http.Header{"User-Agent": {stages.UserAgent}}
		for k, v := range f.sendHeader {
			h[k] = v
		}
		for k, v := range r.Header {
			h[k] = v
		}
		line := dryLine{Seq: r.Seq, Item: r.Item, Method: cmp.Or(strings.ToUpper(r.Method), method), URL: stages.Redact(r.URL)}
		if r.Err != nil {
			line.Error = &dryError{Kind: string(r.Err.Kind), Message: r.Err.Message}
		}
		line.Headers = make(map[string]string, len(h))
		for k, v := range h {
			value := strings.Join(v, ", ")
			switch http.CanonicalHeaderKey(k) {
			case "Authorization", "Proxy-Authorization", "Cookie":
				value = "xxxxx"
			}
			line.Headers[http.CanonicalHeaderKey(k)] = value
		}
		var err error
		if buf, err = json.Append(buf[:0], line, json.SortMapKeys); err != nil {
			return err
		}
		_, err = out.Write(append(buf, '\n'))
		return err
	})
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "fetchpipe: %v\n", err)
		return exitCode(exitFatal)
	}
	return nil
}

type dryLine struct {
	Seq     int64             `json:"seq"`
	Item    string            `json:"item,omitempty"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Error   *dryError         `json:"error,omitempty"`
}

type dryError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}
