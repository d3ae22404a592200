package main

import (
	"context"
	"fmt"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
	"github.com/fetchpipe/fetchpipe/stages/natsqueue"
)

func newEnqueueCmd(e env) *cobra.Command {
	var (
		input string
		again bool
		qf    queueFlags
	)
	cmd := &cobra.Command{
		Use:   "enqueue URL [ITEM ...]",
		Short: "Load a list into a NATS JetStream work queue for --from workers",
		Long: `enqueue loads a list into the NATS JetStream work queue at URL
(nats://[USER:PASS@]HOST[:PORT]/SUBJECT, or tls://), one message per item:
the items given after URL, else the lines of --input, else of stdin, read
as fetchpipe reads its input (blank and # lines skipped, UTF-16 too). Each
message is the item as read: the workers' -t or --jsonl makes the request.

It creates what is absent, and leaves what exists as it is: the stream (a
work queue of the subject, on disk) and the durable consumer that workers
share, with the limits its flags give. Running it again over the same list
within --duplicate-window, after a crash say, stores nothing twice.

Then run workers, on as many machines as you like:
  fetchpipe --from nats://HOST/work -t 'https://x.io/{}' --to nats://HOST/out`,
		Example: `  fetchpipe enqueue nats://localhost:4222/work < names.txt
  fetchpipe enqueue nats://localhost/work -i urls.txt --max-deliver 10`,
		Args:          cobra.MinimumNArgs(1),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return enqueue(cmd.Context(), args[0], args[1:], input, again, &qf, cmd.Flags().Changed, e)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&input, "input", "i", "", "read the list from `FILE` instead of stdin")
	fs.BoolVar(&again, "again", false, "enqueue every item, even one this list enqueued within --duplicate-window (which a rerun after a crash must not)")
	qf.register(fs)
	return cmd
}

// enqueue runs the enqueue command.
func enqueue(ctx context.Context, raw string, args []string, input string, again bool, qf *queueFlags, changed func(string) bool, e env) error {
	if err := qf.check(); err != nil {
		return err
	}
	u, err := parseQueueURL("enqueue", raw)
	if err != nil {
		return err
	}
	f := fetchFlags{input: input}
	in, items, closeIn, err := f.openInput(args, e)
	if err != nil {
		return err
	}
	defer closeIn()
	c, err := qf.connect(u, e.stderr)
	if err != nil {
		return err
	}
	defer c.close()
	cons, err := natsqueue.Open(ctx, c.js, u.subject, qf.openOptions()...)
	if err != nil {
		return fmt.Errorf("%s/%s: %w", u.shown, u.subject, err)
	}
	qf.noteOtherLimits(changed, cons.CachedInfo(), e.stderr)
	p := pipeline.New(ctx)
	var list pipeline.Stream[stages.Request]
	if items != nil {
		list = stages.URLs(p, items)
	} else {
		list = stages.Lines(p, in)
	}
	opts := []natsqueue.Option{natsqueue.WithRefused(func(seq int64, why string) {
		fmt.Fprintf(e.stderr, "fetchpipe: item %d (counted from 0, blank and # lines not counted) not enqueued: %s\n", seq, why)
	})}
	if again {
		opts = append(opts, natsqueue.WithAgain())
	}
	done, err := natsqueue.Enqueue(list, c.js, u.subject, opts...)
	info := cons.CachedInfo()
	fmt.Fprintf(e.stderr, "fetchpipe: enqueued %s on %s", plural(int(done.Items), "item"), u.subject)
	switch {
	case done.Items == 1:
		fmt.Fprintf(e.stderr, " as seq %d (the seq of its record)", done.First)
	case done.Items > 0 && done.Last-done.First+1 == uint64(done.Items):
		fmt.Fprintf(e.stderr, " as seq %d to %d (the seq of their records)", done.First, done.Last)
	case done.Items > 0:
		fmt.Fprintf(e.stderr, " between seq %d and %d, among items another enqueue stored at the same time (the seq of their records)", done.First, done.Last)
	}
	fmt.Fprintf(e.stderr, " (stream %s, consumer %s: max deliver %d, ack wait %v, max ack pending %s)",
		info.Stream, info.Name, info.Config.MaxDeliver, info.Config.AckWait, humanize.Comma(int64(info.Config.MaxAckPending)))
	if done.Duplicates > 0 {
		fmt.Fprintf(e.stderr, "; %s not enqueued again: this list enqueued them within the last %v (the stream's duplicates window), whether or not they were fetched since; --again enqueues them all the same",
			humanize.Comma(done.Duplicates), streamWindow(ctx, c, info.Stream))
	}
	if done.Refused > 0 {
		fmt.Fprintf(e.stderr, "; %s refused", humanize.Comma(done.Refused))
	}
	fmt.Fprintln(e.stderr)
	switch {
	case err != nil && ctx.Err() != nil:
		return exitCode(exitInterrupted)
	case err != nil:
		fmt.Fprintf(e.stderr, "fetchpipe: %v\n", err)
		return exitCode(exitFatal)
	case done.Refused > 0:
		return exitCode(exitFailed)
	}
	return nil
}

// streamWindow returns the duplicates window of stream, for a message.
func streamWindow(ctx context.Context, c *natsConn, stream string) time.Duration {
	if st, err := c.js.Stream(ctx, stream); err == nil {
		return st.CachedInfo().Config.Duplicates
	}
	return natsqueue.DefaultDuplicates
}
