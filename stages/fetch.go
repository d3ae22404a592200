package stages

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// UserAgent is sent with every request unless a header option or a request
// names its own.
const UserAgent = "fetchpipe/0.1 (+https://github.com/fetchpipe/fetchpipe)"

// Fetch is the stage that makes each Request and emits its Record, on a
// shared client whose connections are reused across requests.
//
// Every request yields one record: a failed one carries an Error whose Kind
// says what went wrong (see Kind), and the run goes on. A response whose
// status is not 2xx is such a failure too (http_status); its body is kept.
// Bodies come out raw (Format Text); Decode turns them into JSON.
//
// When the run's context ends, requests in flight are cancelled and items
// not yet sent are not sent; both still yield their canceled records.
//
// Options: WithConcurrency (requests in flight, default DefaultConcurrency),
// WithInputOrder, WithBuffer, WithClient, WithTimeout, WithMaxBody,
// WithMethod, WithHeader.
func Fetch(in pipeline.Stream[Request], opts ...Option) pipeline.Stream[Record] {
	s := newSettings(opts)
	f := &fetcher{settings: s, client: s.client, method: s.method, header: s.header.Clone()}
	if f.client == nil {
		f.client = newClient(s.concurrencyOr(DefaultConcurrency))
		// The client is the run's own: its idle connections, and the
		// goroutines that watch them, must not outlive the run.
		in.Pipeline().Cleanup(f.client.CloseIdleConnections)
	}
	if f.method == "" {
		f.method = http.MethodGet
	}
	if f.header == nil {
		f.header = make(http.Header)
	}
	if f.header.Get("User-Agent") == "" {
		f.header.Set("User-Agent", UserAgent)
	}
	return pipeline.Map(in, f.fetch, s.stage(DefaultConcurrency)...)
}

func (s *settings) concurrencyOr(def int) int {
	if s.concurrency > 0 {
		return s.concurrency
	}
	return def
}

type fetcher struct {
	*settings
	client *http.Client
	method string
	// header holds the default headers, shared read-only by every request
	// that does not bring its own.
	header http.Header
}

func (f *fetcher) fetch(ctx context.Context, req Request) (Record, error) {
	rec := Record{Seq: req.Seq, URL: req.URL, Meta: req.Meta}
	switch {
	case req.Err != nil:
		rec.Err = req.Err
		return rec, nil
	case ctx.Err() != nil:
		rec.Err = newError(KindCanceled, "not sent: the run was interrupted")
		return rec, nil
	}
	start := time.Now()
	rec.Attempts = 1
	f.attempt(ctx, &rec, req)
	rec.Elapsed = time.Since(start)
	return rec, nil
}

// attempt makes one request and fills rec with its outcome.
func (f *fetcher) attempt(ctx context.Context, rec *Record, req Request) {
	actx := ctx
	if f.timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(ctx, f.timeout, errAttemptTimeout)
		defer cancel()
	}
	hreq, bad := f.newRequest(actx, req)
	if bad != nil {
		rec.Attempts = 0
		rec.Err = bad
		return
	}
	if hreq.URL.User != nil {
		rec.URL = hreq.URL.Redacted()
	}
	resp, err := f.client.Do(hreq)
	if err != nil {
		rec.Err = classify(err, ctx, actx, f.timeout, phaseHeaders)
		return
	}
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	rec.ContentType = resp.Header.Get("Content-Type")
	if resp.Request != nil && resp.Request != hreq {
		rec.FinalURL = resp.Request.URL.Redacted()
	}
	body, err := readBody(resp.Body, resp.ContentLength, f.maxBody)
	rec.Bytes = int64(len(body))
	if err != nil {
		rec.Err = classify(err, ctx, actx, f.timeout, phaseBody)
		return
	}
	rec.Body = body
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		rec.Err = newError(KindHTTPStatus, "server answered "+resp.Status)
	}
}

// newRequest builds the HTTP request, or says why the item is not one that
// can be made.
func (f *fetcher) newRequest(ctx context.Context, req Request) (*http.Request, *Error) {
	method := req.Method
	if method == "" {
		method = f.method
	}
	var body io.Reader
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, req.URL, body)
	if err != nil {
		return nil, newError(KindInvalidInput, fmt.Sprintf("cannot make a request of %q: %v", req.URL, bare(err)))
	}
	switch u := hreq.URL; {
	case u.Scheme == "":
		return nil, newError(KindInvalidInput, fmt.Sprintf("URL %q has no scheme: want http:// or https://", req.URL))
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, newError(KindInvalidInput, fmt.Sprintf("unsupported scheme %q in %q: want http or https", u.Scheme, req.URL))
	case u.Host == "":
		return nil, newError(KindInvalidInput, fmt.Sprintf("URL %q has no host", req.URL))
	}
	hreq.Header = f.header
	if req.Header != nil {
		hreq.Header = f.header.Clone()
		for k, v := range req.Header {
			hreq.Header[k] = v
		}
	}
	return hreq, nil
}
