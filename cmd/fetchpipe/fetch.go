package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/nats-io/nats.go"
	"github.com/segmentio/encoding/json"
	"golang.org/x/term"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
	"github.com/fetchpipe/fetchpipe/stages/natsqueue"
)

// run is a fetch run from the command line: it opens the input and output
// the flags name, streams the records and reports how it ended. Errors it
// returns are usage errors; a run that started ends in an exitCode.
func (f *fetchFlags) run(ctx context.Context, args []string, e env) error {
	fetchOpts, format, err := f.options()
	if err != nil {
		return err
	}
	throttle, err := f.throttle.options()
	if err != nil {
		return err
	}
	fetchOpts = append(fetchOpts, throttle...)
	if tlsOpt, err := f.tlsOption(e.stderr); err != nil {
		return err
	} else if tlsOpt != nil {
		fetchOpts = append(fetchOpts, tlsOpt)
	}
	tuneGC(f.concurrency)
	var sourceOpts []stages.Option
	if f.jsonl {
		sourceOpts = append(sourceOpts, stages.WithMaxDepth(f.maxDepth))
	}
	if f.template != "" {
		if f.jsonl {
			return errors.New("--template and --jsonl do not go together: a spec names its own URL")
		}
		if err := stages.CheckTemplate(f.template); err != nil {
			return fmt.Errorf("--template: %w", err)
		}
		sourceOpts = append(sourceOpts, stages.WithTemplate(f.template))
	}
	if f.shard != "" {
		i, n, err := parseShard(f.shard)
		if err != nil {
			return fmt.Errorf("--shard: %w", err)
		}
		sourceOpts = append(sourceOpts, stages.WithShard(i, n))
	}
	var (
		in      io.Reader
		items   []string
		closeIn = func() {}
	)
	if f.from == "" {
		if in, items, closeIn, err = f.openInput(args, e); err != nil {
			return err
		}
	}
	defer closeIn()
	var (
		out      io.Writer
		closeOut func() error
		prev     *stages.Previous
		sync     func() error
	)
	// Messages come from Fetch's workers (-v), its observer (limits) and
	// the interrupt: one at a time, whole lines.
	var messages io.Writer = &lockedWriter{w: e.stderr}
	if f.silent {
		if f.verbose {
			return errors.New("--silent and --verbose do not go together")
		}
		f.summary = summarySilent
		messages = io.Discard
	}
	var (
		progress *counts
		disp     *display
	)
	tally := stages.NewTally()
	// A line redrawn in place only where nothing else writes: on a
	// terminal that the records (stdout, unless -o) and typed URLs
	// (stdin) are not on.
	recordsOnStdout := (f.output == "" || f.output == "-") && f.resume == "" && f.to == ""
	typing := e.stdinTerminal && len(args) == 0 && (f.input == "" || f.input == "-") && f.from == ""
	redraw := isTerminal(e.stderr) && !(recordsOnStdout && isTerminal(e.stdout)) && !typing
	if !f.dryRun && (f.progress == progressAlways || f.progress == progressAuto && !f.silent && redraw) {
		progress = &counts{tally: tally, ordered: f.ordered}
		progress.total.Store(-1)
		disp = newDisplay(e.stderr, redraw)
		defer func() { disp.stop() }() // on every way out; stopping twice is safe
		messages = disp
	}
	if progress != nil || f.throttle.autoThrottle {
		// The tally hears what is in flight, for progress, and the limit
		// each host settles at, for the summary.
		observe := tally.Observe
		if f.throttle.autoThrottle && f.verbose {
			observe = withLimitLog(observe, messages)
		}
		fetchOpts = append(fetchOpts, stages.WithObserver(observe))
	}
	// The tally hears the retries too, for what the summary says they
	// were for: a call a retry. Redirects only for -v, as tracing them
	// costs each request a little.
	trace, events := verboseLog(messages, f.verbose), []stages.TraceEvent{stages.TraceRetry, stages.TraceSpoolFull}
	if f.verbose {
		events = append(events, stages.TraceRedirect)
	}
	fetchOpts = append(fetchOpts, stages.WithTrace(func(tr stages.Trace) {
		tally.Trace(tr)
		trace(tr)
	}, events...))
	switch {
	case f.dryRun && f.resume != "":
		return errors.New("--dry-run fetches nothing: it does not go with --resume, which appends records")
	case f.rawBody && f.save != "":
		return errors.New("--raw-body writes bodies, which --save puts in files: use one or the other")
	}
	var queue *queueTask
	if err := f.checkQueueFlags(args); err != nil {
		return err
	}
	if f.from != "" || f.to != "" {
		if queue, err = f.openQueue(ctx, sourceOpts, messages); err != nil {
			return err
		}
		defer queue.close()
		if progress != nil && queue.pulling() {
			progress.queue = queue.waiting
		}
	}
	switch {
	case f.resume != "":
		out, prev, closeOut, sync, err = f.resumeOutput(in)
	case f.to != "":
		out, closeOut = io.Discard, func() error { return nil }
	case f.from != "" && isRegularFile(f.output):
		out, closeOut, err = appendOutput(f.output)
	default:
		out, closeOut, err = f.openOutput(e, in)
	}
	if err != nil {
		return err
	}
	if file, ok := out.(*os.File); ok && f.from != "" {
		if st, serr := file.Stat(); serr == nil && st.Mode().IsRegular() {
			// An item is acked once its record is on disk, not in the
			// page cache a crash of the machine loses.
			sync = file.Sync
		}
	}
	if f.dryRun {
		src := fetchTask{in: in, items: items, source: sourceOpts, jsonl: f.jsonl}
		return dryRun(ctx, &src, f, out, closeOut, e.stderr)
	}
	if progress != nil {
		switch {
		case items != nil:
			progress.total.Store(int64(len(items)))
		case f.input != "" && f.input != "-" && f.from == "":
			countCtx, stopCount := context.WithCancel(ctx)
			defer stopCount() // a total is no use once the run is over
			go countItems(countCtx, f.input, f.jsonl, sourceOpts, progress)
		}
		if prev != nil {
			progress.base = int64(prev.Done())
		}
	}
	var fields stages.Fields
	switch {
	case f.rawBody && (f.fields != "" || f.resume != ""):
		return errors.New("--raw-body writes bodies alone: it goes with neither --fields nor --resume, which need records")
	case f.fields != "":
		if fields, err = stages.ParseFields(f.fields); err != nil {
			return fmt.Errorf("--fields: %w", err)
		}
		if prev != nil {
			// What a later resume reads of each record.
			fields = fields.With("seq", "follow", "item", "url", "ok")
		}
	}
	t := fetchTask{
		saveDir: f.save,
		fields:  fields,
		rawBody: f.rawBody,
		tally:   tally,
		counts:  progress,
		prev:    prev,
		sync:    sync,
		in:      in,
		items:   items,
		source:  sourceOpts,
		jsonl:   f.jsonl,
		fetch:   fetchOpts,
		format:  format,
		out:     out,
		stderr:  messages,
		grace:   f.throttle.grace,
		queue:   queue,
	}
	if d := f.throttle.deadline; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, deadlineReached{d})
		defer cancel()
	}
	refuse := func(changed error) error {
		if disp != nil {
			disp.stop()
		}
		closeOut()
		also := ""
		if f.shard != "" {
			also = " (or it was written with another --shard than " + f.shard + ")"
		}
		fmt.Fprintf(e.stderr, "fetchpipe: --resume %s: %v%s; nothing was written\n", f.resume, changed, also)
		return exitCode(exitUsage) // said: not a usage mistake to point to --help for
	}
	if prev != nil {
		if err := verifyInput(&t, prev); err != nil {
			return refuse(err)
		}
	}
	if disp != nil {
		disp.start(progress) // now that the run is sure to start
	}
	res := t.runTo(ctx, closeOut)
	if disp != nil {
		disp.stop() // before the summary, which the progress line would cover
	}
	if changed, ok := errors.AsType[*stages.ChangedInputError](res.err); ok {
		return refuse(changed)
	}
	if prev != nil && prev.Skipped() > 0 {
		fmt.Fprintf(messages, "fetchpipe: resumed %s: skipped the %s it holds ok\n", f.resume, plural(int(prev.Skipped()), "item"))
	}
	if queue.pulling() {
		res.queue = queue.queue
	}
	return exitCode(res.report(ctx, e.stderr, f.summary))
}

