package stages

import (
	"bufio"
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
func WriteNDJSON(in pipeline.Stream[Record], w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	return pipeline.ForEach(in, func(r Record) error {
		line = append(r.AppendJSON(line[:0]), '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		if cap(line) > 1<<20 {
			line = nil // one huge body must not pin its buffer for the whole run
		}
		return nil
	}, pipeline.WithIdle(func() error {
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		return nil
	}))
}
