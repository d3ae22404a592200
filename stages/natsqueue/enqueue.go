package natsqueue

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// Enqueued says what Enqueue did with the items it read.
type Enqueued struct {
	Items      int64 // items stored in the stream, each a message
	Duplicates int64 // items the stream had stored already, within its duplicates window
	Refused    int64 // items that make no message (see Enqueue)
	// First and Last are the stream sequences of the first and last items
	// stored: a record's seq (see Pull). 0 when none was.
	First, Last uint64
}

// Enqueue is the sink that loads a list into the work queue on subject:
// each item that in reads becomes one message, its Input as read (the
// line, before any template: the workers' parser makes the request), so
// give a source without a template, such as stages.Lines. The stream is
// created when absent, as Open creates it, and Open makes the consumer
// when a worker starts.
//
// Each message's Nats-Msg-Id is the item's identity and its position in
// the list, so that running Enqueue again over the same list within the
// stream's duplicates window (see WithDuplicates), after a crash say,
// stores each item once, even if it was fetched and acked meanwhile; to
// enqueue a list again on purpose, give WithAgain. An item that makes no message (an overlong line,
// a line larger than the server's max payload) is refused (see
// WithRefused), and the rest are enqueued.
//
// Options: WithStream, WithDuplicates, WithRefused, WithAgain.
func Enqueue(in pipeline.Stream[stages.Request], js jetstream.JetStream, subject string, opts ...Option) (Enqueued, error) {
	s := newSettings("Enqueue", enqueueOptions, opts)
	var (
		done Enqueued
		id   []byte
	)
	if _, err := streamFor(in.Pipeline().Context(), js, subject, s, jetstream.StreamConfig{Retention: jetstream.WorkQueuePolicy}); err != nil {
		in.Pipeline().Stop()
		in.Pipeline().Wait()
		return done, err
	}
	pub := &publisher{js: js, subject: subject, run: in.Pipeline().Context()}
	pub.acked = func(rec *stages.Record, ack *jetstream.PubAck, err error) error {
		switch {
		case err != nil:
			return fmt.Errorf("enqueueing item %d on %s: %w", rec.Seq, subject, err)
		case ack.Duplicate:
			done.Duplicates++
		default:
			done.Items++
			if done.First == 0 || ack.Sequence < done.First {
				done.First = ack.Sequence
			}
			done.Last = max(done.Last, ack.Sequence)
		}
		return nil
	}
	maxPayload := int(js.Conn().MaxPayload())
	err := pipeline.ForEach(in, func(ctx context.Context, req stages.Request) error {
		pub.ctx = ctx
		why := ""
		switch {
		case req.Err != nil && req.Input == "":
			why = req.Err.Message
		case len(req.Input)+len(req.Item)+96 > maxPayload:
			why = fmt.Sprintf("it is %d bytes, which with the message's headers is more than the NATS server's max payload of %d", len(req.Input), maxPayload)
		}
		if why != "" {
			done.Refused++
			if s.refused != nil {
				s.refused(req.Seq, why)
			}
			return nil
		}
		id = append(append(id[:0], req.Item...), ':')
		id = strconv.AppendInt(id, req.Seq, 10)
		id = append(id, s.again...)
		msg := &nats.Msg{Subject: subject, Header: nats.Header{}, Data: []byte(req.Input)}
		msg.Header.Set(jetstream.MsgIDHeader, string(id))
		return pub.send(msg, &stages.Record{Seq: req.Seq})
	}, pipeline.WithIdle(pub.settleAll))
	return done, err
}
