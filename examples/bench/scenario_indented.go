package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"
)

// indentedQuery asks the fake API for a listing indented over many lines,
// in many scripts (é, Cyrillic, Greek, CJK, emoji), sized so that its
// indented form is about 3.6 KB: what many APIs send, and more work for a
// client that checks a body and makes it one line than S3's compact ASCII.
const indentedQuery = "?pretty=1&unicode=1&bytes=2600"

// s6 is S3 with indented, non-ASCII bodies: fetchpipe's default (-d json)
// checks each body and compacts it onto its record's line, -d none leaves
// the body out, so the difference is what the body's JSON costs, and the
// discard client is the floor against which both are held. Runs alternate
// between the strategies, and each row is the run of least CPU: on a
// shared machine other load only ever adds.
func (b *bench) s6(ctx context.Context) (*scenarioResult, error) {
	const latency = "0"
	n, k := b.cfg.n(10000), 64
	res := &scenarioResult{Setup: fmt.Sprintf("N=%d URLs http://HOST:PORT/r/nameI.json%s on stdin, K=%d; server: fetchpipe serve-fake --latency %s, its own process",
		n, indentedQuery, k, latency)}
	err := b.withServer(ctx, latency, 0, func(srv *fakeServer) error {
		body, err := sampleBody(ctx, srv, indentedQuery)
		if err != nil {
			return err
		}
		res.notef("a body is %d bytes over %d lines, %d of its %d characters not ASCII (measured on %s)",
			len(body.data), body.lines, body.nonASCII, utf8.RuneCount(body.data), body.url)
		runs := map[string][]*measurement{}
		order := append([]string{"discard", "fetchpipe", "fetchpipe -d none"}, b.peers()...)
		for range b.cfg.repeat {
			for _, st := range order {
				r, err := b.measureRun(ctx, runSpec{strategy: st, servers: []*fakeServer{srv}, k: k, n: n,
					urls: urlSet{bases: []string{srv.url}, n: n, query: indentedQuery}})
				if err != nil {
					return err
				}
				runs[st] = append(runs[st], r)
			}
		}
		for _, st := range order {
			r := least(runs[st])
			if st == "fetchpipe" {
				r.Label = fmt.Sprintf("fetchpipe -d json (default), least of %d", r.Runs)
			} else if r.Runs > 1 {
				r.Label = fmt.Sprintf("%s, least of %d", st, r.Runs)
			}
			res.Rows = append(res.Rows, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pipe, none, floor := res.row("fetchpipe"), res.row("fetchpipe -d none"), res.row("discard")
	res.addRatio("fetchpipe -d json / discard, CPU per request", pipe.CPUPerReqUS, floor.CPUPerReqUS, 1.3)
	res.addRatio("fetchpipe -d none / discard, CPU per request", none.CPUPerReqUS, floor.CPUPerReqUS, 0)
	res.addRatio("fetchpipe -d json / -d none, CPU per request", pipe.CPUPerReqUS, none.CPUPerReqUS, 0)
	for _, p := range b.peers() {
		res.addRatio(p+" / discard, CPU per request", res.row(p).CPUPerReqUS, floor.CPUPerReqUS, 0)
	}
	for _, r := range res.Rows {
		if len(r.EachCPUS) > 1 {
			res.notef("CPU s of each run, %s: %s", r.Strategy, seconds(r.EachCPUS))
		}
	}
	res.noteTargets("target: fetchpipe's CPU per request, checking each indented body and compacting it onto one line, within 1.3× of discard's, a client that reads each body and throws it away")
	res.notef("discard reads each body into io.Discard and writes \"STATUS BYTES\"; fetchpipe -d json checks each body and writes it compacted onto its record's line; -d none writes the record without it")
	b.notePeers(res, k)
	return res, nil
}

// body is one of the fake API's answers, as S6 describes it.
type body struct {
	url             string
	data            []byte
	lines, nonASCII int
}

// sampleBody fetches /r/name0.json with query from srv, to say how large
// the bodies of a scenario are, as measured rather than as asked for.
func sampleBody(ctx context.Context, srv *fakeServer, query string) (body, error) {
	b := body{url: "/r/name0.json" + query}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.url+b.url, nil)
	if err != nil {
		return b, err
	}
	resp, err := srv.http.Do(req)
	if err != nil {
		return b, fmt.Errorf("fetching a sample body: %w", err)
	}
	defer resp.Body.Close()
	if b.data, err = io.ReadAll(resp.Body); err != nil {
		return b, fmt.Errorf("fetching a sample body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("fetching a sample body: %s", resp.Status)
	}
	for _, r := range string(b.data) {
		if r == '\n' {
			b.lines++
		}
		if r >= utf8.RuneSelf {
			b.nonASCII++
		}
	}
	if len(b.data) > 0 && b.data[len(b.data)-1] != '\n' {
		b.lines++
	}
	return b, nil
}
