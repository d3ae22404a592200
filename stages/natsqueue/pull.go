package natsqueue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sourcegraph/conc"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// A Queue is one worker's side of a work queue: the messages it has pulled
// and not yet settled. Pull makes one. Each record's message must be
// settled once the record is safe (see Settle): Publish with WithQueue
// does it once the record's publish is acknowledged; a sink of another
// kind calls Settle itself, once the record is written for good. A
// message that is never settled is given back when the run ends.
type Queue struct {
	cons   jetstream.Consumer
	stream string
	// ids begins the Nats-Msg-Id of each result: the stream and when its
	// consumer was made, which a stream of that name made again, or on
	// another server, does not share, so that its results, at the same
	// sequences, are not taken for duplicates.
	ids        string
	parser     *stages.Parser
	window     int
	maxDeliver int
	ackWait    time.Duration
	deadLetter func(DeadLetter)
	untilEmpty bool
	ack        func(jetstream.Msg) error // Msg.Ack; a test's stand-in loses acks

	mu      sync.Mutex
	held    map[int64]*held // by stream sequence, which is the request's Seq
	settled chan struct{}   // a token once a message is settled: room to pull

	pulled, redelivered, acked, naked, termed, dead, unpublished atomic.Int64
}

// held is a message pulled and not yet settled.
type held struct {
	msg        jetstream.Msg
	seq        uint64 // in the stream
	deliveries uint64
	said       time.Time // when the server last heard of it: delivery or InProgress
	item, url  string    // for a dead letter; url as made, password and all
}

// A DeadLetter is a message whose last delivery (see WithMaxDeliver) ended
// without a result: the server will not deliver it again, and it stays in
// the stream, where a person can find it by its sequence (with the nats
// command: nats stream get STREAM SEQ) and enqueue it again.
type DeadLetter struct {
	Stream     string
	Seq        uint64 // the message's sequence in Stream
	Deliveries uint64
	Item       string // its identity, as a record's item
	URL        string // the URL it makes, password masked; "" for an item that makes none
	Reason     string // why its last delivery gave no result
}

// Stats counts what a Queue has done with the messages it pulled.
type Stats struct {
	Pulled      int64 `json:"pulled"`       // deliveries pulled
	Redelivered int64 `json:"redelivered"`  // of those, deliveries after the first of their message
	Acked       int64 `json:"acked"`        // messages done: their result is safe
	Naked       int64 `json:"given_back"`   // given back, to be delivered again (a canceled fetch, a failed publish)
	Termed      int64 `json:"terminated"`   // messages that are not items: never to be delivered again
	DeadLetters int64 `json:"dead_letters"` // last deliveries that ended without a result
	Unpublished int64 `json:"unpublished"`  // results whose publish failed: their messages were given back
}

// pullWait bounds one pull request: long enough to cost the server next
// to nothing while the queue is empty, short enough that an interrupted
// worker stops pulling soon, and a pull never waits long to see room
// made meanwhile.
const pullWait = time.Second

// Pull is a source of requests from the work queue whose durable consumer
// is cons (see Open): each message is an input item, made a request by
// the parser (see WithParser), with the message's sequence in its stream
// as Seq, so that Seq is the same on every delivery of a message and
// unique in the stream.
//
// A worker holds at most WithWindow messages: it pulls only as many as it
// has room for, so that no message waits in a buffer while its ack timer
// runs, and tells the server every third of the consumer's AckWait that
// each message it holds is still in progress, so that a slow fetch keeps
// its message. The consumer's MaxAckPending caps the messages held by all
// workers together. When the run's context ends, Pull stops pulling as
// its pull request ends, within a second, giving back what that brings;
// the messages it holds go on to their records, and a canceled
// record's message is given back (see Settle). When the run ends, any
// message still held, unsettled, is given back too: a sink that forgets to
// settle (Publish without WithQueue) has every item delivered again, run
// after run, until MaxDeliver makes it a dead letter.
//
// Options: WithWindow, WithParser, WithDeadLetter, WithUntilEmpty.
func Pull(p *pipeline.Pipeline, cons jetstream.Consumer, opts ...Option) (pipeline.Stream[stages.Request], *Queue) {
	s := newSettings("Pull", pullOptions, opts)
	info := cons.CachedInfo()
	q := &Queue{
		cons:       cons,
		stream:     info.Stream,
		ids:        info.Stream + ":" + strconv.FormatInt(info.Created.UnixNano(), 36) + ":",
		parser:     s.parser,
		window:     s.window,
		maxDeliver: info.Config.MaxDeliver,
		ackWait:    info.Config.AckWait,
		deadLetter: s.deadLetter,
		untilEmpty: s.untilEmpty,
		ack:        jetstream.Msg.Ack,
		held:       make(map[int64]*held),
		settled:    make(chan struct{}, 1),
	}
	if q.parser == nil {
		q.parser = stages.LineParser()
	}
	q.ackWait = cmp.Or(q.ackWait, serverAckWait)
	stop := make(chan struct{})
	var wg conc.WaitGroup
	wg.Go(func() { q.keepAlive(stop) })
	p.Cleanup(func() {
		close(stop)
		wg.Wait()
		q.giveBackAll()
	})
	return pipeline.Generate(p, q.pull), q
}

