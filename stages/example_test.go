package stages_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// The examples fetch from fakeapi, a deterministic API on loopback, and
// print only what does not change from run to run: seq, status, error kind.
// Its address changes, and so would url and elapsed_ms.

func fakeAPI() *fakeapi.Server {
	srv, err := fakeapi.Start("127.0.0.1:0", fakeapi.Config{})
	if err != nil {
		panic(err)
	}
	return srv
}

// describe is one line about a record, for the examples' output.
func describe(r stages.Record) string {
	s := fmt.Sprintf("seq=%d status=%d ok=%v", r.Seq, r.Status, r.OK())
	if r.Err != nil {
		s += " error=" + string(r.Err.Kind)
	}
	return s
}

// The whole program: URLs in, one NDJSON line per input out. Each stage
// wraps the one before it; the sink runs the pipeline and returns how the
// run ended.
func Example() {
	srv := fakeAPI()
	defer srv.Close()
	input := strings.NewReader("golang\n# not an item\nrust\n\nzig\n")

	p := pipeline.New(context.Background())
	var out bytes.Buffer // os.Stdout in a real program
	err := stages.WriteNDJSON(
		stages.Decode(
			stages.Fetch(
				stages.Lines(p, input, stages.WithTemplate(srv.URL()+"/r/{}.json")),
				stages.WithConcurrency(100), stages.WithInputOrder()),
			stages.JSON),
		&out)
	fmt.Println("run error:", err)

	// What a consumer of the output sees, read with encoding/json.
	dec := json.NewDecoder(&out)
	for dec.More() {
		var rec struct {
			Seq  int64 `json:"seq"`
			OK   bool  `json:"ok"`
			Body struct {
				Data struct {
					Dist int `json:"dist"`
				} `json:"data"`
			} `json:"body"`
		}
		if err := dec.Decode(&rec); err != nil {
			panic(err)
		}
		fmt.Printf("seq=%d ok=%v posts=%d\n", rec.Seq, rec.OK, rec.Body.Data.Dist)
	}
	// Output:
	// run error: <nil>
	// seq=0 ok=true posts=5
	// seq=1 ok=true posts=5
	// seq=2 ok=true posts=5
}

// Blank lines and comments are not items and take no seq. A template turns
// each line into a URL.
func ExampleURLs() {
	p := pipeline.New(context.Background())
	reqs := stages.URLs(p, []string{"golang", " c++ ", "#go"},
		stages.WithTemplate("https://api.example.com/r/{}.json"))
	for r, err := range pipeline.All(reqs) {
		if err != nil {
			fmt.Println("run error:", err)
			return
		}
		fmt.Println(r.Seq, r.URL)
	}
	// Output:
	// 0 https://api.example.com/r/golang.json
	// 1 https://api.example.com/r/c++.json
	// 2 https://api.example.com/r/%23go.json
}

// Lines reads lazily: the first request can leave before the rest of the
// input is read. A line that is not a usable URL is still an item; Fetch
// turns it into an invalid_input record.
func ExampleLines() {
	srv := fakeAPI()
	defer srv.Close()
	input := strings.NewReader(srv.URL() + "/r/golang.json\n" +
		"# comment\n" +
		"ftp://example.com/file\n" +
		srv.URL() + "/r/rust.json?status=503\n")

	p := pipeline.New(context.Background())
	recs := stages.Fetch(stages.Lines(p, input), stages.WithInputOrder())
	for r, err := range pipeline.All(recs) {
		if err != nil {
			fmt.Println("run error:", err)
			return
		}
		fmt.Println(describe(r))
	}
	// Output:
	// seq=0 status=200 ok=true
	// seq=1 status=0 ok=false error=invalid_input
	// seq=2 status=503 ok=false error=http_status
}

// Every request yields one record. A failed item carries its Error, and the
// run goes on; records come out as they complete unless WithInputOrder.
func ExampleFetch() {
	srv := fakeAPI()
	defer srv.Close()
	p := pipeline.New(context.Background())
	reqs := stages.URLs(p, []string{
		"golang.json",
		"slow.json?latency=20ms",
		"x.json?status=404",
		"loop.json?loop=1",
		"big.json?bytes=100000",
	}, stages.WithTemplate(srv.URL()+"/r/{raw}"))
	recs := stages.Fetch(reqs,
		stages.WithConcurrency(4),
		stages.WithTimeout(10*time.Second),
		stages.WithMaxBody(64<<10),
		stages.WithInputOrder())
	for r, err := range pipeline.All(recs) {
		if err != nil {
			fmt.Println("run error:", err)
			return
		}
		fmt.Println(describe(r))
	}
	// Output:
	// seq=0 status=200 ok=true
	// seq=1 status=200 ok=true
	// seq=2 status=404 ok=false error=http_status
	// seq=3 status=0 ok=false error=redirect
	// seq=4 status=200 ok=false error=too_large
}

