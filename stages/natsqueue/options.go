package natsqueue

import (
	"fmt"
	"strconv"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/optset"
	"github.com/fetchpipe/fetchpipe/stages"
)

// An Option configures Open, Pull, Publish or Enqueue. Each one's doc
// lists the options it takes, and it panics when given another: an option
// that would do nothing is a mistake, best found before a message moves.
type Option func(*settings)

type settings struct {
	given option

	stream        string
	consumer      string
	maxDeliver    int
	ackWait       time.Duration
	maxAckPending int
	duplicates    time.Duration

	window     int
	parser     *stages.Parser
	deadLetter func(DeadLetter)
	untilEmpty bool

	queue   *Queue
	fields  stages.Fields
	refused func(seq int64, why string)
	again   string // WithAgain's suffix of message ids
	each    func(*stages.Record)
}

// Defaults of a work queue that Open creates, named so that a command
// line, a manifest and a reader of the stream's config agree.
const (
	// DefaultConsumer is the name of the durable consumer that every
	// worker of a queue shares.
	DefaultConsumer = "fetchpipe"
	// DefaultMaxDeliver is how many times a message is delivered at most:
	// JetStream's own default is without end, which a message that kills
	// its worker would take literally.
	DefaultMaxDeliver = 5
	// DefaultAckWait is how long a worker may hold a message without a
	// word before it is delivered again. Pull tells the server a message
	// is still in progress every third of it, so a fetch that takes longer
	// (retries, a slow host) keeps its message; a worker that dies gives
	// its messages up this long after.
	DefaultAckWait = time.Minute
	// DefaultMaxAckPending is how many messages the whole cluster of
	// workers holds at most: the cap on work in flight across machines.
	DefaultMaxAckPending = 1000
	// DefaultDuplicates is the work stream's window in which an item
	// enqueued twice with one identity and position is stored once: long
	// enough for Enqueue to be run again after a crash.
	DefaultDuplicates = 2 * time.Minute
	// DefaultWindow is how many messages a worker holds at most: twice
	// stages.DefaultConcurrency, what Fetch holds by default.
	DefaultWindow = 2 * stages.DefaultConcurrency
)

type option uint16

const (
	optStream option = 1 << iota
	optConsumer
	optMaxDeliver
	optAckWait
	optMaxAckPending
	optDuplicates
	optWindow
	optParser
	optDeadLetter
	optQueue
	optFields
	optRefused
	optUntilEmpty
	optAgain
	optEach
)

var optionNames = []string{
	"WithStream", "WithConsumer", "WithMaxDeliver", "WithAckWait", "WithMaxAckPending",
	"WithDuplicates", "WithWindow", "WithParser", "WithDeadLetter", "WithQueue", "WithFields", "WithRefused", "WithUntilEmpty", "WithAgain", "WithEach",
}

func (o option) String() string { return optset.Names(o, optionNames) }

const (
	openOptions    = optStream | optConsumer | optMaxDeliver | optAckWait | optMaxAckPending | optDuplicates
	pullOptions    = optWindow | optParser | optDeadLetter | optUntilEmpty
	enqueueOptions = optStream | optDuplicates | optRefused | optAgain
)

func newSettings(fn string, takes option, opts []Option) *settings {
	s := &settings{
		consumer:      DefaultConsumer,
		maxDeliver:    DefaultMaxDeliver,
		ackWait:       DefaultAckWait,
		maxAckPending: DefaultMaxAckPending,
		duplicates:    DefaultDuplicates,
		window:        DefaultWindow,
	}
	for _, o := range opts {
		o(s)
	}
	if extra := s.given &^ takes; extra != 0 {
		panic(fmt.Sprintf("natsqueue.%s does not take %s; it takes %s", fn, extra, takes))
	}
	return s
}

func set(o option, f func(*settings)) Option {
	return func(s *settings) {
		s.given |= o
		f(s)
	}
}

// positive panics, naming the option, unless v > 0.
func positive[T int | time.Duration](option string, v T) {
	if v <= 0 {
		panic(fmt.Sprintf("natsqueue.%s: %v is not positive", option, v))
	}
}

// WithStream names the stream of a work queue, for Open and Enqueue: by
// default, the stream that already holds the subject, else one named by
// StreamName.
func WithStream(name string) Option {
	if name == "" {
		panic("natsqueue.WithStream: the name is empty")
	}
	return set(optStream, func(s *settings) { s.stream = name })
}

