// Package stages fetches URLs in bulk as a pipeline of stages: sources that
// read requests, Fetch, Decode, and sinks that write one record per request.
// It is built on package pipeline, whose doc explains the model (bounded
// channels, ordering, failures, cancellation); this page says how it
// applies here.
//
// # Composition
//
// Each stage takes the stream of the one before it, so a program reads
// inside out, from the source to the sink:
//
//	p := pipeline.New(ctx)
//	err := stages.WriteNDJSON(
//		stages.Decode(
//			stages.Fetch(
//				stages.Lines(p, os.Stdin, stages.WithTemplate("https://api.example.com/r/{}.json")),
//				stages.WithConcurrency(100)),
//			stages.JSON),
//		os.Stdout)
//
// The stages, in the order data flows through them:
//
//   - Sources make Requests: Lines (one URL or template value per line),
//     URLs (a slice), Specs (one JSON request per line, with method,
//     headers, body and meta) and SpecList (a slice of specs).
//   - Fetch makes each Request and emits its Record, raw body included.
//   - Decode turns the body into one-line JSON, text or nothing; DecodeAs
//     decodes it into a Go type instead.
//   - WriteNDJSON writes each Record as a line of JSON. To consume records in
//     Go, use pipeline.ForEach or pipeline.All instead; to add a step of your
//     own, put a pipeline.Map between two stages (see the examples).
//
// # Options
//
// Every stage takes options of this package's Option type; each stage's doc
// lists those it takes. A stage panics when it is made with an option it does
// not take (WithTemplate given to Specs), or with two that exclude each other
// (WithBudget and WithConcurrency), and an option panics on a value that means
// nothing (WithConcurrency(0), a negative timeout): such a mistake shows on the
// first run of a test, where one ignored would show only in what a long run
// fetched. So give each stage its own list.
//
// WithConcurrency, WithInputOrder and WithBuffer have namesakes in package
// pipeline, of its own Option type, which the compiler keeps apart: stages
// take stages.WithConcurrency, and functions of package pipeline (Map,
// pipeline.Schedule, …) take pipeline.WithConcurrency. Where a default differs,
// the option's doc says so: Fetch has DefaultConcurrency requests in flight,
// while a pipeline stage, like Decode, runs one goroutine.
//
// Two names that look alike do different work: Decode(JSON) checks the body
// and keeps it as JSON for the record, without building any Go value, while
// DecodeAs[T] decodes it into a T for code that reads its fields.
//
// # One record per input
//
// Every input item yields exactly one Record, whatever happens to it, and the
// Record carries the item's position in the input as Seq (from 0; blank and
// "#" lines are not items). So a consumer can tell which input each line
// answers, spot what is missing, and resume an interrupted run from its
// own output: ReadPrevious reads it, and Resume skips the items it holds
// ok, matched by seq and by the item's identity (Request.Item), which the
// record carries too. Follow-up requests (see Follow) add records of their own,
// which keep the seq of the item they descend from and tell themselves
// apart by their follow path.
//
// WriteNDJSON writes a record as one line with these fields, in this order
// (those in brackets only when set):
//
//	seq           the item's position in the input
//	[follow]      a follow-up request's path below item seq (see Follow)
//	[item]        the identity of the input item: a hash of what was read (see ItemOf)
//	url           the URL requested, password redacted
//	[final_url]   where redirects ended, if elsewhere
//	status        the HTTP status; 0 when no response came
//	ok            true when the item succeeded; then error is absent
//	attempts      requests made; 0 when the input was not a request
//	elapsed_ms    time spent on the item, in milliseconds
//	bytes         body bytes received
//	[content_type]
//	[headers]     the response headers WithResponseHeaders asks for, as strings
//	[file]        with WithSave, the file the body was saved to
//	[error]       {"kind": …, "message": …} when ok is false
//	[meta]        a Specs line's meta, as given
//	[body]        a JSON value after Decode(JSON), else a string
//
// # Failures
//
// An item's failure is data in its record, not an error of the run: the
// error's kind, a stable name that scripts match on, says what class of
// failure it was, and its message says what happened:
//
//	invalid_input  the line is not a request that can be made
//	dns, connect, tls, timeout, network
//	               the request could not be made or did not complete
//	http_status    the server answered with a status other than 2xx (the body is kept)
//	too_large      the body is over WithMaxBody
//	decode         the body is not what Decode or DecodeAs was asked for
//	redirect       a redirect loop, or too many redirects
//	canceled       the run was interrupted before the item finished
//	other          anything else
//
// Only what stops every item is fatal: the output cannot be written, or a
// stage panicked; or the input cannot be read any more, in which case the
// items read before still get their records. WriteNDJSON, pipeline.ForEach
// and pipeline.Wait return it.
//
// # Politeness and resilience
//
// Fetch keeps to the limits it is given, for every attempt: requests in
// flight overall (WithConcurrency) and per host (WithPerHost), and start
// rates overall (WithRate) and per host (WithHostRate). A request that
// fails in a way worth retrying is retried (WithRetries, WithRetryOn) after
// an exponential backoff with full jitter, or after the wait the server's
// Retry-After asks for, capped (WithMaxRetryWait). Only idempotent methods
// are retried once a request may have reached the server, unless
// WithRetryUnsafe says otherwise; WithRetryPolicy replaces these rules with
// a function of one's own.
//
// Waiting never holds a slot: Fetch asks each limit when a request may
// start, instead of letting a worker block on it, so a busy or throttled
// host does not hold up requests to others, and a request in backoff lets
// others go meanwhile. The time limit of an attempt (WithTimeout) starts
// when the attempt does. Per-host state lasts only while a host has work
// (or its rate limiter still remembers recent starts), so a run over a
// hundred thousand hosts stays small.
//
// Fetch is a pipeline.Schedule stage keyed by host, and its limits are a
// pipeline.Budget. Give one Budget to several stages with WithBudget and
// they share it: a first Fetch and a second one for follow-up requests,
// with 4 per host, send a host at most 4 at once together.
//
// # Order, memory and cancellation
//
// Fetch emits records as requests complete, so one slow server does not hold
// up the rest. WithInputOrder on Fetch (and on Decode, if it is given more
// than one goroutine) gives input order instead, holding early records in a
// window of twice WithConcurrency.
//
// Lines and Specs read their input only as fast as records are written out.
// A run holds at most about twice WithConcurrency items in Fetch plus 16 per
// stage (see WithBuffer), however long the input, and the first request
// leaves as soon as the first line is read. WriteNDJSON flushes whenever no
// record is ready, so a reader downstream sees each record as soon as it is
// done.
//
// Each stage is a hand-off between goroutines for every record. For the
// fastest runs, let Fetch decode in its workers (WithDecode) and do the
// per-record work of the sink in one pipeline.ForEach with an NDJSONWriter.
//
// Cancelling the pipeline's context (on an interrupt, say) ends a run
// gracefully: the sources stop reading, requests in flight are cancelled
// and become canceled records (an item between two attempts keeps the
// outcome of its last one), and every item already read is still written
// out. WriteNDJSON then returns the context's cause if input was left
// unread, and nil if the whole input had been read.
package stages
