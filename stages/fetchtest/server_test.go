package fetchtest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
	"github.com/fetchpipe/fetchpipe/stages/fetchtest"
)

// fetch runs names through the server's listings and returns the records.
func fetch(t *testing.T, srv *fetchtest.Server, path string, names []string, opts ...stages.Option) []stages.Record {
	t.Helper()
	p := pipeline.New(t.Context())
	var recs []stages.Record
	for rec, err := range pipeline.All(stages.Fetch(stages.URLs(p, names, stages.WithTemplate(srv.URL+path)), opts...)) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// TestServerServesWhatATestNeeds: a second host, listings and their
// comments, misbehaviour on request, and counts a test can check a limit
// with, reset between cases.
func TestServerServesWhatATestNeeds(t *testing.T) {
	srv := fetchtest.NewServer(fetchtest.WithAddr("127.0.0.2:0"), fetchtest.WithLatency(5*time.Millisecond, 10*time.Millisecond), fetchtest.WithPosts(2))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.2:") {
		t.Errorf("URL %s, want one on 127.0.0.2", srv.URL)
	}
	names := strings.Fields("a b c d e f g h i j k l")

	t.Run("a limit on requests at once", func(t *testing.T) {
		srv.Reset()
		for _, r := range fetch(t, srv, "/r/{}.json", names, stages.WithConcurrency(3), stages.WithDecode(stages.JSON)) {
			if !r.OK() || !strings.Contains(string(r.Body), `"dist":2`) {
				t.Errorf("record %d: %v, body %.80s", r.Seq, r.Err, r.Body)
			}
		}
		st := srv.Stats()
		if st.Requests != int64(len(names)) || st.ByStatus[200] != int64(len(names)) || st.PeakInFlight > 3 || st.InFlight != 0 {
			t.Errorf("stats %+v, want %d requests answered 200, at most 3 at once", st, len(names))
		}
	})
	t.Run("failures on request", func(t *testing.T) {
		srv.Reset()
		recs := fetch(t, srv, "/r/{}.json?status=404", names[:2])
		for _, r := range recs {
			if r.Status != 404 || r.Err == nil || r.Err.Kind != stages.KindHTTPStatus {
				t.Errorf("record %d: status %d, error %v; want a 404", r.Seq, r.Status, r.Err)
			}
		}
		if st := srv.Stats(); st.Requests != 2 || st.ByStatus[404] != 2 {
			t.Errorf("stats %+v after a reset, want only the two 404s", st)
		}
	})
	t.Run("comments", func(t *testing.T) {
		for _, r := range fetch(t, srv, "/r/golang/comments/{}.json", []string{"abcdefg"}) {
			if !r.OK() || !strings.Contains(string(r.Body), `"link_id":"t3_abcdefg"`) {
				t.Errorf("comments: %v, body %.120s", r.Err, r.Body)
			}
		}
	})
}

func TestNewServerPanicsWhenItCannotListen(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "fetchtest:") {
			t.Errorf("panic %v, want one from fetchtest", r)
		}
	}()
	fetchtest.NewServer(fetchtest.WithAddr("192.0.2.1:0")) // TEST-NET-1: not an address of this machine
}
