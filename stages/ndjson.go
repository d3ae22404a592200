package stages

import (
	"bufio"
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
type NDJSONWriter struct {
	bw   *bufio.Writer
	line []byte
}

// NewNDJSONWriter returns an NDJSONWriter that writes to w in blocks of 64
// KiB.
func NewNDJSONWriter(w io.Writer) *NDJSONWriter {
	return &NDJSONWriter{bw: bufio.NewWriterSize(w, 64<<10)}
}

// Write buffers r as one line. Its error says that writing to w failed.
func (w *NDJSONWriter) Write(r Record) error {
	w.line = append(r.AppendJSON(w.line[:0]), '\n')
	_, err := w.bw.Write(w.line)
	if cap(w.line) > 1<<20 {
		w.line = nil // one huge body must not pin its buffer for the whole run
	}
	if err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// Flush writes out what is buffered.
func (w *NDJSONWriter) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}
