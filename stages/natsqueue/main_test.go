package natsqueue_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/segmentio/encoding/json"
	"go.uber.org/goleak"

	"github.com/fetchpipe/fetchpipe/internal/natstest"
	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
	"github.com/fetchpipe/fetchpipe/stages/natsqueue"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// api is an HTTP API that counts the requests for each path, and answers
// after delay.
type api struct {
	*httptest.Server
	delay atomic.Int64 // nanoseconds
	mu    sync.Mutex
	hits  map[string]int
	total atomic.Int64
}

func newAPI(t *testing.T, delay time.Duration) *api {
	a := &api{hits: make(map[string]int)}
	a.delay.Store(int64(delay))
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.hits[r.URL.Path]++
		a.mu.Unlock()
		a.total.Add(1)
		select {
		case <-time.After(time.Duration(a.delay.Load())):
		case <-r.Context().Done():
			return
		}
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	t.Cleanup(a.Close)
	return a
}

// hitsOf returns how many requests each of the n items /item/0.. saw.
func (a *api) hitsOf(n int) []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]int, n)
	for i := range out {
		out[i] = a.hits[fmt.Sprintf("/item/%d", i)]
	}
	return out
}

// enqueue loads n items, the URLs of /item/0.. on a, into the queue on
// subject.
func enqueue(t *testing.T, js jetstream.JetStream, a *api, subject string, n int, opts ...natsqueue.Option) natsqueue.Enqueued {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%s/item/%d\n", a.URL, i)
	}
	done, err := natsqueue.Enqueue(stages.Lines(pipeline.New(t.Context()), strings.NewReader(b.String())), js, subject, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return done
}

// worker is one worker of a queue, running in the test process with its
// own connection, as a process of its own would.
type worker struct {
	nc     *nats.Conn
	q      *natsqueue.Queue
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startWorker starts a worker of the queue on subject that publishes its
// results to results, c requests at a time.
func startWorker(t *testing.T, url, subject, results string, c int, pull ...natsqueue.Option) *worker {
	t.Helper()
	nc, js := natstest.Connect(t, url)
	cons, err := natsqueue.Open(t.Context(), js, subject)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := natsqueue.OpenResults(t.Context(), js, results); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	p := pipeline.New(ctx)
	reqs, q := natsqueue.Pull(p, cons, append([]natsqueue.Option{natsqueue.WithWindow(2 * c)}, pull...)...)
	recs := stages.Fetch(reqs, stages.WithConcurrency(c), stages.WithRetries(0), stages.WithGrace(time.Second))
	w := &worker{nc: nc, q: q, cancel: cancel, done: make(chan error, 1)}
	go func() { w.done <- natsqueue.Publish(recs, js, results, natsqueue.WithQueue(q)) }()
	t.Cleanup(func() { w.stop(t) })
	return w
}

// kill ends the worker as a kill -9 would: its connection drops, and
// nothing it holds is acked or given back.
func (w *worker) kill(t *testing.T) {
	t.Helper()
	w.once.Do(func() {
		w.nc.Close()
		select {
		case <-w.done: // an error: the connection is closed
		case <-time.After(30 * time.Second):
			t.Fatal("the killed worker did not end in 30 s")
		}
		w.cancel()
	})
}

// stop interrupts the worker, as a signal would, and waits for it; once.
func (w *worker) stop(t *testing.T) {
	t.Helper()
	w.once.Do(func() {
		w.cancel()
		select {
		case err := <-w.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("worker: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the worker did not stop in 30 s")
		}
	})
}

// results reads the records on subject, and how many messages hold them.
func results(t *testing.T, js jetstream.JetStream, subject string) (recs map[int64]int, msgs int) {
	t.Helper()
	st, err := js.Stream(t.Context(), natsqueue.StreamName(subject))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	recs = make(map[int64]int)
	if info.State.Msgs == 0 {
		return recs, 0
	}
	cons, err := st.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for range info.State.Msgs {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal(m.Data(), &r); err != nil {
			t.Fatalf("a result is not a record: %v\n%s", err, m.Data())
		}
		recs[r.Seq]++
	}
	return recs, int(info.State.Msgs)
}

// waitFor polls cond until it holds, or fails the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not in %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stored returns how many messages the stream of subject holds.
func stored(t *testing.T, js jetstream.JetStream, subject string) int {
	t.Helper()
	st, err := js.Stream(t.Context(), natsqueue.StreamName(subject))
	if err != nil {
		return 0
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Msgs)
}

// newBodyAPI is an API whose /big answers a JSON string of size bytes,
// and anything else a small object.
func newBodyAPI(t *testing.T, size int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			fmt.Fprintf(w, "%q", strings.Repeat("x", size))
			return
		}
		fmt.Fprint(w, `{"small":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}
