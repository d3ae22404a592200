// Package fetchtest runs a fake JSON API on loopback for the tests of
// programs built on fetchpipe, as net/http/httptest does for handlers: a
// Reddit-style API whose speed and failures a test chooses, that answers
// the same on every run, and that counts what it saw, so a test can check
// what its pipeline did (how many requests, how many at once) rather than
// how long it took.
//
//	srv := fetchtest.NewServer(fetchtest.WithLatency(5*time.Millisecond, 20*time.Millisecond))
//	defer srv.Close()
//	reqs := stages.URLs(p, []string{"golang", "rust"}, stages.WithTemplate(srv.URL+"/r/{}.json"))
//
// # Endpoints
//
//	GET /r/{name}.json     a listing of posts about {name}, as JSON
//	GET /r/{name}/comments/{id}.json, or a post's permalink with ".json" appended
//	                       the comments on post {id}: a listing of one to five
//	anything else          404 {"error":"not found"}
//
// A listing is shaped as Reddit's, with these fields among others:
//
//	{"kind": "Listing", "data": {"after": "t3_…", "dist": 5, "children": [
//	  {"kind": "t3", "data": {"id": "k3x9a0b", "subreddit": "golang", "title": "…",
//	    "author": "…", "score": 42, "num_comments": 7, "created_utc": 1700000000,
//	    "permalink": "/r/golang/comments/k3x9a0b/some_title/", "url": "…", "selftext": "…"}}]}}
//
// and comments as {"kind": "Listing", "data": {"dist": 2, "children": [{"kind": "t1",
// "data": {"id", "link_id": "t3_{id}", "subreddit", "author", "score", "body"}}]}}.
//
// A listing depends only on the seed (WithSeed) and {name}; a request's
// latency only on the seed, WithLatency and the URL path, so repeating a
// request repeats its answer and its delay, as a real endpoint would.
//
// # Misbehaviour on request
//
// A query on any /r/ URL makes the server misbehave, in any combination;
// a malformed value gets 400. They act in this order, and the first that
// answers wins:
//
//	latency=150ms  hold the request this long instead of WithLatency's draw
//	hang=1         never answer, until the client goes away or the server closes
//	fail=N&id=K    the first N requests with id K (default: the path) fail
//	               with status (default 503); later ones go on as normal
//	status=503     answer with this status (200-599) and a small JSON error
//	retry_after=2  add "Retry-After: 2" to error answers
//	loop=1         302 to this very URL, forever
//	redirect=N     302 to the same URL with redirect=N-1; at 0, go on as normal
//	format=html    200 text/html that is not JSON
//	format=badjson 200 application/json that is truncated JSON
//	bomb=N         a gzip body that inflates to N bytes
//	trickle=1      200, then a byte every 100ms until the client leaves
//	reset=1        200 and part of a body, then a TCP reset
//	bytes=N        size a listing to about N bytes
//	pretty=1       indent the JSON over several lines
//	gzip=1         gzip the body, if the request accepts gzip
//
// So srv.URL+"/r/golang.json?fail=2&status=429&retry_after=1" fails twice
// with 429 and then answers, which is how a test checks retries.
package fetchtest
