package stages

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
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
// Bodies come out raw (Format Text) for Decode to turn into JSON, unless
// WithDecode has Fetch do it.
//
// A request that fails in a way worth retrying (a 503, a refused
// connection, a timeout: see WithRetryOn) is retried after a backoff, or
// after the wait the server's Retry-After asks for. Limits on requests in
// flight (WithConcurrency, WithPerHost) and on start rates (WithRate,
// WithHostRate) apply to every attempt; a request that waits, for a rate
// limit, a busy host or a backoff, holds no slot meanwhile, so a slow or
// throttled host never holds up the others. The time limit of an attempt
// (WithTimeout) starts when the attempt does, never while it waits.
//
// Fetch holds about twice WithConcurrency items at most (waiting, in
// flight, and done but not yet taken downstream); when that is full it
// stops reading its input, so memory stays bounded.
//
// When the run's context ends, requests in flight are cancelled and items
// not yet sent are not sent: both yield canceled records. An item between
// two attempts keeps the outcome of its last one.
//
// Options: WithConcurrency (requests in flight, default
// DefaultConcurrency), WithPerHost, WithRate, WithHostRate, WithBurst,
// WithRetries, WithRetryOn, WithRetryUnsafe, WithMaxRetryWait,
// WithTimeout, WithConnectTimeout, WithMaxBody, WithMaxRedirects,
// WithMethod, WithHeader, WithClient, WithDecode, WithInputOrder,
// WithBuffer.
func Fetch(in pipeline.Stream[Request], opts ...Option) pipeline.Stream[Record] {
	s := newSettings(opts)
	f := newFetcher(s)
	in.Pipeline().Cleanup(f.release)
	if s.client == nil {
		// The client is the run's own: its idle connections, and the
		// goroutines that watch them, must not outlive the run.
		in.Pipeline().Cleanup(f.client.CloseIdleConnections)
	}
	if s.retries == 0 && s.perHost == 0 && s.rate == 0 && s.hostRate == 0 {
		// Nothing to wait for but a free slot: a fixed set of workers
		// taking the next request is all the scheduling needed.
		return pipeline.Map(in, f.fetch, s.stage(DefaultConcurrency)...)
	}
	return pipeline.Process(in, newSchedule(f).run, s.buffer...)
}

func newFetcher(s *settings) *fetcher {
	f := &fetcher{settings: s, client: s.client, method: s.method, header: s.header.Clone()}
	if f.client == nil {
		f.client = newClient(s.concurrencyOr(DefaultConcurrency), s.connectTimeout, s.maxRedirects)
	}
	f.method = normalMethod(cmp.Or(f.method, http.MethodGet))
	if f.header == nil {
		f.header = make(http.Header)
	}
	f.host = takeHost(f.header)
	if f.header.Get("User-Agent") == "" {
		f.header.Set("User-Agent", UserAgent)
	}
	return f
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
	host   string // a Host header given as an option, which net/http ignores in header

	mu     sync.Mutex
	clocks []*attemptClock // free clocks for the time limit of attempts
	all    []*attemptClock // every clock made, to release when the run ends
}

// clock returns a free attemptClock. There are never more clocks than
// attempts that ran at once, so the list stays as small as the
// concurrency: a sync.Pool would drop clocks at each GC and make new ones.
func (f *fetcher) clock() *attemptClock {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.clocks); n > 0 {
		c := f.clocks[n-1]
		f.clocks = f.clocks[:n-1]
		return c
	}
	c := new(attemptClock)
	f.all = append(f.all, c)
	return c
}

func (f *fetcher) putClock(c *attemptClock) {
	f.mu.Lock()
	f.clocks = append(f.clocks, c)
	f.mu.Unlock()
}

// release lets go of every clock's context and timer, when the run ends.
func (f *fetcher) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.all {
		c.release()
	}
	f.all, f.clocks = nil, nil
}

// fetch is the plain path's stage function: one attempt per item.
func (f *fetcher) fetch(ctx context.Context, req Request) (Record, error) {
	rec := newRecord(req)
	switch {
	case req.Err != nil:
	case ctx.Err() != nil:
		rec.Err = errNotSent
	default:
		f.next(ctx, &rec, &req, time.Now())
	}
	return rec, nil
}

// newRecord starts an item's record with what its request says, and the
// request's own failure if it has one.
func newRecord(req Request) Record {
	return Record{Seq: req.Seq, URL: redact(req.URL), Meta: req.Meta, Err: req.Err}
}

// errNotSent is the error of an item that the run's end caught before its
// request was made.
var errNotSent = newError(KindCanceled, "not sent: the run was interrupted")

// try makes the next attempt of a scheduled job, in a worker.
func (f *fetcher) try(ctx context.Context, j *job) {
	if ctx.Err() != nil {
		if j.rec.Attempts == 0 {
			j.rec.Err = errNotSent
		} // else a retry the run's end caught: it keeps its last outcome
		return
	}
	if j.first.IsZero() {
		j.first = time.Now()
	}
	j.retryAfter = f.next(ctx, &j.rec, &j.req, j.first)
}

// next makes an item's next attempt and makes rec its outcome, keeping the
// item's identity and its count of attempts; first is when the item's first
// attempt started. It returns the wait the server asked for, if any.
func (f *fetcher) next(ctx context.Context, rec *Record, req *Request, first time.Time) (retryAfter time.Duration) {
	*rec = Record{Seq: rec.Seq, URL: rec.URL, Meta: rec.Meta, Attempts: rec.Attempts + 1}
	retryAfter = f.attempt(ctx, rec, req)
	if rec.Attempts > 0 {
		rec.Elapsed = time.Since(first)
	}
	if f.decode != nil {
		decodeBody(rec, *f.decode)
	}
	return retryAfter
}

