// Command fetchpipe fetches many URLs at once and streams one NDJSON record
// per input item, in the order the answers arrive:
//
//	fetchpipe -t 'https://api.example.com/r/{}.json' -c 100 < names.txt | jq .body.data
//
// Run "fetchpipe --help" for the flags and "fetchpipe demo" for an offline
// demonstration against a built-in fake API. The README documents the record
// schema and the exit status.
package main

import (
	"context"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"
)

// doubleSignal is how long after the first signal a second one is taken as
// the same one sent twice.
const doubleSignal = time.Second

func main() {
	// net/http logs a few oddities of servers (an unsolicited response on
	// an idle connection) to the standard logger: stray lines on stderr
	// that say nothing a record does not.
	log.SetOutput(io.Discard)
	ctx, stop := interruptContext()
	code := run(ctx, os.Args[1:], env{stdin: interruptibleStdin(), stdout: os.Stdout, stderr: os.Stderr,
		stdinTerminal: term.IsTerminal(int(os.Stdin.Fd()))})
	stop()
	os.Exit(code)
}

// interruptContext returns a context that the first SIGINT or SIGTERM
// cancels with errInterrupted, so that the run stops reading input and
// finishes what it read as canceled records. A second signal means the user
// will not wait for that: the process exits at once, saying how many items
// got no record. Only a signal that comes at least doubleSignal after the
// first counts as a second: GNU timeout and many supervisors send SIGTERM
// to the process and to its group, and the pair arrives milliseconds
// apart, where a person pressing Ctrl-C again takes longer.
func interruptContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
		case <-done:
			return
		}
		cancel(errInterrupted)
		first := time.Now()
		for {
			select {
			case <-sig:
				if time.Since(first) < doubleSignal {
					continue
				}
				os.Exit(quitNow(os.Stderr))
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(done)
		cancel(nil)
	}
}