// openInput returns the input: the arguments, each an item whatever it
// holds (with --jsonl, each a spec, even over several lines), else the
// --input file, else stdin.
func (f *fetchFlags) openInput(args []string, e env) (in io.Reader, items []string, close func(), err error) {
	switch {
	case len(args) > 0 && f.input != "":
		return nil, nil, nil, errors.New("give input as arguments or with --input, not both")
	case len(args) > 0:
		return nil, args, func() {}, nil
	case f.input != "" && f.input != "-":
		file, err := os.Open(f.input)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cannot open input: %w", err)
		}
		if st, err := file.Stat(); err == nil && st.IsDir() {
			file.Close()
			return nil, nil, nil, fmt.Errorf("cannot open input: %s is a directory", f.input)
		}
		return file, nil, func() { file.Close() }, nil
	}
	if e.stdinTerminal {
		fmt.Fprintln(e.stderr, "fetchpipe: reading URLs from the terminal, one per line; end with Ctrl-D (or give URLs as arguments, or -i FILE)")
	}
	return e.stdin, nil, func() {}, nil
}

// openOutput returns the writer of records and a function that closes it.
// A file that cannot be created is a usage error: nothing was fetched yet,
// and so is an output that is the input file, which writing would destroy
// before it was read.
//
// The file is opened write-only: opened read-write, a pipe such as
// /dev/stdout would have the process as one of its readers, so that a
// write to it never failed when the real reader went away, and the run
// blocked forever once the pipe was full.
func (f *fetchFlags) openOutput(e env, in io.Reader) (io.Writer, func() error, error) {
	if f.output == "" || f.output == "-" {
		if sameFile(in, e.stdout) {
			return nil, nil, errors.New("standard output is the input file: writing records into it would destroy the input (and '>' has already emptied it); write to another file")
		}
		return e.stdout, func() error { return nil }, nil
	}
	if st, err := os.Stat(f.output); err == nil && sameFileInfo(in, st) {
		return nil, nil, fmt.Errorf("--output %s is the input file: writing it would destroy the input before it was read", f.output)
	}
	file, err := os.OpenFile(f.output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot create output: %w", err)
	}
	return file, file.Close, nil
}

