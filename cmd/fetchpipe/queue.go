package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/segmentio/encoding/json"
	"github.com/spf13/pflag"

	"github.com/fetchpipe/fetchpipe/stages"
	"github.com/fetchpipe/fetchpipe/stages/natsqueue"
)

// queueFlags are the flags of NATS JetStream work queues: the queue's
// set-up, shared by enqueue and a worker (--from), which sets up what is
// absent, and the connection's credentials.
type queueFlags struct {
	stream        string
	consumer      string
	maxDeliver    int
	ackWait       time.Duration
	maxAckPending int
	duplicates    time.Duration

	creds, ca, cert, key string
}

func (f *queueFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.stream, "stream", "", "the work queue's stream `NAME` (default: the stream that holds the subject, else FETCHPIPE_ and the subject in capitals)")
	fs.StringVar(&f.consumer, "consumer", natsqueue.DefaultConsumer, "the durable consumer `NAME` that every worker of the queue shares")
	fs.IntVar(&f.maxDeliver, "max-deliver", natsqueue.DefaultMaxDeliver, "deliver a message at most `N` times (set when the queue is created)")
	durationVar(fs, &f.ackWait, "ack-wait", natsqueue.DefaultAckWait, "deliver a message again when its worker has said nothing of it for `D` (set when the queue is created)")
	fs.IntVar(&f.maxAckPending, "max-ack-pending", natsqueue.DefaultMaxAckPending, "`N` messages in flight at most over all workers together (set when the queue is created)")
	durationVar(fs, &f.duplicates, "duplicate-window", natsqueue.DefaultDuplicates, "a stream created for the queue stores a message of one id once within `D`")
	fs.StringVar(&f.creds, "nats-creds", "", "authenticate to NATS with the credentials `FILE` (a user JWT and its seed); a user and password, or a token, go in the URL")
	fs.StringVar(&f.ca, "nats-ca", "", "check the NATS server's certificate against the authorities in PEM `FILE` (implies TLS)")
	fs.StringVar(&f.cert, "nats-cert", "", "present the client certificate in PEM `FILE` to NATS (with --nats-key)")
	fs.StringVar(&f.key, "nats-key", "", "the private key in PEM `FILE` of --nats-cert")
}

// check checks the flags that do not need a server.
func (f *queueFlags) check() error {
	switch {
	case f.maxDeliver < 1:
		return fmt.Errorf("--max-deliver must be at least 1, not %d", f.maxDeliver)
	case f.ackWait <= 0:
		return fmt.Errorf("--ack-wait must be more than 0, not %v", f.ackWait)
	case f.maxAckPending < 1:
		return fmt.Errorf("--max-ack-pending must be at least 1, not %d", f.maxAckPending)
	case f.duplicates <= 0:
		return fmt.Errorf("--duplicate-window must be more than 0, not %v", f.duplicates)
	case (f.cert == "") != (f.key == ""):
		return errors.New("--nats-cert and --nats-key go together")
	}
	return nil
}

// openOptions are natsqueue.Open's options of the flags.
func (f *queueFlags) openOptions() []natsqueue.Option {
	opts := []natsqueue.Option{
		natsqueue.WithConsumer(f.consumer),
		natsqueue.WithMaxDeliver(f.maxDeliver),
		natsqueue.WithAckWait(f.ackWait),
		natsqueue.WithMaxAckPending(f.maxAckPending),
		natsqueue.WithDuplicates(f.duplicates),
	}
	if f.stream != "" {
		opts = append(opts, natsqueue.WithStream(f.stream))
	}
	return opts
}

// A queueURL is a subject on a NATS server: nats://[USER:PASS@]HOST[:PORT]/SUBJECT.
type queueURL struct {
	server  string // what nats.Connect takes: scheme, credentials, host
	shown   string // the URL with its password masked, for messages
	subject string
}

