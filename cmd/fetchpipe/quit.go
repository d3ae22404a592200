package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fetchpipe/fetchpipe/stages"
)

// quitState is what a run has read and written so far, for the one report
// that cannot wait for the run's end: a quit at once on a second signal.
type quitState struct {
	read    func() int64 // items the source has read
	written atomic.Int64

	// writing is held while records are written, so that a quit waits
	// for a write in progress and leaves only whole lines behind; flush
	// writes out those buffered, which a quit must not lose.
	writing sync.Mutex
	flush   func() error
	// heldNote ends the message of a quit at once: with --from, what
	// becomes of the messages held.
	heldNote string
	// saveDir is --save's: a quit at once leaves its half-written bodies
	// behind, which it removes.
	saveDir string
}

// current is the progress of the run under way, for the signal handler,
// which lives outside any run. Nil between runs.
var current atomic.Pointer[quitState]

// quitWait bounds how long a quit waits for a write in progress: a write
// to a pipe whose reader stopped reading would never end.
const quitWait = time.Second

// quitNow says what a quit at once leaves undone, after the write in
// progress, if any, and returns the exit status to quit with.
func quitNow(stderr io.Writer) int {
	pr := current.Load()
	if pr == nil {
		fmt.Fprintln(stderr, "fetchpipe: interrupted again: quitting at once")
		return exitInterrupted
	}
	deadline := time.Now().Add(quitWait)
	locked := false
	for !locked && time.Now().Before(deadline) {
		if locked = pr.writing.TryLock(); !locked {
			time.Sleep(time.Millisecond)
		}
	}
	if pr.saveDir != "" {
		partial, _ := filepath.Glob(filepath.Join(pr.saveDir, stages.TempPrefix()+"*"))
		for _, name := range partial {
			os.Remove(name)
		}
	}
	read, written := pr.read(), pr.written.Load()
	if !locked || !flushBy(pr.flush, time.Now().Add(quitWait)) {
		// What the writer held is lost with the process; what reached
		// the output is whole lines all the same.
		fmt.Fprintf(stderr, "fetchpipe: interrupted again: quitting at once, with the output blocked; of %s read, %d had a record, not all of them written, and the last line written may be cut\n",
			plural(int(read), "item"), written)
		return exitInterrupted
	}
	fmt.Fprintf(stderr, "fetchpipe: interrupted again: quitting at once; %s read had no record%s\n", plural(int(read-written), "item"), pr.heldNote)
	return exitInterrupted
}

// flushBy flushes, and reports whether that succeeded by the deadline: a
// flush into a pipe whose reader has stopped reading (a paused pager)
// would block the quit for good.
func flushBy(flush func() error, deadline time.Time) bool {
	done := make(chan error, 1)
	go func() { done <- flush() }()
	select {
	case err := <-done:
		return err == nil
	case <-time.After(time.Until(deadline)):
		return false
	}
}
