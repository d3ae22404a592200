package natsqueue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamName returns the name of the stream that Open, Enqueue and
// OpenResults create for subject when no stream holds it: FETCHPIPE_ and
// the subject in capitals, each character a stream name cannot hold made
// "_" (work.products is FETCHPIPE_WORK_PRODUCTS).
func StreamName(subject string) string {
	var b strings.Builder
	b.WriteString("FETCHPIPE_")
	for _, r := range strings.ToUpper(subject) {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// CheckSubject reports whether subject is one that items can be enqueued
// on and results published to: not empty, without wildcards or white
// space, its tokens not empty.
func CheckSubject(subject string) error {
	switch {
	case subject == "":
		return errors.New("the subject is empty")
	case strings.ContainsAny(subject, "*> \t\r\n"):
		return fmt.Errorf("subject %q holds a wildcard or white space: a queue needs one subject to publish to", subject)
	case strings.HasPrefix(subject, ".") || strings.HasSuffix(subject, ".") || strings.Contains(subject, ".."):
		return fmt.Errorf("subject %q has an empty token", subject)
	}
	return nil
}

// streamFor returns the stream that holds subject, creating it with cfg
// (its name, subject and duplicates window filled in) when none does.
// A stream that exists is left as it is: the workers of a queue must not
// undo, one by one, what the one who set it up chose.
func streamFor(ctx context.Context, js jetstream.JetStream, subject string, s *settings, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	if err := CheckSubject(subject); err != nil {
		return nil, err
	}
	name, err := js.StreamNameBySubject(ctx, subject)
	switch {
	case err == nil && s.stream != "" && name != s.stream:
		return nil, fmt.Errorf("subject %s is held by stream %s, not %s", subject, name, s.stream)
	case err == nil:
		st, err := js.Stream(ctx, name)
		if err == nil && cfg.Retention == jetstream.WorkQueuePolicy && st.CachedInfo().Config.Retention != jetstream.WorkQueuePolicy {
			// Its messages would never leave it, and a results stream
			// taken for a queue would feed records back in as work.
			return nil, fmt.Errorf("subject %s is held by stream %s, which is not a work queue (its retention is %s): a queue's items must be in a work-queue stream, such as the one Enqueue makes",
				subject, name, st.CachedInfo().Config.Retention)
		}
		return st, err
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, fmt.Errorf("looking for the stream of %s: %w", subject, err)
	}
	cfg.Name = s.stream
	if cfg.Name == "" {
		cfg.Name = StreamName(subject)
	}
	cfg.Subjects = []string{subject}
	cfg.Duplicates = s.duplicates
	cfg.Storage = jetstream.FileStorage
	st, err := js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// Another worker made it first; or a stream of that name holds
		// other subjects, which Stream's info shows.
		st, err = js.Stream(ctx, cfg.Name)
		if err == nil && !slices.Contains(st.CachedInfo().Config.Subjects, subject) {
			return nil, fmt.Errorf("stream %s exists and does not hold subject %s: name another stream", cfg.Name, subject)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("creating stream %s for %s: %w", cfg.Name, subject, err)
	}
	return st, nil
}

// Open returns the durable consumer of the work queue on subject, for
// Pull. It creates what is absent: the stream (a work queue of the
// subject, on disk; see WithStream) and the consumer (see WithConsumer),
// pulled with explicit acks, filtered on the subject, with the limits the
// options give. A stream that holds the subject already must be a work
// queue. What exists it leaves as it is, whatever the options say,
// so that a worker started with other flags does not change the queue
// under the others; the consumer's info (CachedInfo) says what holds.
//
// Options: WithStream, WithConsumer, WithMaxDeliver, WithAckWait,
// WithMaxAckPending, WithDuplicates.
func Open(ctx context.Context, js jetstream.JetStream, subject string, opts ...Option) (jetstream.Consumer, error) {
	s := newSettings("Open", openOptions, opts)
	st, err := streamFor(ctx, js, subject, s, jetstream.StreamConfig{Retention: jetstream.WorkQueuePolicy})
	if err != nil {
		return nil, err
	}
	name := st.CachedInfo().Config.Name
	cons, err := js.Consumer(ctx, name, s.consumer)
	if err == nil || !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return cons, err
	}
	cons, err = js.CreateConsumer(ctx, name, jetstream.ConsumerConfig{
		Durable:       s.consumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		FilterSubject: subject,
		MaxDeliver:    s.maxDeliver,
		AckWait:       s.ackWait,
		MaxAckPending: s.maxAckPending,
	})
	if errors.Is(err, jetstream.ErrConsumerExists) {
		cons, err = js.Consumer(ctx, name, s.consumer) // another worker made it first
	}
	if err != nil {
		return nil, fmt.Errorf("creating consumer %s on stream %s: %w", s.consumer, name, err)
	}
	return cons, nil
}

// OpenResults returns the stream that holds subject, for Publish, creating
// it when absent: a stream of the subject on disk, which keeps what is
// published to it until it is deleted, with a duplicates window (see
// WithDuplicates) that should be at least ResultsWindow of the work
// queue, so that a result published again on a redelivery is stored once.
//
// Options: WithStream, WithDuplicates.
func OpenResults(ctx context.Context, js jetstream.JetStream, subject string, opts ...Option) (jetstream.Stream, error) {
	s := newSettings("OpenResults", optStream|optDuplicates, opts)
	return streamFor(ctx, js, subject, s, jetstream.StreamConfig{})
}

// ResultsWindow returns the least duplicates window of a results stream
// fed from the work queue whose consumer is described by info: a message
// can be delivered MaxDeliver times, each up to AckWait apart, so its
// results can be published that far apart. A minute more covers the
// publishing itself.
func ResultsWindow(info *jetstream.ConsumerInfo) time.Duration {
	deliveries := info.Config.MaxDeliver
	if deliveries < 1 {
		deliveries = 100 // without end; a window must end somewhere
	}
	ackWait := cmp.Or(info.Config.AckWait, serverAckWait)
	return time.Duration(deliveries)*ackWait + time.Minute
}

// serverAckWait is what the server takes for a consumer's AckWait given
// none.
const serverAckWait = 30 * time.Second