// Stats returns what the queue has done so far. Safe to call while the
// run goes on.
func (q *Queue) Stats() Stats {
	return Stats{
		Pulled: q.pulled.Load(), Redelivered: q.redelivered.Load(), Acked: q.acked.Load(),
		Naked: q.naked.Load(), Termed: q.termed.Load(), DeadLetters: q.dead.Load(), Unpublished: q.unpublished.Load(),
	}
}

// Stream returns the name of the queue's stream.
func (q *Queue) Stream() string { return q.stream }

// pull is Pull's source: it pulls as many messages as there is room for,
// and hands each on as a request.
func (q *Queue) pull(ctx context.Context, emit func(stages.Request) bool) error {
	var failing time.Time // since when pulls fail; zero while they work
	for ctx.Err() == nil {
		var err error
		room := q.room()
		if room == 0 {
			select {
			case <-q.settled:
			case <-ctx.Done():
			}
			continue
		}
		// Not under ctx: a pull request canceled while messages are on
		// their way drops them, and they would wait out AckWait. It ends
		// on its own, soon, and what arrives after ctx ends is given back.
		var batch jetstream.MessageBatch
		if q.untilEmpty {
			// What is there now: a pull that waited for more would hold
			// the end of every run for its whole wait.
			batch, err = q.cons.FetchNoWait(room)
		} else {
			batch, err = q.cons.Fetch(room, jetstream.FetchMaxWait(pullWait))
		}
		got := 0
		if err == nil {
			got, err = q.hand(ctx, batch, emit)
		}
		if err == nil && got == 0 && q.untilEmpty {
			// Nothing came: the queue is empty, or the server answered
			// before it counted what was just published, as it may.
			if q.drained(ctx) {
				return nil
			}
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
			}
		}
		switch {
		case err == nil || ctx.Err() != nil:
			failing = time.Time{}
		case errors.Is(err, errStop):
			return nil
		case fatalPull(err):
			return fmt.Errorf("pulling from the work queue %s: %w", q.stream, err)
		default:
			// The server may be restarting or electing a leader: try
			// again, for a while.
			if failing.IsZero() {
				failing = time.Now()
			} else if time.Since(failing) > 2*q.ackWait {
				return fmt.Errorf("pulling from the work queue %s failed for %v: %w", q.stream, time.Since(failing).Round(time.Second), err)
			}
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
		}
	}
	return ctx.Err()
}

// errStop says that the run stopped taking values.
var errStop = errors.New("the run stopped")

// fatalPull reports whether a pull failed for good: no retry can help.
func fatalPull(err error) bool {
	return errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrStreamNotFound)
}

// hand hands on the messages of batch as they arrive. Once the run's
// context ends, or the run stops taking values, it gives back what
// arrives after, until the pull request ends.
func (q *Queue) hand(ctx context.Context, batch jetstream.MessageBatch, emit func(stages.Request) bool) (got int, err error) {
	stopped := false
	for msg := range batch.Messages() {
		got++
		if stopped || ctx.Err() != nil {
			q.pulled.Add(1)
			count(&q.naked, msg.Nak())
			continue
		}
		req, ok := q.take(msg)
		if ok && !emit(req) {
			stopped = true
		}
	}
	if stopped {
		return got, errStop
	}
	return got, batch.Error()
}

// drained reports whether the consumer has no message left to deliver for
// the first time: what the queue holds is all held by workers.
func (q *Queue) drained(ctx context.Context) bool {
	info, err := q.cons.Info(ctx)
	return err == nil && info.NumPending == 0
}

// room returns how many more messages the worker may hold.
func (q *Queue) room() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return max(q.window-len(q.held), 0)
}