// Decode(JSON) validates each body and makes it one line, so that the record
// embeds it as a JSON value; a body that is not JSON fails its record with
// kind decode and is kept as text.
func ExampleDecode() {
	srv := fakeAPI()
	defer srv.Close()
	p := pipeline.New(context.Background())
	reqs := stages.URLs(p, []string{"golang.json?pretty=1", "golang.json?format=badjson", "golang.json?status=500"},
		stages.WithTemplate(srv.URL()+"/r/{raw}"))
	recs := stages.Decode(stages.Fetch(reqs, stages.WithInputOrder()), stages.JSON)
	for r, err := range pipeline.All(recs) {
		if err != nil {
			fmt.Println("run error:", err)
			return
		}
		fmt.Printf("%s format=%s one_line=%v\n", describe(r), r.Format, !bytes.ContainsAny(r.Body, "\r\n"))
	}
	// Output:
	// seq=0 status=200 ok=true format=json one_line=true
	// seq=1 status=200 ok=false error=decode format=text one_line=true
	// seq=2 status=500 ok=false error=http_status format=json one_line=true
}

// Listing is the part of the fake API's answer that the example needs;
// fields it does not name are skipped.
type Listing struct {
	Data struct {
		Children []struct {
			Data struct {
				Subreddit string `json:"subreddit"`
				Score     int    `json:"score"`
			} `json:"data"`
		} `json:"children"`
	} `json:"data"`
}

// DecodeAs gives typed values instead of JSON text. A record that failed, or
// whose body does not decode into the type, keeps the zero value and says
// why in its Err.
func ExampleDecodeAs() {
	srv := fakeAPI()
	defer srv.Close()
	p := pipeline.New(context.Background())
	reqs := stages.URLs(p, []string{"golang.json", "rust.json", "zig.json?format=html"},
		stages.WithTemplate(srv.URL()+"/r/{raw}"))
	listings := stages.DecodeAs[Listing](stages.Fetch(reqs, stages.WithInputOrder()))
	for d, err := range pipeline.All(listings) {
		if err != nil {
			fmt.Println("run error:", err)
			return
		}
		if d.Record.Err != nil {
			fmt.Printf("seq=%d error=%s\n", d.Record.Seq, d.Record.Err.Kind)
			continue
		}
		posts := d.Value.Data.Children
		fmt.Printf("seq=%d posts=%d subreddit=%s\n", d.Record.Seq, len(posts), posts[0].Data.Subreddit)
	}
	// Output:
	// seq=0 posts=5 subreddit=golang
	// seq=1 posts=5 subreddit=rust
	// seq=2 error=decode
}

// Each record is one line of JSON: its fields in a fixed order, the error
// when there is one, and a JSON body embedded as a value.
func ExampleWriteNDJSON() {
	p := pipeline.New(context.Background())
	recs := pipeline.FromSlice(p, []stages.Record{
		{
			Seq: 0, URL: "https://api.example.com/r/golang.json", Status: 200, Attempts: 1,
			Elapsed: 12300 * time.Microsecond, Bytes: 18, ContentType: "application/json",
			Body: []byte(`{"kind":"Listing"}`), Format: stages.JSON,
		},
		{
			Seq: 1, URL: "https://api.example.com/r/rust.json", Status: 503, Attempts: 1,
			Elapsed: 4 * time.Millisecond,
			Err:     &stages.Error{Kind: stages.KindHTTPStatus, Message: "server answered 503 Service Unavailable"},
		},
	})
	if err := stages.WriteNDJSON(recs, os.Stdout); err != nil {
		fmt.Println("run error:", err)
	}
	// Output:
	// {"seq":0,"url":"https://api.example.com/r/golang.json","status":200,"ok":true,"attempts":1,"elapsed_ms":12.3,"bytes":18,"content_type":"application/json","body":{"kind":"Listing"}}
	// {"seq":1,"url":"https://api.example.com/r/rust.json","status":503,"ok":false,"attempts":1,"elapsed_ms":4,"bytes":0,"error":{"kind":"http_status","message":"server answered 503 Service Unavailable"}}
}