// sameFile reports whether in and out are both files, and the same one.
func sameFile(in io.Reader, out io.Writer) bool {
	o, ok := out.(*os.File)
	if !ok {
		return false
	}
	st, err := o.Stat()
	return err == nil && st.Mode().IsRegular() && sameFileInfo(in, st)
}

// sameFileInfo reports whether in is a file, and the one st describes.
func sameFileInfo(in io.Reader, st os.FileInfo) bool {
	i, ok := in.(*os.File)
	if !ok {
		return false
	}
	ist, err := i.Stat()
	return err == nil && os.SameFile(ist, st)
}

// fetchTask is one run of the fetch pipeline, shared by the command and
// the demo.
type fetchTask struct {
	in      io.Reader // input lines, read when items is nil
	items   []string  // input items, for arguments
	source  []stages.Option
	jsonl   bool
	fetch   []stages.Option
	format  stages.Format
	out     io.Writer
	stderr  io.Writer
	grace   time.Duration              // for the message on an interrupt
	prev    *stages.Previous           // with --resume: what the output holds already
	counts  *counts                    // with progress shown: what the sink has written
	tally   *stages.Tally              // the records' counts; nil for a new one
	brief   func(stages.Record) string // when set, writes each record as this line instead of NDJSON
	fields  stages.Fields              // with --fields, the fields to write
	rawBody bool                       // --raw-body: ok bodies alone, failures on stderr
	saveDir string                     // --save's, for a quit at once to clean
	sync    func() error               // syncs the output to disk, where it is a file
	queue   *queueTask                 // with --from or --to: the NATS side of the run

	// first, when set, is called when the first record reaches the sink.
	first func()
}

