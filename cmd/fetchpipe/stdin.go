package main

import (
	"io"
	"os"
	"sync"
)

// interruptibleStdin returns a reader of standard input that an interrupt
// can unblock. A read of a pipe or terminal blocks in read(2), outside Go's
// poller, so the run could not stop on Ctrl-C until the next line came. A
// goroutine copies stdin into an io.Pipe instead; closing the pipe's reader
// ends a blocked Read at once, and the copying goroutine, still blocked,
// goes with the process. The copy holds at most one buffer, so backpressure
// still reaches the writer of stdin.
//
// Switching fd 0 to non-blocking mode would avoid the copy, but the mode
// belongs to the open file, which a terminal shares with stdout and with
// the shell: it would break both.
//
// The copy starts at the first Read: a run that takes its items from
// elsewhere (-i, arguments, --from, serve-fake) must not read a terminal
// at all, or, started in the background (&), the shell would stop it for
// reading the terminal, and in the foreground it would swallow what the
// user types ahead.
func interruptibleStdin() io.Reader {
	if st, err := os.Stdin.Stat(); err == nil && st.Mode().IsRegular() {
		return os.Stdin // a file never blocks for long
	}
	pr, pw := io.Pipe()
	return &lazyStdin{pr: pr, start: sync.OnceFunc(func() {
		go func() {
			_, err := io.Copy(pw, os.Stdin)
			pw.CloseWithError(err)
		}()
	})}
}

// lazyStdin is the reader of interruptibleStdin: it starts copying stdin
// at its first Read, and its Close ends a blocked Read.
type lazyStdin struct {
	pr    *io.PipeReader
	start func()
}

func (s *lazyStdin) Read(p []byte) (int, error) {
	s.start()
	return s.pr.Read(p)
}

func (s *lazyStdin) Close() error { return s.pr.Close() }