// parseQueueURL reads the URL of --from, --to and enqueue.
func parseQueueURL(flag, raw string) (queueURL, error) {
	shown := stages.Redact(raw)
	example := "such as nats://localhost:4222/work: the server, then the subject"
	u, err := url.Parse(raw)
	if err != nil {
		return queueURL{}, fmt.Errorf("%s %s is not a NATS URL %s", flag, shown, example)
	}
	switch {
	case u.Scheme != "nats" && u.Scheme != "tls":
		return queueURL{}, fmt.Errorf("%s %s is not a NATS URL %s (nats://, or tls:// for TLS)", flag, shown, example)
	case u.Host == "":
		return queueURL{}, fmt.Errorf("%s %s names no server: give a URL %s", flag, shown, example)
	}
	subject := strings.TrimPrefix(u.Path, "/")
	if subject == "" {
		return queueURL{}, fmt.Errorf("%s %s names no subject: give a URL %s", flag, shown, example)
	}
	if err := natsqueue.CheckSubject(subject); err != nil {
		return queueURL{}, fmt.Errorf("%s: %w", flag, err)
	}
	server := u.Scheme + "://"
	if u.User != nil {
		server += u.User.String() + "@"
	}
	server += u.Host
	return queueURL{server: server, shown: stages.Redact(server), subject: subject}, nil
}

// unreachable is the error of a server that could not be reached at the
// start: exit status 2 (nothing was fetched), without the pointer to
// --help that a mistake in the command line gets.
type unreachable struct{ error }

func (u unreachable) Unwrap() error { return u.error }

// natsConn is a connection to a NATS server, and its JetStream.
type natsConn struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	closed chan struct{}
}

// connect connects to the server of u. A server that cannot be reached is
// a usage error: nothing was fetched.
func (f *queueFlags) connect(u queueURL, messages io.Writer) (*natsConn, error) {
	c := &natsConn{closed: make(chan struct{})}
	opts := []nats.Option{
		nats.Name("fetchpipe"),
		nats.ClosedHandler(func(*nats.Conn) { close(c.closed) }),
		// A server that restarts or fails over is waited for, for about
		// two minutes (60 tries 2 s apart), and the run says so: a
		// worker silent that long looks hung.
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				fmt.Fprintf(messages, "fetchpipe: lost the connection to NATS at %s (%v); trying again for about 2 minutes\n", u.shown, err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			fmt.Fprintf(messages, "fetchpipe: connected to NATS at %s again\n", u.shown)
		}),
	}
	if f.creds != "" {
		opts = append(opts, nats.UserCredentials(f.creds))
	}
	if f.ca != "" {
		opts = append(opts, nats.RootCAs(f.ca))
	}
	if f.cert != "" {
		opts = append(opts, nats.ClientCert(f.cert, f.key))
	}
	nc, err := nats.Connect(u.server, opts...)
	if err != nil {
		return nil, unreachable{fmt.Errorf("cannot connect to NATS at %s: %w", u.shown, err)}
	}
	c.nc = nc
	if c.js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("NATS at %s: %w", u.shown, err)
	}
	return c, nil
}

// close sends what is buffered (acks, naks) and closes the connection,
// waiting at most a few seconds for the server.
func (c *natsConn) close() {
	if c == nil {
		return
	}
	if !c.nc.IsConnected() {
		c.nc.Close() // away: what it buffered cannot be sent, and waiting would not help
		return
	}
	if err := c.nc.Drain(); err != nil {
		c.nc.Close()
	}
	select {
	case <-c.closed:
	case <-time.After(5 * time.Second):
		c.nc.Close()
	}
}

// queueTask is a run's side of NATS: the queue it pulls from (--from), the
// subject it publishes to (--to), and what became of the messages.
type queueTask struct {
	from, to queueURL
	in, out  *natsConn
	cons     jetstream.Consumer
	pull     []natsqueue.Option // Pull's, of the flags
	queue    *natsqueue.Queue   // set when the run starts

	mu      sync.Mutex
	asked   time.Time // when waiting last asked the server
	pending uint64
}

// waiting returns how many items the queue holds that no worker has taken
// yet, as the server said at most 2 s ago, for the progress line.
func (q *queueTask) waiting() (uint64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if time.Since(q.asked) > 2*time.Second {
		q.asked = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		info, err := q.cons.Info(ctx)
		if err != nil {
			return 0, false
		}
		q.pending = info.NumPending
	}
	return q.pending, true
}

