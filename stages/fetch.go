package stages

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
// connection, a timeout: see WithRetryOn, or WithRetryPolicy for rules of
// one's own) is retried after a backoff, or after the wait the server's
// Retry-After asks for. Limits on requests in flight (WithConcurrency,
// WithPerHost) and on start rates (WithRate, WithHostRate), or a Budget
// shared with other stages (WithBudget), apply to every attempt; a request
// that waits, for a rate limit, a busy host or a backoff, holds no slot
// meanwhile, so a slow or throttled host never holds up the others. The
// time limit of an attempt (WithTimeout) starts when the attempt does,
// never while it waits. Fetch is a pipeline.Schedule stage, keyed by host,
// whose doc says more.
//
// Fetch holds at most twice WithConcurrency items (waiting, in flight, and
// done but not yet taken downstream); when that is full it stops reading
// its input, so memory stays bounded.
//
// Fetch's own client makes each plain http:// request on the goroutine
// that waits for it, which writes the request and reads the answer itself
// (with net/http's Request.Write and ReadResponse) on a kept-alive HTTP/1.1
// connection; net/http's Transport spends two goroutines of its own on each
// connection, whose stacks were most of the memory with thousands of
// requests in flight. https (with HTTP/2 where the server offers it) and
// requests through a proxy or with a body over 16 KiB go through
// net/http's Transport. Of httptrace's hooks, those of a connection's life
// and of the answer's arrival (GetConn, GotConn, PutIdleConn,
// GotFirstResponseByte, Got1xxResponse) are not called for plain http
// requests; a client of one's own (WithClient) has net/http's throughout.
//
// When the run's context ends, requests in flight are cancelled (after
// WithGrace, if given) and items not yet sent are not sent: both yield
// canceled records. An item between
// two attempts keeps the outcome of its last one.
//
// Options: WithConcurrency (requests in flight, default
// DefaultConcurrency), WithPerHost, WithRate, WithHostRate, WithBurst, or
// WithBudget in place of those five; WithRetries, WithRetryOn,
// WithRetryUnsafe, WithMaxRetryWait, or WithRetryPolicy in place of those
// four; WithTimeout, WithConnectTimeout, WithMaxBody, WithMaxRedirects,
// WithMethod, WithHeader, WithClient, WithTrustRedirects, WithTLS, WithDecode,
// WithMaxDepth, WithQuery, WithResponseHeaders, WithGrace, WithInputOrder,
// WithSpool, WithAutoThrottle,
// WithObserver, WithTrace, WithBuffer.
func Fetch(in pipeline.Stream[Request], opts ...Option) pipeline.Stream[Record] {
	s := newSettings("Fetch", fetchOptions, opts)
	if s.given&optSaveOver != 0 && s.given&optSave == 0 {
		panic("stages.Fetch: WithSaveOver applies to WithSave, which is not given")
	}
	if s.query != nil && (s.decode == nil || *s.decode != JSON) {
		panic("stages.Fetch: WithQuery runs on JSON bodies, which need WithDecode(JSON)")
	}
	if s.given&optMaxDepth != 0 && (s.decode == nil || *s.decode != JSON) {
		panic("stages.Fetch: WithMaxDepth applies to the JSON decoding of WithDecode(JSON), which is not given")
	}
	if s.given&optBurst != 0 && s.rate == 0 && s.hostRate == 0 {
		panic("stages.Fetch: WithBurst applies to WithRate and WithHostRate, neither of which is given")
	}
	p := in.Pipeline()
	f := newFetcher(s, p.Context())
	p.Cleanup(f.release)
	f.requests = f.run
	if s.grace > 0 {
		f.requests = graceful(p, s.grace)
	}
	if s.client == nil {
		// The client is the run's own: its idle connections, and the
		// goroutines that watch them, must not outlive the run.
		p.Cleanup(f.client.CloseIdleConnections)
	}
	budget := s.newBudget()
	sopts := []pipeline.Option{
		pipeline.WithBudget(budget),
		pipeline.WithSettled(f.settled),
		pipeline.WithNotStarted(f.notStarted),
	}
	if s.budget != nil || s.perHost > 0 || s.hostRate > 0 || s.autoThrottle {
		sopts = append(sopts, pipeline.WithKey(func(r Request) string { return hostKey(r.URL) }))
	}
	if s.ordered {
		sopts = append(sopts, pipeline.WithInputOrder())
		if s.spool != nil {
			sopts = append(sopts, pipeline.WithSpill(s.spill()))
		}
	} else if s.spool != nil {
		panic("stages.Fetch: WithSpool applies to WithInputOrder, which is not given")
	}
	if s.observe != nil {
		sopts = append(sopts, pipeline.WithObserver(s.observe))
	}
	return pipeline.Schedule(in, f.work, append(sopts, s.buffer...)...)
}

