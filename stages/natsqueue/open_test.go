package natsqueue_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fetchpipe/fetchpipe/internal/natstest"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
	"github.com/fetchpipe/fetchpipe/stages/natsqueue"
)

// TestOpenCreatesWhatIsAbsentAndKeepsWhatIsThere: the first Open sets up
// the queue with its options; a worker that opens it with others changes
// nothing; a stream that holds the subject already is the queue's.
func TestOpenCreatesWhatIsAbsentAndKeepsWhatIsThere(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	ctx := t.Context()
	cons, err := natsqueue.Open(ctx, js, "work.products", natsqueue.WithMaxDeliver(3), natsqueue.WithAckWait(2*time.Minute), natsqueue.WithMaxAckPending(64))
	if err != nil {
		t.Fatal(err)
	}
	info := cons.CachedInfo()
	if info.Stream != "FETCHPIPE_WORK_PRODUCTS" || info.Name != natsqueue.DefaultConsumer || info.Config.MaxDeliver != 3 ||
		info.Config.AckWait != 2*time.Minute || info.Config.MaxAckPending != 64 || info.Config.AckPolicy != jetstream.AckExplicitPolicy {
		t.Errorf("consumer %s on %s: %+v", info.Name, info.Stream, info.Config)
	}
	st, err := js.Stream(ctx, info.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if c := st.CachedInfo().Config; c.Retention != jetstream.WorkQueuePolicy || c.Storage != jetstream.FileStorage || c.Duplicates != natsqueue.DefaultDuplicates {
		t.Errorf("stream: %+v", c)
	}

	again, err := natsqueue.Open(ctx, js, "work.products", natsqueue.WithMaxDeliver(9))
	if err != nil {
		t.Fatal(err)
	}
	if got := again.CachedInfo().Config.MaxDeliver; got != 3 {
		t.Errorf("a second Open changed MaxDeliver to %d", got)
	}

	// A stream of the user's own, with a name of their choosing.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "JOBS", Subjects: []string{"jobs.>"}, Retention: jetstream.WorkQueuePolicy}); err != nil {
		t.Fatal(err)
	}
	cons, err = natsqueue.Open(ctx, js, "jobs.fetch")
	if err != nil {
		t.Fatal(err)
	}
	if got := cons.CachedInfo().Stream; got != "JOBS" {
		t.Errorf("the queue of jobs.fetch is on stream %s, want JOBS, which holds it", got)
	}
	if _, err := natsqueue.Open(ctx, js, "jobs.other", natsqueue.WithStream("MINE")); err == nil || !strings.Contains(err.Error(), "held by stream JOBS, not MINE") {
		t.Errorf("a stream named against the one that holds the subject: %v", err)
	}
	for _, subject := range []string{"", "work.*", "work.>", "a..b", "with space"} {
		if _, err := natsqueue.Open(ctx, js, subject); err == nil {
			t.Errorf("Open(%q) took a subject that cannot be a queue", subject)
		}
	}
}

// TestEnqueueAgainStoresOnce: running Enqueue again over the same list,
// as after a crash, stores nothing twice; a line that makes no message is
// refused with its reason, and the rest are enqueued.
func TestEnqueueAgainStoresOnce(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	list := "https://example.com/a\nhttps://example.com/b\n" + strings.Repeat("x", stages.MaxLine+1) + "\nhttps://example.com/c\n"
	var refused []int64
	run := func() natsqueue.Enqueued {
		t.Helper()
		got, err := natsqueue.Enqueue(stages.Lines(pipeline.New(t.Context()), strings.NewReader(list)), js, "work",
			natsqueue.WithRefused(func(seq int64, why string) {
				refused = append(refused, seq)
				if !strings.Contains(why, "longer than") {
					t.Errorf("refused %d: %s", seq, why)
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := run(); got != (natsqueue.Enqueued{Items: 3, Refused: 1, First: 1, Last: 3}) {
		t.Errorf("first run: %+v", got)
	}
	if got := run(); got != (natsqueue.Enqueued{Duplicates: 3, Refused: 1}) {
		t.Errorf("second run: %+v", got)
	}
	if len(refused) != 2 || refused[0] != 2 {
		t.Errorf("refused %v, want seq 2 twice", refused)
	}
	if n := stored(t, js, "work"); n != 3 {
		t.Errorf("the stream holds %d messages, want 3", n)
	}
}

// TestEnqueueToNoServer: a queue that cannot be set up fails Enqueue with
// the reason, before reading the list.
func TestEnqueueToNoServer(t *testing.T) {
	url := natstest.Start(t)
	nc, js := natstest.Connect(t, url)
	nc.Close()
	_, err := natsqueue.Enqueue(stages.Lines(pipeline.New(t.Context()), strings.NewReader("https://example.com/\n")), js, "work")
	if err == nil || !strings.Contains(err.Error(), "work") {
		t.Errorf("error %v", err)
	}
}

// TestSpecsFromAQueue: with a spec parser, each message is a request spec,
// its id the record's item.
func TestSpecsFromAQueue(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	a := newAPI(t, 0)
	in := `{"url":"` + a.URL + `/item/0","method":"POST","body":{"q":1},"id":"first"}` + "\n" + `{"url":` + "\n"
	if _, err := natsqueue.Enqueue(stages.Lines(pipeline.New(t.Context()), strings.NewReader(in)), js, "work"); err != nil {
		t.Fatal(err)
	}
	w := startWorker(t, url, "work", "results", 2, natsqueue.WithParser(stages.SpecParser()))
	waitFor(t, 30*time.Second, "2 results", func() bool { return stored(t, js, "results") == 2 })
	w.stop(t)
	recs := lastResults(t, js, "results")
	if r := recs[1]; !r.OK {
		t.Errorf("the spec's record: %+v", r)
	}
	if r := recs[2]; r.Error == nil || r.Error.Kind != "invalid_input" {
		t.Errorf("the broken spec's record: %+v", r)
	}
}

// TestOpenRefusesAStreamThatIsNotAQueue: a results stream, or any that
// keeps its messages, taken for a queue would never empty, and would feed
// records back in as work.
func TestOpenRefusesAStreamThatIsNotAQueue(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	if _, err := natsqueue.OpenResults(t.Context(), js, "results"); err != nil {
		t.Fatal(err)
	}
	_, err := natsqueue.Open(t.Context(), js, "results")
	if err == nil || !strings.Contains(err.Error(), "is held by stream FETCHPIPE_RESULTS, which is not a work queue") {
		t.Errorf("error %v", err)
	}
}