// pulling reports whether the run takes its items from a queue (--from).
func (q *queueTask) pulling() bool { return q != nil && q.cons != nil }

// deadLetter returns what says on w that a message will not be delivered
// again.
func deadLetter(w io.Writer) func(natsqueue.DeadLetter) {
	return func(d natsqueue.DeadLetter) {
		// Quoted and cut: the URL is a message's text, which may hold
		// anything, terminal escapes included.
		what := fmt.Sprintf("%.200q", d.URL)
		if d.URL == "" {
			what = fmt.Sprintf("item %.40q", d.Item)
		}
		fmt.Fprintf(w, "fetchpipe: %s (stream %s, seq %d) had its last delivery (%d of --max-deliver) and gave no result: %.300q; it stays in the stream (see \"Dead letters\" in the README)\n",
			what, d.Stream, d.Seq, d.Deliveries, d.Reason)
	}
}

// givenBack reports whether r is a canceled record of a queue's item,
// which is not a result: its message is given back, for another worker,
// and the record is neither written nor published. It gives the message
// back unless Publish does.
func (q *queueTask) givenBack(r *stages.Record) bool {
	if !q.pulling() || r.Err == nil || r.Err.Kind != stages.KindCanceled || r.Follow != nil {
		return false
	}
	if q.out == nil {
		q.queue.Settle(r)
	}
	return true
}

// reportQueue says what became of the messages of stream, for the
// summary.
func reportQueue(w io.Writer, stream string, s natsqueue.Stats) {
	fmt.Fprintf(w, "fetchpipe: queue %s: %s pulled (%s redelivered), %s acked, %s given back, %s terminated",
		stream, humanize.Comma(s.Pulled), humanize.Comma(s.Redelivered), humanize.Comma(s.Acked), humanize.Comma(s.Naked), humanize.Comma(s.Termed))
	if s.DeadLetters > 0 {
		fmt.Fprintf(w, ", %s dead letters", humanize.Comma(s.DeadLetters))
	}
	if s.Unpublished > 0 {
		fmt.Fprintf(w, "; %s could not be published, and went back to the queue", plural(int(s.Unpublished), "result"))
	}
	fmt.Fprintln(w)
}

// close closes the connections, once the run is over.
func (q *queueTask) close() {
	q.in.close()
	if q.out != q.in {
		q.out.close()
	}
}

// openQueue connects to the servers of --from and --to, and
// sets up what is absent: the work queue and the results stream. The
// errors are usage errors: nothing was fetched.
func (f *fetchFlags) openQueue(ctx context.Context, sourceOpts []stages.Option, stderr io.Writer) (*queueTask, error) {
	if err := f.queue.check(); err != nil {
		return nil, err
	}
	q := &queueTask{}
	var err error
	if f.from != "" {
		if q.from, err = parseQueueURL("--from", f.from); err != nil {
			return nil, err
		}
	}
	if f.to != "" {
		if q.to, err = parseQueueURL("--to", f.to); err != nil {
			return nil, err
		}
	}
	ok := false
	defer func() {
		if !ok {
			q.close()
		}
	}()
	if f.from != "" {
		if q.in, err = f.queue.connect(q.from, stderr); err != nil {
			return nil, err
		}
		if q.cons, err = natsqueue.Open(ctx, q.in.js, q.from.subject, f.queue.openOptions()...); err != nil {
			return nil, fmt.Errorf("--from %s/%s: %w", q.from.shown, q.from.subject, err)
		}
		parser := stages.LineParser(sourceOpts...)
		if f.jsonl {
			parser = stages.SpecParser(sourceOpts...)
		}
		if err := q.checkFirstItems(ctx, f, parser); err != nil {
			return nil, err
		}
		q.pull = []natsqueue.Option{natsqueue.WithWindow(2 * f.concurrency), natsqueue.WithParser(parser), natsqueue.WithDeadLetter(deadLetter(stderr))}
		if f.untilEmpty {
			q.pull = append(q.pull, natsqueue.WithUntilEmpty())
		}
		f.queue.noteOtherLimits(f.changed, q.cons.CachedInfo(), stderr)
	}
	if f.to != "" {
		q.out = q.in
		if q.in == nil || q.to.server != q.from.server {
			if q.out, err = f.queue.connect(q.to, stderr); err != nil {
				return nil, err
			}
		}
		window := natsqueue.DefaultDuplicates
		if q.cons != nil {
			window = natsqueue.ResultsWindow(q.cons.CachedInfo())
		}
		st, err := natsqueue.OpenResults(ctx, q.out.js, q.to.subject, natsqueue.WithDuplicates(window))
		if err != nil {
			return nil, fmt.Errorf("--to %s/%s: %w", q.to.shown, q.to.subject, err)
		}
		if q.cons != nil && sameSystem(q.in.nc, q.out.nc) && st.CachedInfo().Config.Name == q.cons.CachedInfo().Stream {
			return nil, fmt.Errorf("--to %s is held by stream %s, the queue of --from: each record would come back as an item to fetch", q.to.subject, q.cons.CachedInfo().Stream)
		}
		if has := st.CachedInfo().Config.Duplicates; q.cons != nil && has < window {
			fmt.Fprintf(stderr, "fetchpipe: warning: stream %s stores duplicates for %v, less than the %v over which a message may be delivered again (--ack-wait × --max-deliver): a result may be stored twice\n",
				st.CachedInfo().Config.Name, has, window)
		}
	}
	ok = true
	return q, nil
}

