package stages_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// listingBody is what the fake API answers for path, without a network.
func listingBody(tb testing.TB, path string) []byte {
	tb.Helper()
	rec := httptest.NewRecorder()
	fakeapi.NewHandler(fakeapi.Config{}).ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	if rec.Code != 200 {
		tb.Fatalf("GET %s: %d", path, rec.Code)
	}
	return rec.Body.Bytes()
}

// BenchmarkRecordAppendJSON encodes a typical record, a ~2 KB JSON body
// included, into a reused buffer, as WriteNDJSON does. It must not
// allocate.
func BenchmarkRecordAppendJSON(b *testing.B) {
	body := listingBody(b, "/r/golang.json")
	rec := stages.Record{
		Seq: 123456, URL: "https://api.example.com/r/golang.json", Status: 200, Attempts: 1,
		Elapsed: 12345 * time.Microsecond, Bytes: int64(len(body)), ContentType: "application/json",
		Body: body, Format: stages.JSON,
	}
	failed := stages.Record{
		Seq: 123457, URL: "https://api.example.com/r/rust.json", Status: 503, Attempts: 1,
		Elapsed: 1500 * time.Microsecond, Bytes: 33, ContentType: "application/json",
		Err:  &stages.Error{Kind: stages.KindHTTPStatus, Message: "server answered 503 Service Unavailable"},
		Body: []byte(`{"error":"service unavailable"}`), Format: stages.Text,
	}
	for _, tc := range []struct {
		name string
		rec  *stages.Record
	}{{"ok 2KB json body", &rec}, {"failed, text body", &failed}} {
		b.Run(tc.name, func(b *testing.B) {
			buf := tc.rec.AppendJSON(nil)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = tc.rec.AppendJSON(buf[:0])
			}
		})
	}
}

// BenchmarkFetchDecodeNDJSON runs the whole pipeline, Lines → Fetch →
// Decode(JSON) → WriteNDJSON, against the fake API on loopback with no
// latency, writing to io.Discard. An op is one request; the server's own
// work, in the same process, is included.
func BenchmarkFetchDecodeNDJSON(b *testing.B) {
	for _, concurrency := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", concurrency), func(b *testing.B) {
			srv, err := fakeapi.Start("127.0.0.1:0", fakeapi.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			var input strings.Builder
			for i := range b.N {
				fmt.Fprintf(&input, "n%d\n", i%1000)
			}
			b.ReportAllocs()
			b.ResetTimer()
			p := pipeline.New(b.Context())
			recs := stages.Decode(stages.Fetch(
				stages.Lines(p, strings.NewReader(input.String()), stages.WithTemplate(srv.URL()+"/r/{}.json")),
				stages.WithConcurrency(concurrency)), stages.JSON)
			if err := stages.WriteNDJSON(recs, io.Discard); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if got := srv.Handler().Stats().ByStatus[200]; got != int64(b.N) {
				b.Fatalf("%d successful requests, want %d", got, b.N)
			}
		})
	}
}

// BenchmarkFetchLimits measures what the scheduler costs when nothing makes
// a request wait: the plain path (no retries, no limits) against the
// scheduler with retries on, and with every limit on but none binding. An
// op is one request to the fake API on loopback, in the same process.
func BenchmarkFetchLimits(b *testing.B) {
	const c = 64
	cases := []struct {
		name string
		opts []stages.Option
	}{
		{"limits off", []stages.Option{stages.WithRetries(0)}},
		{"retries on", nil},
		{"limits on, none binding", []stages.Option{stages.WithPerHost(c), stages.WithRate(1_000_000, time.Second),
			stages.WithHostRate(1_000_000, time.Second), stages.WithBurst(c)}},
	}
	srv, err := fakeapi.Start("127.0.0.1:0", fakeapi.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			urls := make([]string, b.N)
			for i := range urls {
				urls[i] = fmt.Sprintf("%s/r/n%d.json", srv.URL(), i%1000)
			}
			b.ReportAllocs()
			b.ResetTimer()
			p := pipeline.New(b.Context())
			recs := stages.Fetch(stages.URLs(p, urls), append(tc.opts, stages.WithConcurrency(c))...)
			if err := stages.WriteNDJSON(recs, io.Discard); err != nil {
				b.Fatal(err)
			}
		})
	}
}