// Specs reads one JSON request per line: method, headers, body and meta, an
// identifier of the caller's that comes back unchanged in the record.
func ExampleSpecs() {
	srv := fakeAPI()
	defer srv.Close()
	input := strings.NewReader(fmt.Sprintf(`{"url": %[1]q, "meta": {"row": 1}}
{"url": %[1]q, "method": "POST", "body": {"q": "go"}, "meta": {"row": 2}}
not a spec
{"meta": {"row": 4}}
`, srv.URL()+"/r/golang.json"))

	p := pipeline.New(context.Background())
	recs := stages.Fetch(stages.Specs(p, input), stages.WithInputOrder())
	for r, err := range pipeline.All(recs) {
		if err != nil {
			fmt.Println("run error:", err)
			return
		}
		fmt.Printf("%s meta=%s\n", describe(r), r.Meta)
	}
	// Output:
	// seq=0 status=200 ok=true meta={"row":1}
	// seq=1 status=405 ok=false error=http_status meta={"row":2}
	// seq=2 status=0 ok=false error=invalid_input meta=
	// seq=3 status=0 ok=false error=invalid_input meta={"row":4}
}

// A stage of one's own is a pipeline.Map between two of these. This one
// replaces each listing body with a short summary before the sink, so that
// the output carries only what is needed downstream. Without WithInputOrder
// records come out as they complete, in any order.
func Example_customStage() {
	srv := fakeAPI()
	defer srv.Close()
	p := pipeline.New(context.Background())
	reqs := stages.URLs(p, []string{"golang.json", "rust.json", "broken.json?status=500"},
		stages.WithTemplate(srv.URL()+"/r/{raw}"))
	recs := stages.Decode(stages.Fetch(reqs), stages.JSON)

	summarize := func(_ context.Context, r stages.Record) (stages.Record, error) {
		if !r.OK() {
			r.Body, r.Format = nil, stages.None
			return r, nil // an item's failure stays in its record
		}
		var l Listing
		if err := json.Unmarshal(r.Body, &l); err != nil {
			r.Err = &stages.Error{Kind: stages.KindDecode, Message: err.Error()}
			return r, nil
		}
		r.Body = fmt.Appendf(nil, `{"posts":%d}`, len(l.Data.Children))
		return r, nil
	}
	summaries := pipeline.Map(recs, summarize, pipeline.WithConcurrency(4))

	for r, err := range pipeline.All(summaries) {
		if err != nil {
			fmt.Println("run error:", err)
			return
		}
		fmt.Printf("%s body=%s\n", describe(r), r.Body)
	}
	// Unordered output:
	// seq=0 status=200 ok=true body={"posts":5}
	// seq=1 status=200 ok=true body={"posts":5}
	// seq=2 status=500 ok=false error=http_status body=
}

// WithRetryPolicy puts the decision to retry in a function of one's own:
// here an API that answers 404 for a moment after a write is asked again,
// up to three times, after a short wait.
func ExampleWithRetryPolicy() {
	srv := fakeAPI()
	defer srv.Close()
	p := pipeline.New(context.Background())
	reqs := stages.URLs(p, []string{srv.URL() + "/r/new.json?status=404"})
	recs := stages.Fetch(reqs, stages.WithRetryPolicy(
		func(req *stages.Request, rec *stages.Record, retryAfter time.Duration) (time.Duration, bool) {
			return 5 * time.Millisecond, rec.Status == 404 && rec.Attempts < 3
		}))
	for r, err := range pipeline.All(recs) {
		if err != nil {
			fmt.Println("run error:", err)
			return
		}
		fmt.Println(describe(r), "attempts:", r.Attempts)
	}
	// Output:
	// seq=0 status=404 ok=false error=http_status attempts: 3
}