// runResult is how a run ended.
type runResult struct {
	err     error // fatal, or the context's cause when input was left unread
	tally   *stages.Tally
	elapsed time.Duration
	// queue is the queue the items came from (--from), not an input:
	// the summary says what became of its messages.
	queue *natsqueue.Queue
}

// runTo runs the task, then closes its output with closeOut: a failure to
// close is a failure to write.
func (t *fetchTask) runTo(ctx context.Context, closeOut func() error) runResult {
	res := t.run(ctx)
	if err := closeOut(); err != nil && res.err == nil {
		res.err = fmt.Errorf("writing output: %w", err)
	}
	return res
}

func (t *fetchTask) run(ctx context.Context) runResult {
	start := time.Now()
	p := pipeline.New(ctx)
	said := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(said)
		if t.counts != nil {
			t.counts.stopping.Store(true)
		}
		if d, ok := errors.AsType[deadlineReached](context.Cause(ctx)); ok {
			fmt.Fprintf(t.stderr, "fetchpipe: %v: finishing the records in flight as canceled\n", d)
		} else {
			inFlight := "canceling the requests in flight"
			if t.grace > 0 {
				inFlight = fmt.Sprintf("the requests in flight have %v to finish, then are canceled", t.grace)
			}
			reading := "reading no more input"
			if t.queue.pulling() {
				reading = "taking no more items from the queue"
			}
			fmt.Fprintf(t.stderr, "fetchpipe: interrupted: %s; %s (interrupt again to quit at once)\n", reading, inFlight)
		}
		// A read blocked on a pipe or terminal would hold the run until the
		// next line came; closing the input ends it at once.
		if c, ok := t.in.(io.Closer); ok {
			c.Close()
		}
	})
	// The message must be out before the run's own report, and the two
	// must not write stderr at once.
	defer func() {
		if !stop() {
			<-said
		}
	}()
	// A fatal error (the output failed) aborts the run, which then waits
	// for its source: a read blocked on a pipe or terminal must end too,
	// or the run would wait for the next line of input, maybe forever.
	ended := make(chan struct{})
	defer close(ended)
	go func() {
		select {
		case <-p.Done():
			if c, ok := t.in.(io.Closer); ok {
				c.Close()
			}
		case <-ended:
		}
	}()
	reqs := t.requests(p)
	read := p.Produced
	if t.counts != nil {
		t.counts.run.Store(p)
	}
	if t.prev != nil {
		reqs = stages.Resume(reqs, t.prev)
		// Items skipped get no record in this run: they have theirs.
		read = func() int64 { return p.Produced() - t.prev.Skipped() }
	}
	nw := stages.NewNDJSONWriter(t.out)
	nw.SetFields(t.fields)
	flush := nw.Flush
	if t.sync != nil {
		flush = func() error {
			if err := nw.Flush(); err != nil {
				return err
			}
			return t.sync()
		}
	}
	// Complete before it is published: the signal handler reads it.
	pr := &quitState{read: read, flush: flush, saveDir: t.saveDir}
	if t.queue.pulling() {
		pr.heldNote = "; their messages go back to the queue once its ack wait has passed, and those written unacked come back too"
	}
	current.Store(pr)
	defer current.Store(nil)
	// Fetch decodes in its workers, and the sink counts as it writes: each
	// stage less is a hand-off between goroutines less per record, which
	// costs more than the work it would do.
	recs := stages.Fetch(reqs, append(t.fetch, stages.WithDecode(t.format))...)
	res := runResult{tally: t.tally}
	if res.tally == nil {
		res.tally = stages.NewTally()
	}
	firstRecord := true
	queue := t.queue
	if queue != nil && queue.out != nil {
		// --to: the records are published, and the tally counts them on
		// their way.
		opts := []natsqueue.Option{natsqueue.WithFields(t.fields), natsqueue.WithEach(func(r *stages.Record) {
			if !queue.givenBack(r) { // Publish gives its message back
				res.tally.Add(r)
				pr.written.Add(1)
			}
		})}
		if queue.queue != nil {
			opts = append(opts, natsqueue.WithQueue(queue.queue))
		}
		res.err = natsqueue.Publish(recs, queue.out.js, queue.to.subject, opts...)
		res.elapsed = time.Since(start)
		return res
	}
	// With --from, a record written is settled (its message acked) once
	// it is flushed, and synced where the output is a file.
	pulling := queue.pulling()
	var written []stages.Record
	settle := func() error {
		for i := range written {
			if err := queue.queue.Settle(&written[i]); errors.Is(err, nats.ErrConnectionClosed) {
				return fmt.Errorf("acking items on NATS: %w", err)
			}
		}
		written = written[:0]
		return nil
	}
	res.err = pipeline.ForEach(recs, func(_ context.Context, r stages.Record) error {
		if firstRecord && t.first != nil {
			t.first()
		}
		firstRecord = false
		if pulling {
			if queue.givenBack(&r) {
				return nil // not a result: another worker fetches it
			}
			written = append(written, stages.Record{Seq: r.Seq, Follow: r.Follow, Err: r.Err})
		}
		res.tally.Add(&r)
		pr.writing.Lock()
		defer pr.writing.Unlock()
		switch {
		case t.brief != nil:
			if _, err := io.WriteString(t.out, t.brief(r)); err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
		case t.rawBody:
			if err := writeRaw(t.out, t.stderr, &r); err != nil {
				return err
			}
		default:
			if err := nw.Write(r); err != nil {
				return err
			}
		}
		pr.written.Add(1)
		return nil
	}, pipeline.WithIdle(func() error {
		pr.writing.Lock()
		defer pr.writing.Unlock()
		if !pulling {
			return nw.Flush()
		}
		if err := flush(); err != nil {
			return err
		}
		return settle()
	}))
	res.elapsed = time.Since(start)
	return res
}