// checkFirstItems makes requests of the first items waiting in the queue,
// as a worker would, and refuses to start a worker that could make none
// of them: started without the -t or --jsonl the items were meant for, it
// would terminate every message as invalid_input, emptying the queue in
// moments. One bad item among good ones (a header line, say) is no such
// sign: it gets its invalid_input record, as in a list.
func (q *queueTask) checkFirstItems(ctx context.Context, f *fetchFlags, parser *stages.Parser) error {
	const sample = 10
	info := q.cons.CachedInfo()
	st, err := q.in.js.Stream(ctx, info.Stream)
	if err != nil {
		return nil // the pull will say what is wrong
	}
	sinfo := st.CachedInfo()
	if sinfo.State.Msgs == 0 {
		return nil
	}
	var first *jetstream.RawStreamMsg
	why := ""
	seq := sinfo.State.FirstSeq
	for range sample {
		msg, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(q.from.subject))
		if err != nil {
			break // no more, or no answer: what was seen decides
		}
		seq = msg.Sequence + 1
		req := parser.Parse(int64(msg.Sequence), msg.Data)
		bad := ""
		switch {
		case req.Err != nil && req.Err.Kind == stages.KindInvalidInput:
			bad = req.Err.Message
		case req.Err == nil:
			if e, ok := errors.AsType[*stages.Error](stages.CheckURL(req.URL)); ok {
				bad = e.Message
			}
		}
		if bad == "" {
			return nil // one item a worker can fetch: the flags fit the queue
		}
		if first == nil {
			first, why = msg, bad
		}
	}
	if first == nil {
		return nil
	}
	hint := "give -t with the template the items were meant for, or --jsonl for specs"
	if f.template != "" || f.jsonl {
		hint = "check -t and --jsonl against what was enqueued"
	}
	return fmt.Errorf("--from: no item among the first waiting in the queue makes a request with these flags; the first, %.80q (stream %s, seq %d): %.200s. A worker would terminate every such message as invalid_input: %s",
		first.Data, info.Stream, first.Sequence, why, hint)
}

// noteOtherLimits says on stderr when the queue's flags given differ from
// what the queue that exists was set up with: they apply only to a queue
// a run creates.
func (f *queueFlags) noteOtherLimits(changed func(string) bool, info *jetstream.ConsumerInfo, stderr io.Writer) {
	var differ []string
	c := info.Config
	if changed("max-deliver") && c.MaxDeliver != f.maxDeliver {
		differ = append(differ, fmt.Sprintf("max deliver %d (not %d)", c.MaxDeliver, f.maxDeliver))
	}
	if changed("ack-wait") && c.AckWait != f.ackWait {
		differ = append(differ, fmt.Sprintf("ack wait %v (not %v)", c.AckWait, f.ackWait))
	}
	if changed("max-ack-pending") && c.MaxAckPending != f.maxAckPending {
		differ = append(differ, fmt.Sprintf("max ack pending %d (not %d)", c.MaxAckPending, f.maxAckPending))
	}
	if len(differ) > 0 {
		fmt.Fprintf(stderr, "fetchpipe: note: the queue's consumer %s on stream %s exists, and keeps its own limits: %s; those flags apply only when a run creates the queue (to change them: nats consumer edit %s %s)\n",
			info.Name, info.Stream, strings.Join(differ, ", "), info.Stream, info.Name)
	}
}

