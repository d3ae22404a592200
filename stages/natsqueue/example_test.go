package natsqueue_test

import (
	"context"
	"log"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
	"github.com/fetchpipe/fetchpipe/stages/natsqueue"
)

// A worker: it pulls the items of the queue on subject "work", fetches
// them 50 at a time, and publishes each record to "results", acking each
// item once its record is stored. Run it on as many machines as you like;
// Enqueue fills the queue.
func Example() {
	nc, err := nats.Connect(os.Getenv("NATS_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	cons, err := natsqueue.Open(ctx, js, "work")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := natsqueue.OpenResults(ctx, js, "results", natsqueue.WithDuplicates(natsqueue.ResultsWindow(cons.CachedInfo()))); err != nil {
		log.Fatal(err)
	}
	p := pipeline.New(ctx)
	reqs, q := natsqueue.Pull(p, cons, natsqueue.WithWindow(100))
	recs := stages.Fetch(reqs, stages.WithConcurrency(50), stages.WithDecode(stages.JSON))
	if err := natsqueue.Publish(recs, js, "results", natsqueue.WithQueue(q)); err != nil {
		log.Fatal(err)
	}
}

// A worker that writes its records to a file of its own instead of
// publishing them: a message is settled only once its record is in the
// file and the file is synced, so a crash loses no item; whatever it held
// unsettled is delivered again.
func ExampleQueue_Settle() {
	nc, err := nats.Connect(os.Getenv("NATS_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	cons, err := natsqueue.Open(ctx, js, "work")
	if err != nil {
		log.Fatal(err)
	}
	out, err := os.OpenFile("results.ndjson", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o666)
	if err != nil {
		log.Fatal(err)
	}
	defer out.Close()
	p := pipeline.New(ctx)
	reqs, q := natsqueue.Pull(p, cons, natsqueue.WithUntilEmpty())
	recs := stages.Fetch(reqs, stages.WithDecode(stages.JSON))
	w := stages.NewNDJSONWriter(out)
	var written []stages.Record // in the file's buffer, not yet settled
	err = pipeline.ForEach(recs, func(_ context.Context, rec stages.Record) error {
		if rec.Err != nil && rec.Err.Kind == stages.KindCanceled {
			return q.Settle(&rec) // not a result: given back, for another worker
		}
		written = append(written, stages.Record{Seq: rec.Seq, Follow: rec.Follow, Err: rec.Err})
		return w.Write(rec)
	}, pipeline.WithIdle(func() error {
		// When no record is ready: flush, sync, then settle what the
		// file now holds for good.
		if err := w.Flush(); err != nil {
			return err
		}
		if err := out.Sync(); err != nil {
			return err
		}
		for i := range written {
			q.Settle(&written[i])
		}
		written = written[:0]
		return nil
	}))
	if err != nil {
		log.Fatal(err)
	}
}

// Loading a list into the queue: each line is one message, and running it
// again after a crash stores nothing twice.
func ExampleEnqueue() {
	nc, err := nats.Connect(os.Getenv("NATS_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	list := "https://api.example.com/r/golang.json\nhttps://api.example.com/r/rust.json\n"
	done, err := natsqueue.Enqueue(stages.Lines(pipeline.New(context.Background()), strings.NewReader(list)), js, "work")
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%d enqueued, %d already there", done.Items, done.Duplicates)
}
