// Package natstest runs a real NATS server with JetStream inside a test
// process, on 127.0.0.1, with its store in the test's temporary directory,
// for the tests of the work-queue stages and of the command.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options changes the server's options before it starts.
type Options func(*server.Options)

// Start runs a JetStream server for the rest of the test and returns its
// client URL (nats://127.0.0.1:PORT). It is shut down when the test ends,
// after the connections that Connect made are drained.
func Start(t testing.TB, opts ...Options) string {
	t.Helper()
	return StartServer(t, opts...).ClientURL()
}

// StartServer is Start for a test that stops the server itself, as an
// outage would: Shutdown may be called before the test ends.
func StartServer(t testing.TB, opts ...Options) *server.Server {
	t.Helper()
	o := &server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	}
	for _, f := range opts {
		f(o)
	}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("the NATS server was not ready in 10 s")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// Connect returns a connection to url and its JetStream, drained and
// closed when the test ends, before the server shuts down.
func Connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	closed := make(chan struct{})
	nc, err := nats.Connect(url, nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if nc.IsClosed() {
			return
		}
		nc.Drain()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Error("the NATS connection did not drain in 5 s")
			nc.Close()
		}
	})
	return nc, js
}