// attempt makes one request and fills rec with its outcome. It returns the
// wait the server asked for in Retry-After, if any.
func (f *fetcher) attempt(ctx context.Context, rec *Record, req *Request) (retryAfter time.Duration) {
	actx := ctx
	if f.timeout > 0 {
		clock := f.clock()
		actx = clock.start(ctx, f.timeout)
		defer f.putClock(clock)
		defer clock.stop()
	}
	hreq, bad := f.newRequest(actx, req, rec.URL)
	if bad != nil {
		rec.Attempts = 0
		rec.Err = bad
		return 0
	}
	resp, err := f.client.Do(hreq)
	if err != nil {
		rec.Err = f.classify(err, ctx, actx, phaseHeaders)
		return 0
	}
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	rec.ContentType = resp.Header.Get("Content-Type")
	// The client copies the request for a redirect, and also to add the
	// Authorization of a URL's user info: compare the URLs, not the requests.
	if resp.Request != nil && resp.Request != hreq && resp.Request.URL.String() != hreq.URL.String() {
		rec.FinalURL = redactURL(resp.Request.URL)
	}
	raw, announced := io.Reader(resp.Body), resp.ContentLength
	if resp.Body == http.NoBody {
		announced = 0 // a HEAD's Content-Length is of the body it did not send
	}
	if dec, err := decompressor(resp); err != nil {
		rec.Err = f.classify(err, ctx, actx, phaseBody)
		return 0
	} else if dec != nil {
		defer dec.Close()
		raw, announced = dec, -1 // the announced length is of the compressed bytes
	}
	body, err := readBody(raw, announced, f.maxBody)
	rec.Bytes = int64(len(body))
	if err != nil {
		rec.Err = f.classify(err, ctx, actx, phaseBody)
		return 0
	}
	rec.Body = body
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		rec.Err = newError(KindHTTPStatus, "server answered "+resp.Status)
		return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return 0
}

// decompressor returns a reader of resp's decoded body when net/http left
// it compressed, as it does when the request set its own Accept-Encoding:
// the body cap must apply to the decoded bytes, or a small gzip bomb would
// pass it. It returns nil when there is nothing to decode, or an encoding
// it does not know (the body is then kept as it came).
func decompressor(resp *http.Response) (io.ReadCloser, error) {
	if resp.Uncompressed {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))) {
	case "gzip", "x-gzip":
		return gzip.NewReader(resp.Body)
	case "deflate":
		return zlib.NewReader(resp.Body)
	}
	return nil, nil
}

// newRequest builds the HTTP request, or says why the item is not one that
// can be made. shown is the URL as records and messages may show it.
func (f *fetcher) newRequest(ctx context.Context, req *Request, shown string) (*http.Request, *Error) {
	method := f.method
	if req.Method != "" {
		method = normalMethod(req.Method)
	}
	var body io.Reader
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, req.URL, body)
	if err != nil {
		return nil, unparsable(shown, err)
	}
	if bad := checkParsed(hreq.URL, shown); bad != nil {
		return nil, bad
	}
	hreq.Header = f.header
	hreq.Host = f.host
	if req.Header != nil {
		hreq.Header = f.header.Clone()
		for k, v := range req.Header {
			hreq.Header[k] = v
		}
		if h := takeHost(hreq.Header); h != "" {
			hreq.Host = h
		}
	}
	return hreq, nil
}

// checkURL says why raw cannot be fetched, or returns nil. shown is raw as
// messages may show it.
func checkURL(raw, shown string) *Error {
	u, err := url.Parse(raw)
	if err != nil {
		return unparsable(shown, err)
	}
	return checkParsed(u, shown)
}

// unparsable is the error of a URL that does not parse.
func unparsable(shown string, err error) *Error {
	// bare drops the *url.Error's copy of the URL, credentials and all.
	return newError(KindInvalidInput, fmt.Sprintf("cannot make a request of %q: %v", shown, bare(err)))
}

// checkParsed says why u cannot be fetched, or returns nil.
func checkParsed(u *url.URL, shown string) *Error {
	switch {
	case *u == url.URL{}:
		return newError(KindInvalidInput, "the URL is empty")
	case u.Scheme == "":
		return newError(KindInvalidInput, fmt.Sprintf("URL %q has no scheme: want http:// or https://", shown))
	case u.Scheme != "http" && u.Scheme != "https":
		return newError(KindInvalidInput, fmt.Sprintf("unsupported scheme %q in %q: want http or https", u.Scheme, shown))
	case u.Host == "":
		return newError(KindInvalidInput, fmt.Sprintf("URL %q has no host", shown))
	}
	return nil
}

// takeHost removes a Host header from h and returns it: net/http takes the
// host from the request, not from its headers.
func takeHost(h http.Header) string {
	host := h.Get("Host")
	if host != "" {
		h.Del("Host")
	}
	return host
}

// normalMethod spells a standard method in capitals, as servers expect:
// "post" in a spec means POST. Other methods are sent as given, since
// method names are case-sensitive.
func normalMethod(m string) string {
	for _, std := range [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if strings.EqualFold(m, std) {
			return std
		}
	}
	return m
}
