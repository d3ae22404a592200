package natsqueue_test

import (
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/natstest"
	"github.com/fetchpipe/fetchpipe/stages/natsqueue"
)

// TestTwoWorkersShareOneQueue: two workers on one queue, nothing failing:
// every item is fetched once and has one result, and the queue ends empty.
func TestTwoWorkersShareOneQueue(t *testing.T) {
	const n = 600
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	a := newAPI(t, 2*time.Millisecond)
	if got := enqueue(t, js, a, "work", n); got.Items != n {
		t.Fatalf("enqueued %+v, want %d items", got, n)
	}
	w1 := startWorker(t, url, "work", "results", 8)
	w2 := startWorker(t, url, "work", "results", 8)
	waitFor(t, 60*time.Second, "600 results", func() bool { return stored(t, js, "results") == n })
	w1.stop(t)
	w2.stop(t)

	recs, msgs := results(t, js, "results")
	if msgs != n || len(recs) != n {
		t.Errorf("%d results for %d items, want %d", msgs, len(recs), n)
	}
	for i, h := range a.hitsOf(n) {
		if h != 1 {
			t.Errorf("item %d was fetched %d times", i, h)
		}
	}
	s1, s2 := w1.q.Stats(), w2.q.Stats()
	t.Logf("worker 1: %+v; worker 2: %+v", s1, s2)
	if s1.Acked+s2.Acked != n || s1.Redelivered+s2.Redelivered != 0 {
		t.Errorf("acked %d, redelivered %d; want %d and 0", s1.Acked+s2.Acked, s1.Redelivered+s2.Redelivered, n)
	}
	if s1.Acked == 0 || s2.Acked == 0 {
		t.Errorf("one worker did all the work: %d and %d", s1.Acked, s2.Acked)
	}
	if left := stored(t, js, "work"); left != 0 {
		t.Errorf("%d messages left in the work queue", left)
	}
}

// TestKilledWorkerLosesNothing: a worker killed mid-run, holding messages
// it never acked, loses none of them: they are delivered again once
// AckWait has passed, and every item ends with one stored result.
func TestKilledWorkerLosesNothing(t *testing.T) {
	const n = 300
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	a := newAPI(t, 5*time.Millisecond)
	if _, err := natsqueue.Open(t.Context(), js, "work", natsqueue.WithAckWait(time.Second)); err != nil {
		t.Fatal(err)
	}
	enqueue(t, js, a, "work", n)
	w1 := startWorker(t, url, "work", "results", 8)
	waitFor(t, 30*time.Second, "50 results", func() bool { return stored(t, js, "results") >= 50 })
	w1.kill(t)
	w2 := startWorker(t, url, "work", "results", 8)
	waitFor(t, 60*time.Second, "every result", func() bool { recs, _ := results(t, js, "results"); return len(recs) == n })
	w2.stop(t)

	recs, msgs := results(t, js, "results")
	for seq, k := range recs {
		if k != 1 {
			t.Errorf("item at stream seq %d has %d results stored", seq, k)
		}
	}
	s1, s2 := w1.q.Stats(), w2.q.Stats()
	t.Logf("%d results; killed worker: %+v; second worker: %+v; fetches %d", msgs, s1, s2, a.total.Load())
	if s2.Redelivered == 0 {
		t.Errorf("the second worker had no redelivery of what the killed one held")
	}
	if left := stored(t, js, "work"); left != 0 {
		t.Errorf("%d messages left in the work queue", left)
	}
}