// A summaryMode says when the summary of a run is printed (--summary).
type summaryMode string

const (
	summaryAuto   summaryMode = "auto"   // on a terminal, and whenever something failed
	summaryAlways summaryMode = "always" // every time
	summaryNever  summaryMode = "never"  // never: only how the run ended, if it did not end well
	summaryJSON   summaryMode = "json"   // one JSON object, every time

	// summarySilent is --silent: nothing on stderr but a fatal error.
	summarySilent summaryMode = "silent"
)

// requests starts the source the input calls for.
func (t *fetchTask) requests(p *pipeline.Pipeline) pipeline.Stream[stages.Request] {
	if q := t.queue; q.pulling() {
		reqs, queue := natsqueue.Pull(p, q.cons, q.pull...)
		q.queue = queue
		return reqs
	}
	switch {
	case t.items != nil && t.jsonl:
		return stages.SpecList(p, t.items, t.source...)
	case t.items != nil:
		return fileHints(stages.URLs(p, t.items, t.source...), t.items, len(t.source) > 0, t.stderr)
	case t.jsonl:
		return stages.Specs(p, t.in, t.source...)
	}
	return stages.Lines(p, t.in, t.source...)
}

// report says on stderr how the run ended, if that needs saying, and the
// summary if mode says so, and returns the exit status.
func (r runResult) report(ctx context.Context, stderr io.Writer, mode summaryMode) int {
	cause := context.Cause(ctx)
	deadline, late := errors.AsType[deadlineReached](cause)
	interrupted := errors.Is(cause, errInterrupted)
	cut := r.err != nil && errors.Is(r.err, cause) // the input was left unread
	unread := "all input was read"
	switch {
	case r.queue != nil && cut:
		unread = "the rest of the queue is left for its workers"
	case r.queue != nil:
		unread = "the queue was empty"
	case cut:
		unread = "the rest of the input was left unread"
	}
	s := r.tally.Summary()
	code := exitOK
	fatal := stderr
	if mode == summarySilent {
		stderr = io.Discard // all but a fatal error
	}
	switch {
	case r.err != nil && !cut:
		fmt.Fprintf(fatal, "fetchpipe: %v\n", r.err)
		code = exitFatal
	case interrupted:
		fmt.Fprintf(stderr, "fetchpipe: interrupted after %s; %s\n", plural(int(s.Items), "record"), unread)
		code = exitInterrupted
	case late && (cut || s.Kinds[stages.KindCanceled] > 0):
		fmt.Fprintf(stderr, "fetchpipe: %v after %s (%d not ok); %s\n", deadline, plural(int(s.Items), "record"), s.Failed, unread)
		code = exitFailed
	case s.Failed > 0:
		code = exitFailed
	}
	var qs natsqueue.Stats
	if r.queue != nil {
		if qs = r.queue.Stats(); qs.Unpublished > 0 || qs.DeadLetters > 0 {
			code = max(code, exitFailed) // not done: given back for another try, or given up
		}
	}
	switch {
	case mode == summaryJSON:
		var v any = s
		if r.queue != nil {
			v = struct {
				stages.Summary
				Queue natsqueue.Stats `json:"queue"`
			}{s, qs}
		}
		b, _ := json.Marshal(v)
		fmt.Fprintf(stderr, "%s\n", b)
	case mode == summaryAlways, mode == summaryAuto && (s.Failed > 0 || isTerminal(stderr)):
		fmt.Fprintf(stderr, "fetchpipe: %s", s)
		if r.queue != nil {
			reportQueue(stderr, r.queue.Stream(), qs)
		}
	}
	return code
}