// WithBudget lets Fetch stages share their limits: a first fetch and a
// second one for follow-up requests, with 2 per host, send each host at
// most 2 at once between them.
func ExampleWithBudget() {
	srv := fakeAPI()
	defer srv.Close()
	budget := pipeline.NewBudget(pipeline.Limits{InFlight: 8}, func(host string) pipeline.Limits {
		return pipeline.Limits{InFlight: 2}
	})
	p := pipeline.New(context.Background())
	first := stages.Fetch(stages.URLs(p, []string{"a", "b", "c"}, stages.WithTemplate(srv.URL()+"/r/{}.json")),
		stages.WithBudget(budget), stages.WithInputOrder())
	more := pipeline.Map(first, func(_ context.Context, r stages.Record) (stages.Request, error) {
		return stages.Request{Seq: r.Seq, URL: r.URL + "?page=2"}, nil
	})
	recs := stages.Fetch(more, stages.WithBudget(budget), stages.WithInputOrder())
	for r, err := range pipeline.All(recs) {
		if err != nil {
			fmt.Println("run error:", err)
			return
		}
		fmt.Println(describe(r))
	}
	fmt.Println("at most 2 at once at the server:", srv.Handler().Stats().PeakInFlight <= 2)
	// Output:
	// seq=0 status=200 ok=true
	// seq=1 status=200 ok=true
	// seq=2 status=200 ok=true
	// at most 2 at once at the server: true
}

// Follow-up requests: fetch two listings, then the comments of the first
// two posts of each, found by their permalinks, and merge both rounds into
// one stream. A follow-up's record keeps the seq of the listing it came
// from, and its follow path says which post it is.
func ExampleFollow() {
	srv := fakeAPI()
	defer srv.Close()

	p := pipeline.New(context.Background())
	listings := stages.Fetch(
		stages.URLs(p, []string{"golang", "rust"}, stages.WithTemplate(srv.URL()+"/r/{}.json")),
		stages.WithDecode(stages.JSON))
	both := pipeline.Tee(listings, 2)
	comments := stages.Fetch(stages.Follow(both[1], func(r stages.Record) []string {
		var listing struct {
			Data struct {
				Children []struct{ Data struct{ Permalink string } }
			}
		}
		json.Unmarshal(r.Body, &listing)
		var links []string
		for _, c := range listing.Data.Children[:2] {
			links = append(links, c.Data.Permalink)
		}
		return links
	}, stages.WithTemplate(srv.URL()+"{raw}.json")))

	var lines []string // sorted below: the two rounds interleave as they complete
	for r, err := range pipeline.All(pipeline.Merge(both[0], comments)) {
		if err != nil {
			panic(err)
		}
		lines = append(lines, fmt.Sprintf("%s follow=%v", describe(r), r.Follow))
	}
	slices.Sort(lines)
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// seq=0 status=200 ok=true follow=[0]
	// seq=0 status=200 ok=true follow=[1]
	// seq=0 status=200 ok=true follow=[]
	// seq=1 status=200 ok=true follow=[0]
	// seq=1 status=200 ok=true follow=[1]
	// seq=1 status=200 ok=true follow=[]
}

// Resuming a run from its own output: the items the earlier output holds
// ok are skipped, the rest (here the one that failed, and one it never
// reached) are fetched again. In a program, the output is a file opened
// for reading and then for appending after prev.Size() bytes.
func ExampleResume() {
	srv := fakeAPI()
	defer srv.Close()
	names := []string{"golang", "rust", "zig"}
	earlier := strings.Join([]string{
		fmt.Sprintf(`{"seq":0,"item":%q,"url":"%s/r/golang.json","status":200,"ok":true,"attempts":1,"elapsed_ms":3,"bytes":1900}`, stages.ItemOf("golang"), srv.URL()),
		fmt.Sprintf(`{"seq":1,"item":%q,"url":"%s/r/rust.json","status":503,"ok":false,"attempts":3,"elapsed_ms":9,"bytes":30}`, stages.ItemOf("rust"), srv.URL()),
	}, "\n") + "\n"
	prev, err := stages.ReadPrevious(strings.NewReader(earlier))
	if err != nil {
		panic(err)
	}

	p := pipeline.New(context.Background())
	reqs := stages.Resume(stages.URLs(p, names, stages.WithTemplate(srv.URL()+"/r/{}.json")), prev)
	for r, err := range pipeline.All(stages.Fetch(reqs, stages.WithInputOrder())) {
		if err != nil {
			panic(err)
		}
		fmt.Println(describe(r))
	}
	fmt.Println("skipped:", prev.Skipped())
	// Output:
	// seq=1 status=200 ok=true
	// seq=2 status=200 ok=true
	// skipped: 1
}
