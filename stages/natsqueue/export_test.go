package natsqueue

import "github.com/nats-io/nats.go/jetstream"

// LoseAcks makes q's acks vanish on their way to the server, as a network
// may lose them: each message it settles is delivered again.
func LoseAcks(q *Queue) { q.ack = func(jetstream.Msg) error { return nil } }
