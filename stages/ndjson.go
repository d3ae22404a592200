package stages

import (
	"context"
	"fmt"
	"io"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// WriteNDJSON is the sink that writes each record to w as one line of JSON
// (see Record.AppendJSON), then waits for the run and returns how it ended.
//
// Output is buffered, and flushed whenever no record is ready: a reader
// downstream sees each record as soon as it is done, while a bulk run still
// writes in large blocks. Encoding reuses one buffer, so steady state
// allocates nothing. A failed write is fatal: the run stops and WriteNDJSON
// returns the error.
//
// To do more with each record on the way out, such as counting failures,
// use an NDJSONWriter in pipeline.ForEach instead.
func WriteNDJSON(in pipeline.Stream[Record], w io.Writer) error {
	nw := NewNDJSONWriter(w)
	return pipeline.ForEach(in, func(_ context.Context, r Record) error { return nw.Write(r) }, pipeline.WithIdle(nw.Flush))
}

// An NDJSONWriter writes records as lines of JSON through a buffer: the
// sink of WriteNDJSON, for a sink of one's own that also does other work
// with each record, without a stage (and a goroutine hand-off) for it:
//
//	nw := stages.NewNDJSONWriter(os.Stdout)
//	err := pipeline.ForEach(recs, func(_ context.Context, r stages.Record) error {
//		count(r)
//		return nw.Write(r)
//	}, pipeline.WithIdle(nw.Flush))
//
// Flush on idle, as above, so that a reader sees each record promptly.
//
// Every write to w holds whole lines: a record that does not fit in what
// is left of the buffer is written on its own, after the records before
// it, so that a process killed between two writes leaves a file of whole
// records, never a torn last line.
type NDJSONWriter struct {
	w      io.Writer
	buf    []byte // whole lines not yet written
	fields Fields // nil: all
}

// SetFields makes Write write only the fields fs, in their order (see
// Record.AppendFields); nil writes them all.
func (w *NDJSONWriter) SetFields(fs Fields) { w.fields = fs }

// bufSize is how many bytes of records an NDJSONWriter gathers before it
// writes them: large enough that a bulk run makes few system calls.
const bufSize = 64 << 10

// NewNDJSONWriter returns an NDJSONWriter that writes to w in blocks of up
// to 64 KiB of whole lines.
func NewNDJSONWriter(w io.Writer) *NDJSONWriter {
	return &NDJSONWriter{w: w, buf: make([]byte, 0, bufSize)}
}

// Write buffers r as one line. Its error says that writing to w failed.
func (w *NDJSONWriter) Write(r Record) error {
	start := len(w.buf)
	// Encoded in place: a record that fits, as most do, costs no copy.
	if w.fields != nil {
		w.buf = append(r.AppendFields(w.buf, w.fields), '\n')
	} else {
		w.buf = append(r.AppendJSON(w.buf), '\n')
	}
	if len(w.buf) <= bufSize {
		return nil
	}
	if err := w.write(w.buf[:start]); err != nil {
		return err
	}
	line := w.buf[start:]
	if len(line) > bufSize/2 {
		// A large record goes out alone, rather than be moved to wait.
		err := w.write(line)
		w.buf = w.buf[:0]
		if cap(w.buf) > 4*bufSize {
			// One huge body must not pin its buffer for the whole run.
			w.buf = make([]byte, 0, bufSize)
		}
		return err
	}
	w.buf = append(w.buf[:0], line...)
	return nil
}

// Flush writes out what is buffered.
func (w *NDJSONWriter) Flush() error {
	err := w.write(w.buf)
	w.buf = w.buf[:0]
	return err
}

func (w *NDJSONWriter) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}