// WithConsumer names the durable consumer that Open binds to or creates
// (default DefaultConsumer). Every worker of a queue must name the same:
// a work-queue stream refuses a second consumer of one subject.
func WithConsumer(name string) Option {
	if name == "" {
		panic("natsqueue.WithConsumer: the name is empty")
	}
	return set(optConsumer, func(s *settings) { s.consumer = name })
}

// WithMaxDeliver sets how many times Open's new consumer delivers a
// message at most (default DefaultMaxDeliver). Panics unless n > 0.
func WithMaxDeliver(n int) Option {
	positive("WithMaxDeliver", n)
	return set(optMaxDeliver, func(s *settings) { s.maxDeliver = n })
}

// WithAckWait sets how long Open's new consumer waits for word of a
// delivered message before it delivers it again (default DefaultAckWait).
// Panics unless d > 0.
func WithAckWait(d time.Duration) Option {
	positive("WithAckWait", d)
	return set(optAckWait, func(s *settings) { s.ackWait = d })
}

// WithMaxAckPending sets how many messages Open's new consumer lets all
// workers hold at once (default DefaultMaxAckPending). Panics unless n > 0.
func WithMaxAckPending(n int) Option {
	positive("WithMaxAckPending", n)
	return set(optMaxAckPending, func(s *settings) { s.maxAckPending = n })
}

// WithDuplicates sets the window in which a stream that Open, Enqueue or
// OpenResults creates stores a message of one id once (default
// DefaultDuplicates; for results, give ResultsWindow). Panics unless d > 0.
func WithDuplicates(d time.Duration) Option {
	positive("WithDuplicates", d)
	return set(optDuplicates, func(s *settings) { s.duplicates = d })
}

// WithWindow sets how many messages Pull holds at most, pulled and not yet
// settled (default DefaultWindow): give twice Fetch's concurrency, so that
// Fetch is never short of work and no message waits long for a slot.
// Panics unless n > 0.
func WithWindow(n int) Option {
	positive("WithWindow", n)
	return set(optWindow, func(s *settings) { s.window = n })
}

// WithParser sets how Pull makes a request of a message: each message is
// an item, as a line of input is (default stages.LineParser(), a URL).
func WithParser(ps *stages.Parser) Option {
	if ps == nil {
		panic("natsqueue.WithParser: the parser is nil")
	}
	return set(optParser, func(s *settings) { s.parser = ps })
}

// WithDeadLetter makes Pull call f for each message whose last delivery
// (see WithMaxDeliver) did not end in a result: it stays in the stream,
// and will not be delivered again. f is called from Pull's goroutines, and
// must not block.
func WithDeadLetter(f func(DeadLetter)) Option {
	return set(optDeadLetter, func(s *settings) { s.deadLetter = f })
}

// WithQueue makes Publish settle each record's message of q once the
// record's publish is acknowledged, and name each record's message by its
// input message: at-least-once from the work queue to the results.
func WithQueue(q *Queue) Option {
	if q == nil {
		panic("natsqueue.WithQueue: the queue is nil")
	}
	return set(optQueue, func(s *settings) { s.queue = q })
}

// WithFields makes Publish write only the fields fs of each record (see
// stages.Record.AppendFields).
func WithFields(fs stages.Fields) Option {
	return set(optFields, func(s *settings) { s.fields = fs })
}

// WithRefused makes Enqueue call f with the seq of each item it cannot
// enqueue, and why (an overlong line, one larger than a message may be).
// f is called from Enqueue's goroutine.
func WithRefused(f func(seq int64, why string)) Option {
	return set(optRefused, func(s *settings) { s.refused = f })
}

// WithUntilEmpty makes Pull's source end, as a list does, once the queue
// has no message left that was never delivered: a pull brought nothing,
// and the consumer has nothing pending. Without it, Pull waits for more
// until the run's context ends, as a service does. Messages that other
// workers hold and give back later are left for the next worker to come.
func WithUntilEmpty() Option { return set(optUntilEmpty, func(s *settings) { s.untilEmpty = true }) }

// WithAgain makes Enqueue store every item, even one enqueued at the same
// place within the stream's duplicates window: for a list to be fetched
// again on purpose, rather than a load run again after a crash.
func WithAgain() Option {
	suffix := ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
	return set(optAgain, func(s *settings) { s.again = suffix })
}

// WithEach makes Publish call f with each record as it takes it, before
// the record is published, or its message given back: a count of the
// records as they go, at no cost of a stage of its own. f is called from
// Publish's goroutine, and must not keep the record.
func WithEach(f func(*stages.Record)) Option {
	if f == nil {
		panic("natsqueue.WithEach: f is nil")
	}
	return set(optEach, func(s *settings) { s.each = f })
}
