package natsqueue_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/segmentio/encoding/json"

	"github.com/fetchpipe/fetchpipe/internal/natstest"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
	"github.com/fetchpipe/fetchpipe/stages/natsqueue"
)

// record is what a test reads of a published result.
type record struct {
	Seq   int64           `json:"seq"`
	OK    bool            `json:"ok"`
	Body  json.RawMessage `json:"body"`
	Error *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

// lastResults reads every record on subject, by seq.
func lastResults(t *testing.T, js jetstream.JetStream, subject string) map[int64]record {
	t.Helper()
	cons, err := js.OrderedConsumer(t.Context(), natsqueue.StreamName(subject), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[int64]record)
	for range stored(t, js, subject) {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var r record
		if err := json.Unmarshal(m.Data(), &r); err != nil {
			t.Fatal(err)
		}
		out[r.Seq] = r
	}
	return out
}

// TestItemsThatAreNotRequests: a message that makes no request gets its
// invalid_input result, and is terminated: never delivered again, and
// gone from the queue.
func TestItemsThatAreNotRequests(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	a := newAPI(t, 0)
	in := a.URL + "/item/0\nnot a URL at all\nftp://example.com/x\n"
	if _, err := natsqueue.Enqueue(stages.Lines(pipeline.New(t.Context()), strings.NewReader(in)), js, "work"); err != nil {
		t.Fatal(err)
	}
	w := startWorker(t, url, "work", "results", 4)
	waitFor(t, 30*time.Second, "3 results", func() bool { return stored(t, js, "results") == 3 })
	w.stop(t)
	recs := lastResults(t, js, "results")
	for seq, want := range map[int64]string{1: "", 2: "invalid_input", 3: "invalid_input"} {
		r, ok := recs[seq]
		switch {
		case !ok:
			t.Errorf("no result for stream seq %d", seq)
		case want == "" && !r.OK, want != "" && (r.Error == nil || r.Error.Kind != want):
			t.Errorf("stream seq %d: %+v, want kind %q", seq, r, want)
		}
	}
	if s := w.q.Stats(); s.Termed != 2 || s.Acked != 1 {
		t.Errorf("%+v, want 2 terminated and 1 acked", s)
	}
	if left := stored(t, js, "work"); left != 0 {
		t.Errorf("%d messages left in the work queue", left)
	}
}

// TestResultOverMaxPayload: a record that a message cannot hold is
// published without its body, as too_large, saying why.
func TestResultOverMaxPayload(t *testing.T) {
	url := natstest.Start(t, func(o *server.Options) { o.MaxPayload = 4096 })
	_, js := natstest.Connect(t, url)
	big := newBodyAPI(t, 6000)
	in := big.URL + "/big\n" + big.URL + "/small\n"
	if _, err := natsqueue.Enqueue(stages.Lines(pipeline.New(t.Context()), strings.NewReader(in)), js, "work"); err != nil {
		t.Fatal(err)
	}
	w := startWorker(t, url, "work", "results", 2)
	waitFor(t, 30*time.Second, "2 results", func() bool { return stored(t, js, "results") == 2 })
	w.stop(t)
	recs := lastResults(t, js, "results")
	if r := recs[1]; r.Error == nil || r.Error.Kind != "too_large" || !strings.Contains(r.Error.Message, "max payload of 4096") || r.Body != nil {
		t.Errorf("the large record: %+v", r)
	}
	if r := recs[2]; !r.OK || r.Body == nil {
		t.Errorf("the small record: %+v", r)
	}
}

// TestLastDeliveryIsADeadLetter: a message whose last delivery is
// canceled is reported, once, and stays in the stream.
func TestLastDeliveryIsADeadLetter(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	a := newAPI(t, 10*time.Second)
	if _, err := natsqueue.Open(t.Context(), js, "work", natsqueue.WithMaxDeliver(1)); err != nil {
		t.Fatal(err)
	}
	enqueue(t, js, a, "work", 3)
	var (
		mu   sync.Mutex
		dead []natsqueue.DeadLetter
	)
	w := startWorker(t, url, "work", "results", 4, natsqueue.WithDeadLetter(func(d natsqueue.DeadLetter) {
		mu.Lock()
		dead = append(dead, d)
		mu.Unlock()
	}))
	waitFor(t, 10*time.Second, "3 requests", func() bool { return a.total.Load() == 3 })
	w.stop(t)
	if len(dead) != 3 {
		t.Fatalf("dead letters %+v, want 3", dead)
	}
	for _, d := range dead {
		if d.Stream != "FETCHPIPE_WORK" || d.Seq < 1 || d.Seq > 3 || d.Deliveries != 1 || !strings.Contains(d.Reason, "canceled") || !strings.HasPrefix(d.URL, a.URL) {
			t.Errorf("dead letter %+v", d)
		}
	}
	if left := stored(t, js, "work"); left != 3 {
		t.Errorf("%d messages left in the stream, want the 3 dead letters", left)
	}
}

// TestWorkerHoldsNoMoreThanItsWindow: a worker pulls only what it has
// room for, so no message waits in a buffer while its ack timer runs.
func TestWorkerHoldsNoMoreThanItsWindow(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	a := newAPI(t, 30*time.Millisecond)
	enqueue(t, js, a, "work", 100)
	w := startWorker(t, url, "work", "results", 2, natsqueue.WithWindow(5))
	cons, err := js.Consumer(t.Context(), "FETCHPIPE_WORK", natsqueue.DefaultConsumer)
	if err != nil {
		t.Fatal(err)
	}
	most := 0
	for stored(t, js, "results") < 100 {
		info, err := cons.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		most = max(most, info.NumAckPending)
		time.Sleep(5 * time.Millisecond)
	}
	w.stop(t)
	// The server counts a message pending until an ack reaches it, and a
	// worker makes room as it sends one: one or two acks may be on their
	// way when the next pull arrives.
	if most > 5+2 || most < 2 {
		t.Errorf("the worker held up to %d messages, want at most its window of 5 (and acks on their way)", most)
	}
}

// TestAQueueMadeAgainKeepsItsResults: the results of a queue deleted and
// made again, whose messages have the sequences of the first's, are not
// taken for duplicates of the first's.
func TestAQueueMadeAgainKeepsItsResults(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	a := newAPI(t, 0)
	for round := range 2 {
		enqueue(t, js, a, "work", 3)
		w := startWorker(t, url, "work", "results", 2, natsqueue.WithUntilEmpty())
		if err := <-w.done; err != nil {
			t.Fatal(err)
		}
		w.once.Do(func() {})
		if round == 0 {
			if err := js.DeleteStream(t.Context(), "FETCHPIPE_WORK"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := stored(t, js, "results"); n != 6 {
		t.Errorf("the results stream holds %d records of two queues of 3 items, want 6", n)
	}
}

// TestResultsRefusedEndTheRun: a results stream that refuses what it is
// sent (full) fails the run, rather than let it end well with results
// lost, and the message whose result was refused is given back.
func TestResultsRefusedEndTheRun(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	a := newAPI(t, 0)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "FETCHPIPE_RESULTS", Subjects: []string{"results"}, MaxMsgs: 2, Discard: jetstream.DiscardNew}); err != nil {
		t.Fatal(err)
	}
	enqueue(t, js, a, "work", 10)
	w := startWorker(t, url, "work", "results", 1, natsqueue.WithUntilEmpty())
	err := <-w.done
	w.once.Do(func() {})
	if err == nil || !strings.Contains(err.Error(), "the server refused the record") {
		t.Fatalf("error %v", err)
	}
	if s := w.q.Stats(); s.Acked != 2 || s.Unpublished < 1 {
		t.Errorf("%+v, want 2 acked and the refused one given back", s)
	}
}

// TestHugeItemStillGetsItsResult: a message that is not a URL and almost
// as large as a message may be makes a record larger still (its URL and
// its error quote it): it is published cut down, not given back until it
// is a dead letter.
func TestHugeItemStillGetsItsResult(t *testing.T) {
	url := natstest.Start(t, func(o *server.Options) { o.MaxPayload = 8192 })
	_, js := natstest.Connect(t, url)
	in := strings.Repeat("x", 7000) + "\n"
	if _, err := natsqueue.Enqueue(stages.Lines(pipeline.New(t.Context()), strings.NewReader(in)), js, "work"); err != nil {
		t.Fatal(err)
	}
	w := startWorker(t, url, "work", "results", 1, natsqueue.WithUntilEmpty())
	if err := <-w.done; err != nil {
		t.Fatal(err)
	}
	w.once.Do(func() {})
	recs := lastResults(t, js, "results")
	r, ok := recs[1]
	if !ok || r.Error == nil || r.Error.Kind != "too_large" || !strings.Contains(r.Error.Message, "invalid_input") || !strings.Contains(r.Error.Message, "cut to 1024 bytes") {
		t.Errorf("the huge item's record: %+v", r)
	}
	if left := stored(t, js, "work"); left != 0 {
		t.Errorf("%d messages left in the queue", left)
	}
}