// TestInterruptedWorkerLeavesNothingUnfetched: a worker interrupted
// mid-run finishes what it can within its grace, gives back what was
// canceled, and another worker fetches it at once, with no wait for
// AckWait.
func TestInterruptedWorkerLeavesNothingUnfetched(t *testing.T) {
	const n = 200
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	a := newAPI(t, 50*time.Millisecond)
	enqueue(t, js, a, "work", n)
	w1 := startWorker(t, url, "work", "results", 10)
	waitFor(t, 30*time.Second, "20 results", func() bool { return stored(t, js, "results") >= 20 })
	a.delay.Store(int64(3 * time.Second)) // what is in flight now outlasts the grace
	w1.stop(t)
	a.delay.Store(int64(5 * time.Millisecond))
	s1 := w1.q.Stats()
	if s1.Naked == 0 {
		t.Errorf("the interrupted worker gave nothing back: %+v", s1)
	}
	start := time.Now()
	w2 := startWorker(t, url, "work", "results", 10)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("interrupted: %+v; second: %+v; stored %d", s1, w2.q.Stats(), stored(t, js, "results"))
		}
	})
	waitFor(t, 30*time.Second, "every result", func() bool { return stored(t, js, "results") == n })
	w2.stop(t)
	if d := time.Since(start); d > natsqueue.DefaultAckWait/2 {
		t.Errorf("the second worker took %v: what was given back waited for AckWait", d)
	}
	recs, _ := results(t, js, "results")
	if len(recs) != n {
		t.Errorf("results for %d of %d items", len(recs), n)
	}
	t.Logf("interrupted: %+v; second: %+v", s1, w2.q.Stats())
}

// TestRedeliveryStoresNoDuplicate: when a worker's acks are lost, every
// message is delivered again and fetched again, and the results stream
// still holds one result per item: each is published with the id of its
// input message.
func TestRedeliveryStoresNoDuplicate(t *testing.T) {
	const n = 100
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	a := newAPI(t, time.Millisecond)
	if _, err := natsqueue.Open(t.Context(), js, "work", natsqueue.WithAckWait(time.Second)); err != nil {
		t.Fatal(err)
	}
	enqueue(t, js, a, "work", n)
	w1 := startWorker(t, url, "work", "results", 8)
	natsqueue.LoseAcks(w1.q)
	waitFor(t, 30*time.Second, "every result", func() bool { return stored(t, js, "results") == n })
	w1.stop(t) // gives back nothing: it thinks it acked everything
	w2 := startWorker(t, url, "work", "results", 8)
	waitFor(t, 30*time.Second, "every redelivery", func() bool { return w2.q.Stats().Acked == n })
	w2.stop(t)
	if got := a.total.Load(); got != 2*n {
		t.Errorf("%d fetches, want %d: each item twice", got, 2*n)
	}
	if s := w2.q.Stats(); s.Redelivered != n {
		t.Errorf("second worker: %+v, want %d redeliveries", s, n)
	}
	recs, msgs := results(t, js, "results")
	if msgs != n || len(recs) != n {
		t.Errorf("%d results stored for %d items, want one each", msgs, len(recs))
	}
}

// TestLongFetchKeepsItsMessage: a fetch that takes longer than AckWait
// keeps its message, as the worker says it is in progress: it is fetched
// once, not delivered again meanwhile.
func TestLongFetchKeepsItsMessage(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	a := newAPI(t, 2500*time.Millisecond)
	if _, err := natsqueue.Open(t.Context(), js, "work", natsqueue.WithAckWait(time.Second)); err != nil {
		t.Fatal(err)
	}
	enqueue(t, js, a, "work", 3)
	w := startWorker(t, url, "work", "results", 4)
	waitFor(t, 30*time.Second, "3 results", func() bool { return stored(t, js, "results") == 3 })
	w.stop(t)
	if s := w.q.Stats(); s.Redelivered != 0 || s.Pulled != 3 || a.total.Load() != 3 {
		t.Errorf("%+v, %d fetches: a message was delivered again while its fetch went on", s, a.total.Load())
	}
}

// TestUntilEmptyEndsTheSource: with WithUntilEmpty, a worker's run ends
// by itself once it has fetched everything, as a run over a list does.
func TestUntilEmptyEndsTheSource(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	a := newAPI(t, time.Millisecond)
	enqueue(t, js, a, "work", 50)
	w := startWorker(t, url, "work", "results", 4, natsqueue.WithUntilEmpty())
	select {
	case err := <-w.done:
		if err != nil {
			t.Fatal(err)
		}
		w.once.Do(func() {}) // ended: nothing to stop
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not end once the queue was empty")
	}
	if n := stored(t, js, "results"); n != 50 {
		t.Errorf("%d results, want 50", n)
	}
}