// isTerminal reports whether w is a terminal, where a person reads.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return humanize.Comma(int64(n)) + " " + noun + "s"
}

// parseSize reads a byte size such as 16MiB, 512KiB, 2MB or 1048576.
func parseSize(s string) (int64, error) {
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size such as 16MiB or 512KiB", s)
	}
	if n > 1<<62 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	if n == 0 && strings.ContainsAny(s, "123456789") {
		// 0.5 rounds down to 0, which means no cap at all: the opposite
		// of what was asked.
		return 0, fmt.Errorf("%q is less than a byte; give 0 for no cap", s)
	}
	return int64(n), nil
}

// gcPercent is the GOGC a run with few requests in flight uses.
const gcPercent = 400

// tuneGC lets the heap grow further between collections when few requests
// are in flight. Then the live heap is a few megabytes, so by default the
// collector runs every few hundred requests, and on a fast local API that
// cost a tenth of the CPU per request (measured: 8-9 us of about 70, at -c
// 64 and -c 256); the price is some 15 MB more. With thousands in flight
// the live heap is large and the default is right. GOGC, if set, wins.
func tuneGC(concurrency int) {
	if concurrency <= 256 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// fileHints adds to the record of an argument that names an existing file,
// and so cannot be a URL, a hint that -i reads URLs from a file: "fetchpipe
// urls.txt" is a common first try. With a template, an argument is a value
// and may well name a file.
func fileHints(reqs pipeline.Stream[stages.Request], items []string, templated bool, stderr io.Writer) pipeline.Stream[stages.Request] {
	if templated {
		return reqs
	}
	files := make(map[int64]string)
	first := ""
	for i, item := range items {
		item = strings.TrimSpace(item)
		if st, err := os.Stat(item); err == nil && st.Mode().IsRegular() && !strings.Contains(item, "://") {
			files[int64(i)] = item
			if first == "" {
				first = item
			}
		}
	}
	if len(files) == 0 {
		return reqs
	}
	// Said on stderr too, once: in a record, it is easily missed.
	if stderr != nil {
		fmt.Fprintf(stderr, "fetchpipe: %s is a file, not a URL: to read URLs from it, give -i %s\n", first, first)
	}
	return pipeline.Map(reqs, func(_ context.Context, r stages.Request) (stages.Request, error) {
		if name, ok := files[r.Seq]; ok {
			r.Err = &stages.Error{Kind: stages.KindInvalidInput,
				Message: fmt.Sprintf("%q is a file, not a URL: to read URLs from it, give -i %s", name, name)}
		}
		return r, nil
	})
}

// lockedWriter writes to w one Write at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// threeFigures rounds d to three significant figures, as a person reads
// a time: 21.3ms, 101ms, 1s rather than 1.0006s.
func threeFigures(d time.Duration) time.Duration {
	for unit := time.Microsecond; unit < time.Hour; unit *= 10 {
		if d < 1000*unit {
			return d.Round(unit)
		}
	}
	return d.Round(time.Second)
}

// overdueLogEvery is how often, at most, -v says that a host's requests
// go on without holding its slots.
var overdueLogEvery = 10 * time.Second

// autoThrottleStart is where --auto-throttle starts each host's limit:
// pipeline.Adaptive's default Start.
const autoThrottleStart = 2

// maxLoggedHosts bounds the hosts -v remembers.
const maxLoggedHosts = 10000

// hostLog is what -v has said of a host: the limit it last gave it, when
// it last said that the host's requests go on without holding its slots,
// and how many such it has not said since.
type hostLog struct {
	limit     int
	overdueAt time.Time
	more      int
}

// withLimitLog adds to observe a line on w for each cut of a host's
// limit, as --auto-throttle finds it, with why, and for its growth each
// time it reaches a power of two (a line for each step up would be
// hundreds), and one for a request that no longer holds a slot of its
// host's, having had no answer for long: one a host each overdueLogEvery
// at most, counting those it did not print, as a list where one URL in
// five hangs would otherwise print one for each. An observer is called
// one event at a time, so hosts needs no lock.
func withLimitLog(observe func(pipeline.Event), w io.Writer) func(pipeline.Event) {
	hosts := map[string]*hostLog{}
	// host returns what -v has said of key; nil past maxLoggedHosts.
	host := func(key string) *hostLog {
		h := hosts[key]
		if h == nil && len(hosts) < maxLoggedHosts {
			h = &hostLog{limit: autoThrottleStart} // where every host starts
			hosts[key] = h
		}
		return h
	}
	return func(e pipeline.Event) {
		observe(e)
		switch e.Kind {
		case pipeline.EventOverdue:
			// Past maxLoggedHosts, nothing: a line for each would be a
			// flood.
			if h := host(e.Key); h != nil {
				h.logOverdue(w, e, time.Now())
			}
		case pipeline.EventLimits:
			was := autoThrottleStart
			if h := host(e.Key); h != nil {
				was, h.limit = h.limit, e.Limits.InFlight
			}
			logLimit(w, e, was)
		}
	}
}

// logOverdue says that e's request goes on without holding one of the
// host's slots, unless it said so of the host less than overdueLogEvery
// ago.
func (h *hostLog) logOverdue(w io.Writer, e pipeline.Event, now time.Time) {
	if !h.overdueAt.IsZero() && now.Sub(h.overdueAt) < overdueLogEvery {
		h.more++
		return
	}
	more := ""
	if h.more > 0 {
		more = fmt.Sprintf(" (and %d more of the host's since the last such line)", h.more)
	}
	h.overdueAt, h.more = now, 0
	fmt.Fprintf(w, "fetchpipe: [seq %d] %s: not done in %v: the request goes on without holding one of the host's slots%s\n",
		e.Seq, e.Key, threeFigures(e.Wait), more)
}

// logLimit says that the limit of e's host changed from was, and why:
// each cut, and growth to each power of two.
func logLimit(w io.Writer, e pipeline.Event, was int) {
	n := e.Limits.InFlight
	switch {
	case e.Change == pipeline.LimitRestored:
		fmt.Fprintf(w, "fetchpipe: %s: back up to %d in flight (was %d): its answers were as slow with half as many at once, so %v is their usual time now\n",
			e.Key, n, was, threeFigures(e.Usual))
	case n < was && e.Change == pipeline.LimitSlowed:
		// Twice: --auto-throttle's Tolerance is the default.
		fmt.Fprintf(w, "fetchpipe: %s: down to %d in flight (was %d): its requests took over twice their usual %v\n",
			e.Key, n, was, threeFigures(e.Usual))
	case e.Change == pipeline.LimitRefusedAnyway:
		fmt.Fprintf(w, "fetchpipe: %s: back up to %d in flight (was %d): it turned as many requests away with fewer at once, so its refusals are no sign of load\n",
			e.Key, n, was)
	case n < was && e.Change == pipeline.LimitEased:
		// 1.5 times: half the way to the default Tolerance's twice.
		fmt.Fprintf(w, "fetchpipe: %s: down to %d in flight (was %d): its requests took over 1.5 times their usual %v, and more at once would only wait in its queue\n",
			e.Key, n, was, threeFigures(e.Usual))
	case n < was && e.Change == pipeline.LimitTimedOut:
		fmt.Fprintf(w, "fetchpipe: %s: down to %d in flight (was %d): half or more of its requests timed out, where they usually take %v\n",
			e.Key, n, was, threeFigures(e.Usual))
	case n < was && e.Change == pipeline.LimitRefused:
		fmt.Fprintf(w, "fetchpipe: %s: down to %d in flight (was %d): it turned requests away (429, 502-504, a connection refused or reset)\n", e.Key, n, was)
	case n < was:
		fmt.Fprintf(w, "fetchpipe: %s: down to %d in flight (was %d)\n", e.Key, n, was)
	case n&(n-1) == 0:
		fmt.Fprintf(w, "fetchpipe: %s: up to %d in flight\n", e.Key, n)
	}
}

// verboseLog returns the trace of --verbose: a line on w for each retry
// and redirect, with the item's seq and URL, when verbose; and, always, a
// line when --ordered's spool is full. Fetch's workers call it at once: w
// (the run's messages) writes one line at a time.
func verboseLog(w io.Writer, verbose bool) func(stages.Trace) {
	return func(tr stages.Trace) {
		var line string
		switch {
		case tr.Event == stages.TraceSpoolFull:
			line = "fetchpipe: the --ordered spool is full (--spool-limit): reading waits for the slow record ahead\n"
		case !verbose:
			return
		}
		switch tr.Event {
		case stages.TraceRetry:
			why := ""
			if tr.FromRetryAfter {
				why = ", as Retry-After asks"
			}
			line = fmt.Sprintf("fetchpipe: [seq %d] %s: %s; try %d in %v%s\n", tr.Seq, tr.URL, tr.Reason, tr.Try+1, tr.Wait.Round(time.Millisecond), why)
		case stages.TraceRedirect:
			line = fmt.Sprintf("fetchpipe: [seq %d] %s: redirected to %s\n", tr.Seq, tr.URL, tr.To)
		case stages.TraceSpoolFull:
		default:
			return
		}
		io.WriteString(w, line)
	}
}

// writeRaw writes an ok record's body alone as a line of out (JSON as it
// is, text as a JSON string, so that a line stays a line), and a record
// that is not ok as a line of stderr.
func writeRaw(out, stderr io.Writer, r *stages.Record) error {
	if r.Err != nil {
		fmt.Fprintf(stderr, "fetchpipe: [seq %d] %s: %s: %s\n", r.Seq, r.URL, r.Err.Kind, r.Err.Message)
		return nil
	}
	if _, err := out.Write(append(r.AppendBody(nil), '\n')); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// parseShard reads --shard's I/N.
func parseShard(s string) (i, n int, err error) {
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("%q is not I/N, such as 0/3 for the first of three shards", s)
	case n < 1:
		return 0, 0, fmt.Errorf("%q has %d shards: N must be at least 1", s, n)
	case i < 0 || i >= n:
		return 0, 0, fmt.Errorf("%q: I counts from 0, so it must be from 0 to %d", s, n-1)
	}
	return i, n, nil
}
