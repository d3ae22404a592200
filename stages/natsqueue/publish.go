package natsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// Publish is the sink that publishes each record to subject, a subject of
// a stream (see OpenResults), as one message: the record's JSON, as a line
// of WriteNDJSON's output without its line break (Record.UnmarshalJSON
// reads it back). Publishes go out without waiting, and each is settled
// once the server acknowledges it, so many are in flight at once. Publish
// returns when every record has been published and acknowledged, with
// the run's result as pipeline.Wait gives it: nil when the source ran dry,
// the context's cause when it was canceled (a worker stopped), or the
// fatal error.
//
// Each message's Nats-Msg-Id header names its record, so that a stream
// keeps one message per id within its duplicates window: with WithQueue,
// the input message's stream, sequence and when the queue's consumer was
// made (and a follow-up's path), the same on every delivery, so a result
// published again after a redelivery is stored once, while a queue made
// again, or one of the same name on another server, gets ids of its own;
// without, the record's seq in this run.
//
// With WithQueue, the input message of each record is settled (see
// Queue.Settle) once its publish is acknowledged: at-least-once from the
// queue to the results, as a worker that dies before the acknowledgement
// leaves its message to be delivered again. A canceled record is not
// published: its message is given back. A publish that fails (no answer,
// a server away) gives its message back, to be delivered again in 5 s,
// and counts as Unpublished in the queue's Stats. A publish the server
// refuses (the stream is full, say) is a fatal error, as a failed write
// of an output is, and so is any failed publish without WithQueue. Once
// the run's context is canceled, Publish waits at most 5 s for an
// acknowledgement: what is not acknowledged by then is given back.
//
// A record larger than the server's max payload (1 MiB by default) is
// published without its body, as a too_large record whose message says
// so; one still too large (a huge URL or meta) has those cut to 1 KiB.
//
// Options: WithQueue, WithFields, WithEach.
func Publish(recs pipeline.Stream[stages.Record], js jetstream.JetStream, subject string, opts ...Option) error {
	s := newSettings("Publish", optQueue|optFields|optEach, opts)
	pub := &publisher{js: js, subject: subject, q: s.queue, fields: s.fields, each: s.each, maxPayload: int(js.Conn().MaxPayload()),
		run: recs.Pipeline().Context()}
	if pub.q != nil {
		pub.ids = pub.q.ids
	} else {
		pub.ids = strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	}
	pub.acked = pub.settle
	return pipeline.ForEach(recs, pub.publish, pipeline.WithIdle(pub.settleAll))
}

// publisher is Publish's state, used from the sink's one goroutine.
type publisher struct {
	js         jetstream.JetStream
	subject    string
	q          *Queue
	fields     stages.Fields
	each       func(*stages.Record)
	maxPayload int

	// acked is called with each publish's outcome, oldest first: the
	// server's acknowledgement, or the error that stands for it.
	acked func(rec *stages.Record, ack *jetstream.PubAck, err error) error

	ctx     context.Context // the run's stage context: done when it is aborted
	run     context.Context // the run's context: done when it is canceled, as by an interrupt
	pending []pending       // published, waiting for their acknowledgement, oldest first
	ids     string          // what every message id begins with
	id      []byte
	// gaveUp is set once an acknowledgement did not come in time after
	// the run was canceled: the server is gone, and the rest of the
	// publishes in flight are not waited for.
	gaveUp bool
}

// pending is a record published and not yet acknowledged.
type pending struct {
	rec *stages.Record // without its body, which the message holds
	ack jetstream.PubAckFuture
}

const (
	// maxPending bounds the publishes in flight, far below the client's
	// own bound (4,000), at which a publish would stall.
	maxPending = 1024
	// ackTimeout bounds the wait for one acknowledgement.
	ackTimeout = 30 * time.Second
	// retryDelay is how long a message whose result failed to publish
	// waits before it is delivered again.
	retryDelay = 5 * time.Second
	// stopWait bounds the wait for acknowledgements once the run is
	// canceled: they come in milliseconds from a server that is there.
	stopWait = 5 * time.Second
)

func (pb *publisher) publish(ctx context.Context, rec stages.Record) error {
	pb.ctx = ctx
	if pb.each != nil {
		pb.each(&rec)
	}
	if pb.q != nil && rec.Err != nil && rec.Err.Kind == stages.KindCanceled {
		pb.q.Settle(&rec) // given back, not published
		return nil
	}
	msg := &nats.Msg{Subject: pb.subject, Header: nats.Header{}, Data: pb.encode(&rec, nil)}
	msg.Header.Set(jetstream.MsgIDHeader, pb.msgID(&rec))
	// The header's own lines, and a margin.
	room := pb.maxPayload - len(jetstream.MsgIDHeader) - len(msg.Header.Get(jetstream.MsgIDHeader)) - 64
	if len(msg.Data) > room {
		msg.Data = pb.cut(&rec, len(msg.Data), room)
	}
	rec.Body = nil
	return pb.send(msg, &rec)
}

// send publishes msg, the message of rec, and settles what is
// acknowledged already.
func (pb *publisher) send(msg *nats.Msg, rec *stages.Record) error {
	ack, err := pb.js.PublishMsgAsync(msg)
	if err != nil {
		return pb.acked(rec, nil, err)
	}
	pb.pending = append(pb.pending, pending{rec: rec, ack: ack})
	// Settle what is acknowledged already, without waiting; wait for the
	// oldest only when too many are in flight.
	for len(pb.pending) > 0 {
		if err := pb.settleOldest(len(pb.pending) >= maxPending); err != nil {
			if errors.Is(err, errNotYet) {
				break
			}
			return err
		}
	}
	return nil
}