func newFetcher(s *settings, run context.Context) *fetcher {
	f := &fetcher{settings: s, run: run, client: s.client, method: s.method, header: s.header.Clone(), retry: s.retryPolicy}
	if f.client == nil {
		f.client = newClient(s)
	}
	f.method = normalMethod(cmp.Or(f.method, http.MethodGet))
	if f.header == nil {
		f.header = make(http.Header)
	}
	f.host = takeHost(f.header)
	if f.header.Get("User-Agent") == "" {
		f.header.Set("User-Agent", UserAgent)
	}
	if f.header.Get("Accept-Encoding") == "" {
		// Asked for here, not by net/http: see decoded.
		f.header.Set("Accept-Encoding", "gzip")
		f.autoGzip = true
	}
	if f.retry == nil {
		f.retry = newRetryRules(s).policy
	}
	// A rate counts requests started: what can never start must not spend
	// a token, so it is found out before it waits for one.
	// Nor teach an adaptive limit that its host answered at once.
	f.precheck = s.budget != nil || s.rate > 0 || s.hostRate > 0 || s.autoThrottle
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
	// requests is the context of the requests: the run's, or with
	// WithGrace one that outlives a graceful cancel by the grace period.
	requests context.Context
	autoGzip bool // Accept-Encoding: gzip is Fetch's own, not the caller's
	// run is the run's context: a graceful cancel cuts the requests in
	// flight short, where the stage's own context would let them finish.
	run    context.Context
	client *http.Client
	method string
	// header holds the default headers, shared read-only by every request
	// that does not bring its own.
	header   http.Header
	host     string // a Host header given as an option, which net/http ignores in header
	retry    RetryPolicy
	precheck bool // check URLs before they wait for a rate limit

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

// work is Fetch's work function: one attempt of the item's request, and
// whether to try again.
func (f *fetcher) work(_ context.Context, t *pipeline.Task[Request]) (Record, error) {
	req := &t.Value
	if t.Try == 1 {
		// The method the request is made with, as the retry policy sees it.
		if req.Method == "" {
			req.Method = f.method
		} else {
			req.Method = normalMethod(req.Method)
		}
	}
	rec := Record{Seq: req.Seq, Follow: req.Follow, Item: req.Item, URL: redact(req.URL), Meta: req.Meta, Attempts: t.Try}
	retryAfter := f.attempt(f.requests, &rec, req)
	if rec.Attempts > 0 {
		rec.Elapsed = time.Since(t.Started)
	}
	if f.decode != nil {
		decodeBody(&rec, *f.decode, true, f.maxDepth) // the body was just read: the record's own
	}
	if f.query != nil {
		// Not the requests' context: a record finished as a run is
		// interrupted must not fail its query for the interrupt. The
		// query's own budget bounds it.
		f.query.Apply(context.Background(), &rec)
		if rec.Format == JSON && tooDeep(rec.Body, f.maxDepth) {
			// What a program builds must keep readers reading as much as
			// what a server sends.
			rec.Format = Text
			if rec.Err == nil {
				rec.Err = newError(KindDecode, deepMessage("jq's result", f.maxDepth))
			}
		}
	}
	switch {
	case rec.Attempts == 0 || untimed(&rec):
		t.Untimed()
	case timedOut(&rec):
		t.TimedOut()
	}
	if rec.Attempts > 0 && refused(&rec, t.Try) {
		// Nothing, unless the budget adapts. The host's pause is capped
		// as a retry's wait is: a Retry-After of a day would otherwise
		// hold the host's every item for a day.
		t.Refused(min(retryAfter, f.maxRetryWait))
	}
	if rec.Err != nil && rec.Attempts > 0 && f.run.Err() == nil {
		if wait, again := f.retry(req, &rec, retryAfter); again {
			t.Retry(wait)
			if f.traces(TraceRetry) {
				f.trace(Trace{Event: TraceRetry, Seq: req.Seq, URL: rec.URL, Try: t.Try, Reason: rec.Err.Message,
					Kind: rec.Err.Kind, Status: rec.Status, Wait: wait, FromRetryAfter: retryAfter > 0 && f.retryPolicy == nil})
			}
		}
	}
	return rec, nil
}

// settled gives the record of an item that is not a request that can be
// made, so that it takes neither a slot nor a token.
func (f *fetcher) settled(req Request) (Record, bool) {
	if req.Err != nil {
		return newRecord(req), true
	}
	if f.precheck {
		rec := newRecord(req)
		if rec.Err = checkURL(req.URL, rec.URL); rec.Err != nil {
			return rec, true
		}
	}
	return Record{}, false
}

// notStarted gives the record of an item that the run's end caught before
// its request was made.
func (f *fetcher) notStarted(req Request) Record {
	rec := newRecord(req)
	rec.Err = causedBy(KindCanceled, "not sent: "+stopReason(f.run), context.Cause(f.run))
	return rec
}

// newRecord starts an item's record with what its request says, and the
// request's own failure if it has one.
func newRecord(req Request) Record {
	return Record{Seq: req.Seq, Follow: req.Follow, Item: req.Item, URL: redact(req.URL), Meta: req.Meta, Err: req.Err}
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
	if f.traces(TraceRedirect) {
		actx = withTraceItem(actx, &traceItem{seq: req.Seq, url: rec.URL, try: rec.Attempts})
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
	if f.responseHeaders != nil {
		rec.Header = keptHeaders(resp.Header, f.responseHeaders)
	}
	// The client copies the request for a redirect, and also to add the
	// Authorization of a URL's user info: compare the URLs, not the requests.
	if resp.Request != nil && resp.Request != hreq && resp.Request.URL.String() != hreq.URL.String() {
		rec.FinalURL = redactURL(resp.Request.URL)
	}
	announced := resp.ContentLength
	if resp.Body == http.NoBody {
		announced = 0 // a HEAD's Content-Length is of the body it did not send
	}
	failed := resp.StatusCode < 200 || resp.StatusCode > 299
	// statusError is the record's error for a status other than 2xx; a
	// body that does not decode adds to it, and does not hide it, so that
	// a 503 is retried however its body came.
	statusError := func(more string) time.Duration {
		rec.Err = newError(KindHTTPStatus, "server answered "+resp.Status+f.leftBehind(hreq, resp)+more)
		return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	wire := &wireBody{r: resp.Body}
	dec, encoding, err := decoded(resp, wire)
	if err == nil {
		defer dec.Close()
		if encoding != "" {
			announced = -1 // the announced length is of the compressed bytes
		}
		if f.save != nil && !failed && !noBody(resp) && knownEncoding(cmp.Or(encoding, "gzip")) {
			var path string
			if path, rec.Bytes, err = f.save.save(req, rec.ContentType, dec, f.maxBody); err == nil {
				rec.File = path
				return 0
			}
			var taken *errTaken
			if errors.As(err, &taken) {
				rec.Err = newError(KindOther, taken.Error())
				return 0
			}
		} else {
			var body []byte
			body, err = readBody(dec, announced, f.maxBody)
			rec.Bytes = int64(len(body))
			rec.Body = body
		}
	}
	if err != nil {
		rec.Body = nil
		bad := f.bodyError(err, wire, encoding, ctx, actx)
		if failed && bad.Kind == KindDecode {
			return statusError("; its body does not decode: " + bad.Message)
		}
		rec.Err = bad
		return 0
	}
	if encoding != "" && !knownEncoding(encoding) {
		// Kept as it came, for what it is worth, and said plainly: as
		// text it reads as garbage, and as JSON it fails to parse.
		rec.Format = Text
		msg := fmt.Sprintf("the body is encoded with %q, which fetchpipe does not decode (it asks for gzip)", encoding)
		if failed {
			return statusError("; " + msg)
		}
		rec.Err = newError(KindDecode, msg)
		return 0
	}
	if failed {
		return statusError("")
	}
	return 0
}

// newRequest builds the HTTP request, or says why the item is not one that
// can be made. shown is the URL as records and messages may show it.
func (f *fetcher) newRequest(ctx context.Context, req *Request, shown string) (*http.Request, *Error) {
	method := req.Method // set by work
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
		if f.autoGzip && hreq.Header.Get("Range") != "" && req.Header.Get("Accept-Encoding") == "" {
			// A range of a compressed body is not a range of the body,
			// so net/http does not ask for gzip with one either.
			hreq.Header.Del("Accept-Encoding")
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
	if strings.Contains(shown, masked+"@") {
		// The parser's own words quote a piece of the URL, which may be a
		// piece of the password: "invalid port \":pw\"".
		return causedBy(KindInvalidInput, fmt.Sprintf("cannot make a request of %q: it does not parse as a URL; "+
			"a password that holds a /, ? or # must have it percent-encoded (%%2F, %%3F, %%23)", shown), errUnparsable)
	}
	if strings.Contains(err.Error(), "first path segment in URL cannot contain colon") && !strings.Contains(shown, "://") {
		// host:port/path, where the parser reads host as a scheme.
		return causedBy(KindInvalidInput, fmt.Sprintf("URL %q has no scheme: want http:// or https://", shown), bare(err))
	}
	// bare drops the *url.Error's copy of the URL, credentials and all.
	return causedBy(KindInvalidInput, fmt.Sprintf("cannot make a request of %q: %v", shown, bare(err)), bare(err))
}

// errUnparsable is the cause of a URL with credentials that does not
// parse, for which the parser's error, quoting them, is not kept.
var errUnparsable = errors.New("the URL does not parse")

// checkParsed says why u cannot be fetched, or returns nil.
func checkParsed(u *url.URL, shown string) *Error {
	switch {
	case *u == url.URL{}:
		return newError(KindInvalidInput, "the URL is empty")
	case u.Scheme == "":
		return newError(KindInvalidInput, fmt.Sprintf("URL %q has no scheme: want http:// or https://", shown))
	case u.Scheme != "http" && u.Scheme != "https":
		return newError(KindInvalidInput, fmt.Sprintf("unsupported scheme %q in %q: want http or https", u.Scheme, shown))
	case u.Hostname() == "":
		// http://:8080/ would reach this machine, which nobody means.
		return newError(KindInvalidInput, fmt.Sprintf("URL %q has no host", shown))
	}
	if p := u.Port(); p != "" {
		// The parser takes any digits; a dial would fail on each try, and
		// look like a host that refuses connections.
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return newError(KindInvalidInput, fmt.Sprintf("port %s of %q is out of range: want 1 to 65535", p, shown))
		}
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

// leftBehind explains a refusal that may come from credentials left at
// their origin by a redirect (see keepCredentialsHome): that is why an
// http to https upgrade of an API that wants a token ends in a 401.
func (f *fetcher) leftBehind(req *http.Request, resp *http.Response) string {
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusProxyAuthRequired:
	default:
		return ""
	}
	if f.trustRedirects || f.settings.client != nil || resp.Request == nil || sameOrigin(resp.Request.URL, req.URL) {
		return ""
	}
	var kept []string
	for k := range req.Header {
		if !harmlessHeaders[k] {
			kept = append(kept, k)
		}
	}
	if len(kept) == 0 && req.URL.User == nil {
		return ""
	}
	slices.Sort(kept)
	if req.URL.User != nil {
		kept = append(kept, "the URL's user info")
	}
	return fmt.Sprintf(" after a redirect to another origin (%s://%s), where the request's %s were not sent, to keep them from another server; trust redirects (--location-trusted) to send them",
		resp.Request.URL.Scheme, resp.Request.URL.Host, strings.Join(kept, ", "))
}

// graceful returns a context for requests that ends grace after the run's
// context does, so that requests in flight at an interrupt may finish;
// at once when the run ends at its deadline, which is a deadline, or when
// the run is aborted.
func graceful(p *pipeline.Pipeline, grace time.Duration) context.Context {
	run := p.Context()
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(run))
	var (
		mu    sync.Mutex
		timer *time.Timer
		ended bool // the run is over: no timer is to be started
	)
	stop := context.AfterFunc(run, func() {
		if errors.Is(run.Err(), context.DeadlineExceeded) {
			cancel(context.Cause(run))
			return
		}
		// Wait cancels the run's context too, when a run ends as it
		// should: then the cleanup below may already have run, and a
		// timer started now would hold the run for the whole grace.
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			timer = time.AfterFunc(grace, func() { cancel(context.Cause(run)) })
		}
	})
	go func() {
		select {
		case <-p.Done():
			cancel(context.Cause(run))
		case <-ctx.Done():
		}
	}()
	p.Cleanup(func() {
		stop()
		mu.Lock()
		ended = true
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel(context.Canceled)
	})
	return ctx
}

// stopReason says why the run stopped, for the records it cancels: a
// deadline by its cause, when that says more than the bare error.
func stopReason(run context.Context) string {
	if errors.Is(run.Err(), context.DeadlineExceeded) {
		if cause := context.Cause(run); cause != nil && cause != context.DeadlineExceeded {
			return "the run stopped: " + cause.Error()
		}
		return "the run's deadline passed"
	}
	return "the run was interrupted"
}
