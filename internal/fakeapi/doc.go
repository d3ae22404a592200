// Package fakeapi is a loopback HTTP API that behaves badly on request.
//
// fetchpipe's tests, its offline demo and its benchmarks all need a server that
// answers like a Reddit-style JSON API, but whose speed and failures are chosen
// by the caller and are the same on every run. fakeapi is that server. It also
// measures what it saw (requests, in-flight, peak in-flight, statuses), so a test
// can assert on what the client did rather than on wall-clock time.
//
// # Endpoints
//
//	GET  /r/{name}.json   a listing of posts about {name} (200, application/json)
//	GET  /r/{name}/comments/{id}.json, or /r/{name}/comments/{id}/{slug}/.json
//	                      the comments on post {id}: a listing of one to five
//	                      (a post's permalink, with ".json" appended, as Reddit has it)
//	GET  /stats           the Stats as JSON
//	POST /stats/reset     Handler.Reset
//	anything else         404 {"error":"not found"}
//
// Requests to /stats and /stats/reset are not counted, so polling them does not
// disturb what they measure.
//
// # Determinism
//
// A listing's content depends only on Config.Seed and {name}; a request's
// latency only on Config.Seed, Config.Latency and the URL path (and, with
// Config.LoadLatency or Config.Workers, on how many requests are in flight). Two servers with
// the same Config give byte-identical answers, in any process, on any machine.
//
// # Load
//
// Three knobs make one server behave like a real API under load, so that a
// client that adapts its concurrency to the server can be tested and
// benchmarked against it. Both are per Handler (per serve-fake process),
// count requests as Stats.InFlight does (every request but /stats and
// /stats/reset), and have no query parameter:
//
//	Config.Capacity=N       beyond N requests in flight, answer 429 at once,
//	                        without latency, {"error":"over capacity"};
//	                        refusals are never in flight (Stats.Refused)
//	Config.CapacityRetryAfter=1
//	                        send "Retry-After: 1" with those 429s (default none)
//	Config.LoadLatency=N    hold a request that finds k others in flight for
//	                        latency × (1 + k/N), where latency is its usual one
//	                        (the Config's draw or latency=)
//	Config.Workers=N        work on N requests at once, and queue the rest,
//	                        first come first served: beyond N in flight,
//	                        answers take latency × k/N, as a server with a
//	                        fixed pool of workers gives them
//
// Capacity is checked and taken in one atomic step, so at most N are ever
// admitted together, however many arrive at once, and Stats.PeakInFlight
// shows it.
//
// # Query parameters
//
// Every /r/ request accepts these, in any combination (bytes= sizes
// listings only). A malformed value gets
// 400 with a JSON error naming the parameter. They act in this order, and the
// first that answers wins:
//
//	latency=150ms  hold the request this long instead of the Config's draw
//	hang=1         never answer; return when the client goes away or the server closes
//	fail=N&id=K    the first N requests with id K (default: the path) answer
//	               with status (default 503); later ones go on as normal
//	status=503     answer with this status (200-599) and a small JSON error body
//	retry_after=2  add "Retry-After: 2" to error answers (passed through verbatim)
//	loop=1         302 to this very URL, forever
//	redirect=N     302 to the same URL with redirect=N-1; at 0, go on as normal
//	format=html    200 text/html that is not JSON
//	format=badjson 200 application/json that is truncated JSON
//	bomb=N         a gzip body that inflates to N bytes, streamed, never held
//	trickle=1      200, then one byte of whitespace every 100ms until the client leaves
//	reset=1        200 and part of a body, then a TCP reset
//	bytes=N        size the listing to about N bytes (overrides Config.Posts)
//	pretty=1       indent the listing over several lines
//	unicode=1      titles and selftext in many scripts (é, Cyrillic, Greek, CJK, emoji)
//	gzip=1         gzip the body, if the request's Accept-Encoding allows it
package fakeapi
