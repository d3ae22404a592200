// Package natsqueue spreads one list of requests over many machines
// through a NATS JetStream work queue, with at-least-once delivery from
// the list to the results.
//
// Enqueue loads a list into a work-queue stream, one message per item.
// Any number of workers, on any number of machines, each run a pipeline
// that starts with Pull, a source of requests from the queue's one
// durable consumer (Open sets it up), and ends with Publish, a sink that
// publishes each record to a results stream (OpenResults) and then acks
// the item's message:
//
//	cons, _ := natsqueue.Open(ctx, js, "work")
//	natsqueue.OpenResults(ctx, js, "results", natsqueue.WithDuplicates(natsqueue.ResultsWindow(cons.CachedInfo())))
//	p := pipeline.New(ctx)
//	reqs, q := natsqueue.Pull(p, cons, natsqueue.WithWindow(100))
//	recs := stages.Fetch(reqs, stages.WithConcurrency(50), stages.WithDecode(stages.JSON))
//	err := natsqueue.Publish(recs, js, "results", natsqueue.WithQueue(q))
//
// Publish returns when the run ends: with WithUntilEmpty, once the queue is
// empty, else when ctx is canceled (and then it returns ctx's cause, as
// pipeline.Wait does for a run cut short). Programs downstream read each
// result as a stages.Record with json.Unmarshal.
//
// # Delivery
//
// An item's message is acked only once its result is safe: published and
// acknowledged by the server (or, with a sink of another kind, written and
// flushed; see Queue.Settle). A worker that dies holding messages loses
// nothing: the server delivers them again once the consumer's AckWait has
// passed. So an item may be fetched more than once, and its result
// published more than once; each result is published with an id derived
// from its input message (stream and sequence), the same on every
// delivery, so the results stream stores it once if its duplicates window
// (see ResultsWindow) spans the redeliveries. A failed fetch is a result
// like any other, and is acked. A message that makes no request is
// terminated after its invalid_input result is published. A worker that
// is interrupted gives back the messages whose fetch it canceled, so that
// another worker fetches them at once. A message delivered MaxDeliver
// times without a result is a dead letter (see WithDeadLetter): it stays
// in the stream, and the server also says so on the advisory subject
// $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>.
//
// # Flow
//
// A worker pulls only as many messages as it has room for (WithWindow),
// so that a message never waits in a client buffer while its ack timer
// runs, and tells the server a message is still in progress while it
// works on it, so that AckWait need only exceed a pause, not the slowest
// fetch. The consumer's MaxAckPending is the cap on messages in flight
// across every worker.
//
// # Politeness across machines
//
// Per-host limits (stages.WithPerHost, WithRate, WithAutoThrottle) are
// each worker's own: N workers may send N times as much to one host. For
// a limit across the cluster, give each host its own subject (and so its
// own consumer), and set that consumer's MaxAckPending to the limit: the
// server then lets no more of that host's items be in flight at once,
// over all workers together.
package natsqueue
