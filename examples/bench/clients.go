package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"iter"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// A client is one of the seed's strategies re-created in Go, run as
// "bench -client NAME -c K": it reads URLs from in, one per line, fetches
// them with at most k requests in flight, and writes one line per result to
// out. Each is what a programmer would write for that strategy, no more:
// they exist to be measured beside fetchpipe, in a process of their own.
type client func(ctx context.Context, k int, urls iter.Seq[string], out io.Writer) *tally

// clients are the hidden modes of the bench binary, by name.
var clients = map[string]client{
	"sequential": sequential,
	"pool":       pool,
	"bare":       bare,
	"discard":    discard,
}

// isClient reports whether the bench was started as a client under test
// rather than as the bench.
func isClient(args []string) bool {
	return len(args) > 0 && (args[0] == "-client" || strings.HasPrefix(args[0], "-client="))
}

func runClient(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench -client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("client", "", "the strategy: "+strings.Join(clientNames(), ", "))
	k := fs.Int("c", 1, "requests in flight at most")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, ok := clients[*name]
	if !ok || *k < 1 {
		fmt.Fprintf(stderr, "bench: -client %q -c %d: want one of %s, and -c at least 1\n", *name, *k, strings.Join(clientNames(), ", "))
		return 2
	}
	t := c(ctx, *k, lines(stdin), stdout)
	return t.report(stderr, *name)
}

// lines yields the non-blank lines of r, as every client reads its input.
func lines(r io.Reader) iter.Seq[string] {
	return func(yield func(string) bool) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && !yield(l) {
				return
			}
		}
	}
}

// newTransport is the transport a careful Go programmer gives a client with
// k requests in flight to one host: the default one, with as many idle
// connections kept as there are requests in flight, so that keep-alive
// works (the default keeps 2 per host, and 100 in all).
func newTransport(k int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = k
	t.MaxIdleConnsPerHost = k
	return t
}

// get fetches u and reads its whole body.
func get(ctx context.Context, c *http.Client, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// appendLine is the one-line result the sequential, pool and bare clients
// write: the URL, the status and the body as it came. The fake API's bodies
// are compact JSON, so the line is JSON too, as fetchpipe's record is; unlike
// fetchpipe, nothing checks that.
func appendLine(b []byte, u string, status int, body []byte, err error) []byte {
	b = append(b, `{"url":`...)
	b = appendQuoted(b, u)
	if err != nil {
		b = append(b, `,"error":`...)
		b = appendQuoted(b, err.Error())
		return append(b, "}\n"...)
	}
	b = fmt.Appendf(b, `,"status":%d,"body":`, status)
	b = append(b, body...)
	return append(b, "}\n"...)
}

// appendQuoted writes s as a JSON string; URLs and error messages need
// only the escapes below.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = fmt.Appendf(b, `\u%04x`, c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// tally counts results, for the exit status: a client whose requests failed
// must not pass for a fast one.
type tally struct {
	done, failed atomic.Int64
	mu           sync.Mutex
	firstErr     error
}

func (t *tally) add(status int, err error) {
	t.done.Add(1)
	if err == nil && (status < 200 || status > 299) {
		err = fmt.Errorf("status %d", status)
	}
	if err != nil {
		t.failed.Add(1)
		t.mu.Lock()
		if t.firstErr == nil {
			t.firstErr = err
		}
		t.mu.Unlock()
	}
}

func (t *tally) report(stderr io.Writer, name string) int {
	if n := t.failed.Load(); n > 0 {
		fmt.Fprintf(stderr, "bench -client %s: %d of %d requests failed; the first: %v\n", name, n, t.done.Load(), t.firstErr)
		return 1
	}
	return 0
}

// lockedWriter serialises whole lines from many goroutines, with no
// buffering: each line is written the moment its result is ready, as a
// program that prints its results would.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) write(line []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.w.Write(line)
	return err
}

// clientNames lists the hidden modes, for messages.
func clientNames() []string {
	names := make([]string, 0, len(clients))
	for n := range clients {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