// take holds msg and makes its request; ok is false for a delivery of a
// message already held, which the server sent again (its word that it
// was in progress did not arrive in time): the request made of its first
// delivery stands, and its settling settles this one.
func (q *Queue) take(msg jetstream.Msg) (req stages.Request, ok bool) {
	q.pulled.Add(1)
	meta, err := msg.Metadata()
	if err != nil {
		// Not a JetStream message at all: nothing to settle it by.
		count(&q.termed, msg.Term())
		return req, false
	}
	if meta.NumDelivered > 1 {
		q.redelivered.Add(1)
	}
	seq := int64(meta.Sequence.Stream)
	req = q.parser.Parse(seq, msg.Data())
	h := &held{msg: msg, seq: meta.Sequence.Stream, deliveries: meta.NumDelivered, said: time.Now(), item: req.Item, url: req.URL}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, dup := q.held[seq]; dup {
		q.held[seq] = h // its acks must answer the latest delivery
		return req, false
	}
	q.held[seq] = h
	return req, true
}

// Settle settles the message of rec, whose record is safe (published and
// acknowledged, or written and flushed): its message is acked, and the
// work queue forgets it. Two kinds of record are not results to keep:
//   - a canceled record (the run was interrupted before its fetch
//     finished) gives its message back, to be delivered again, to this
//     worker or another: it is not acked, and a sink should not keep it;
//   - an invalid_input record (the message is not an item) terminates its
//     message, which no delivery could make a request of.
//
// A follow-up's record, or one whose message the queue does not hold (it
// was settled already), settles nothing. The error is the server's, if
// the word could not be sent; the message is then delivered again after
// AckWait. Safe for concurrent use.
func (q *Queue) Settle(rec *stages.Record) error {
	if rec.Follow != nil {
		return nil
	}
	h := q.release(rec.Seq)
	if h == nil {
		return nil
	}
	switch {
	case rec.Err != nil && rec.Err.Kind == stages.KindCanceled:
		return q.giveBack(h, 0, "its fetch was canceled: the worker stopped")
	case rec.Err != nil && rec.Err.Kind == stages.KindInvalidInput:
		return count(&q.termed, h.msg.TermWithReason("invalid_input: "+rec.Err.Message))
	}
	return count(&q.acked, q.ack(h.msg))
}

// count counts a word sent to the server, if it was.
func count(n *atomic.Int64, err error) error {
	if err == nil {
		n.Add(1)
	}
	return err
}

// retry gives back the message of rec, whose result could not be made
// safe, to be delivered again after delay.
func (q *Queue) retry(rec *stages.Record, delay time.Duration, why string) error {
	if rec.Follow != nil {
		return nil
	}
	if h := q.release(rec.Seq); h != nil {
		q.unpublished.Add(1)
		return q.giveBack(h, delay, why)
	}
	return nil
}

// release stops holding the message at seq and returns it; nil when it is
// not held.
func (q *Queue) release(seq int64) *held {
	q.mu.Lock()
	h := q.held[seq]
	delete(q.held, seq)
	q.mu.Unlock()
	if h != nil {
		select {
		case q.settled <- struct{}{}:
		default: // a token is already there
		}
	}
	return h
}

// giveBack naks h's message, to be delivered again after delay; on its
// last delivery, it is a dead letter instead.
func (q *Queue) giveBack(h *held, delay time.Duration, why string) error {
	if q.maxDeliver > 0 && h.deliveries >= uint64(q.maxDeliver) {
		q.dead.Add(1)
		if q.deadLetter != nil {
			q.deadLetter(DeadLetter{Stream: q.stream, Seq: h.seq, Deliveries: h.deliveries, Item: h.item, URL: stages.Redact(h.url), Reason: why})
		}
	}
	var err error
	if delay > 0 {
		err = h.msg.NakWithDelay(delay)
	} else {
		err = h.msg.Nak()
	}
	if err == nil {
		q.naked.Add(1)
	}
	return err
}

// giveBackAll gives back every message still held when the run ends: the
// run was aborted, or a sink did not settle them.
func (q *Queue) giveBackAll() {
	q.mu.Lock()
	all := q.held
	q.held = make(map[int64]*held)
	q.mu.Unlock()
	for _, h := range all {
		q.giveBack(h, 0, "the run ended before its record was settled")
	}
}

// keepAlive tells the server, every third of AckWait, that each message
// held that long is still in progress, until stop is closed.
func (q *Queue) keepAlive(stop <-chan struct{}) {
	every := q.ackWait / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	var due []jetstream.Msg
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			due = due[:0]
			q.mu.Lock()
			for _, h := range q.held {
				if now.Sub(h.said) >= every {
					h.said = now
					due = append(due, h.msg)
				}
			}
			q.mu.Unlock()
			for _, m := range due {
				m.InProgress() // one settled meanwhile says it was acked already: no matter
			}
		}
	}
}