// errNotYet says that the oldest publish is not acknowledged yet.
var errNotYet = errors.New("not acknowledged yet")

// settleAll waits for every publish in flight, and settles each: when no
// record is ready, and at the end.
func (pb *publisher) settleAll() error {
	for len(pb.pending) > 0 {
		if err := pb.settleOldest(true); err != nil {
			return err
		}
	}
	return nil
}

// settleOldest settles the oldest publish in flight once it is
// acknowledged; without wait, it returns errNotYet if it is not.
func (pb *publisher) settleOldest(wait bool) error {
	p := pb.pending[0]
	var (
		ack *jetstream.PubAck
		err error
	)
	if !wait || pb.gaveUp {
		select {
		case ack = <-p.ack.Ok():
		case err = <-p.ack.Err():
		default:
			if !wait {
				return errNotYet
			}
			err = fmt.Errorf("no acknowledgement within %v of the run's end", stopWait)
		}
	} else {
		// A connection that closes leaves its futures unresolved: look at
		// it every second of the wait.
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		deadline := time.Now().Add(ackTimeout)
		run := pb.run.Done()
		for ack == nil && err == nil {
			select {
			case ack = <-p.ack.Ok():
			case err = <-p.ack.Err():
			case <-run:
				// An interrupted run waits for what is in flight only so
				// long: a server that is gone would hold it for minutes.
				run = nil
				if soon := time.Now().Add(stopWait); soon.Before(deadline) {
					deadline = soon
				}
			case now := <-tick.C:
				switch {
				case pb.js.Conn().IsClosed():
					err = nats.ErrConnectionClosed
				case !now.Before(deadline) && pb.run.Err() != nil:
					pb.gaveUp = true
					err = fmt.Errorf("no acknowledgement within %v of the run's end", stopWait)
				case !now.Before(deadline):
					err = fmt.Errorf("no acknowledgement in %v", ackTimeout)
				}
			case <-pb.ctx.Done():
				// Aborted: what is held is given back as the run ends. An
				// error, so that settleAll does not wait for this one again.
				return context.Cause(pb.ctx)
			}
		}
	}
	pb.pending[0] = pending{}
	pb.pending = pb.pending[1:]
	return pb.acked(p.rec, ack, err)
}

// settle is Publish's acked: a record that is safe settles its message; a
// publish that failed gives its message back to the queue, or, without
// one, fails the run.
func (pb *publisher) settle(rec *stages.Record, _ *jetstream.PubAck, err error) error {
	_, refused := errors.AsType[*jetstream.APIError](err)
	switch {
	case err != nil && (pb.q == nil || refused || errors.Is(err, nats.ErrConnectionClosed)):
		if pb.q != nil {
			pb.q.retry(rec, 0, "publishing its result failed: "+err.Error())
		}
		if refused {
			// The stream refuses what it is sent (it is full, say): every
			// record after would fail alike, and the run is stopped as a
			// run whose output fails is.
			return fmt.Errorf("publishing to %s: the server refused the record of item %d: %w", pb.subject, rec.Seq, err)
		}
		return fmt.Errorf("publishing the record of item %d to %s: %w", rec.Seq, pb.subject, err)
	case err != nil:
		pb.q.retry(rec, retryDelay, "publishing its result failed: "+err.Error())
	case pb.q != nil:
		pb.q.Settle(rec) // an ack that is lost is a redelivery, whose result is a duplicate the stream drops
	}
	return nil
}

// encode appends rec's JSON to b.
func (pb *publisher) encode(rec *stages.Record, b []byte) []byte {
	if pb.fields != nil {
		return rec.AppendFields(b, pb.fields)
	}
	return rec.AppendJSON(b)
}

// cut encodes rec within room bytes, as too_large: size bytes with its
// body are more than a message may hold. Without its body it fits, as a
// rule; a record whose URL or meta is itself huge (an input line that is
// not a URL, a megabyte long) has them cut to a kilobyte too, and says so.
func (pb *publisher) cut(rec *stages.Record, size, room int) []byte {
	r := *rec
	r.Body = nil
	msg := fmt.Sprintf("the record is %d bytes with its body, more than the NATS server's max payload of %d: published without it", size, pb.maxPayload)
	if r.Err != nil {
		msg += fmt.Sprintf(" (it had failed: %s: %s)", r.Err.Kind, r.Err.Message)
	}
	r.Err = &stages.Error{Kind: stages.KindTooLarge, Message: msg}
	b := pb.encode(&r, nil)
	if len(b) > room {
		const most = 1024
		r.URL = shorten(r.URL, most)
		r.FinalURL = shorten(r.FinalURL, most)
		r.Meta = nil
		r.Header = nil
		r.Err.Message = shorten(r.Err.Message, most) + fmt.Sprintf("; its url and this message are cut to %d bytes, and its meta and headers left out", most)
		b = pb.encode(&r, nil)
	}
	*rec = r
	return b
}

// shorten cuts s to at most n bytes, on a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// msgID names rec's message: with a queue, stable across deliveries of
// its input message, unique per input message and follow-up; without,
// unique per record of this run, so that a run over the same list later
// stores its records again.
func (pb *publisher) msgID(rec *stages.Record) string {
	b := append(pb.id[:0], pb.ids...)
	b = strconv.AppendInt(b, rec.Seq, 10)
	for _, f := range rec.Follow {
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(f), 10)
	}
	pb.id = b
	return string(b)
}