// checkQueueFlags refuses the flags that do not go with --from or --to,
// and says why.
func (f *fetchFlags) checkQueueFlags(args []string) error {
	from, to := f.from != "", f.to != ""
	for _, c := range []struct {
		bad bool
		msg string
	}{
		{f.untilEmpty && !from, "--until-empty goes with --from: it ends a worker once the queue is empty"},
		{from && (len(args) > 0 || f.input != ""), "--from takes items from the queue: give no input (arguments or --input) with it"},
		{from && f.ordered, "--ordered does not go with --from: the items of a queue shared by many workers have no order to keep"},
		{from && f.resume != "", "--resume does not go with --from: the queue keeps what is done itself (an item is acked once its record is stored), so a worker started again goes on where the others are"},
		{from && f.shard != "", "--shard does not go with --from: the workers of a queue share it with no overlap already; start more workers instead"},
		{(from || to) && f.dryRun, "--dry-run does not go with --from or --to: it would take items from the queue, or publish nothing"},
		{to && f.output != "", "--to publishes the records; -o writes them to a file: give one or the other"},
		{to && f.resume != "", "--resume appends records to a file; --to publishes them: give one or the other"},
		{to && f.rawBody, "--raw-body does not go with --to: the subject gets whole records"},
		{from && f.from == f.to, "--to names the queue of --from: each record would come back as an item to fetch"},
	} {
		if c.bad {
			return errors.New(c.msg)
		}
	}
	return nil
}

// isRegularFile reports whether path names a regular file that exists.
func isRegularFile(path string) bool {
	st, err := os.Stat(path)
	return path != "" && path != "-" && err == nil && st.Mode().IsRegular()
}

// appendOutput opens the -o FILE of a worker to append to it: its records
// are the results of items the queue no longer holds, which a worker
// started again with the same command must not wipe. A last line that a
// kill tore is cut off first, so that the records appended follow whole
// ones; a last line that is a whole record, only without its line break
// (an editor's doing), gets one. The file is locked for the run, as two
// workers writing one file would cut each other's lines.
func appendOutput(path string) (io.Writer, func() error, error) {
	file, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open output: %w", err)
	}
	fail := func(err error) (io.Writer, func() error, error) {
		file.Close()
		return nil, nil, fmt.Errorf("output %s: %w", path, err)
	}
	if err := lockFile(file); err != nil {
		return fail(fmt.Errorf("%w; give each worker its own file", err))
	}
	end, err := wholeLines(file)
	if err != nil {
		return fail(err)
	}
	st, err := file.Stat()
	if err != nil {
		return fail(err)
	}
	if tail := st.Size() - end; tail > 0 {
		b := make([]byte, min(tail, 64<<20))
		n, _ := file.ReadAt(b, end)
		var rec stages.Record
		if int64(n) == tail && json.Unmarshal(b[:n], &rec) == nil {
			_, err = file.Write([]byte("\n"))
		} else {
			err = file.Truncate(end)
		}
		if err != nil {
			return fail(err)
		}
	}
	return file, file.Close, nil
}

// wholeLines returns where the last whole line of f ends: after its last
// line break, or 0.
func wholeLines(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	for end := st.Size(); end > 0; {
		start := max(end-int64(len(buf)), 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// sameSystem reports whether a and b are connected to one NATS system,
// whose streams they share: one cluster, or one server.
func sameSystem(a, b *nats.Conn) bool {
	if a == b {
		return true
	}
	if c := a.ConnectedClusterName(); c != "" {
		return c == b.ConnectedClusterName()
	}
	return a.ConnectedServerId() == b.ConnectedServerId()
}
