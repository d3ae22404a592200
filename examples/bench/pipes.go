package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// urlSet is the URLs of a run: "BASE/r/nameI.json" followed by query, for
// I in [0, n), BASE taken from bases in turn; with slowEvery > 0, every
// slowEvery-th URL (I = slowEvery-1, 2·slowEvery-1, …) has slowQuery in
// place of query. Distinct names give distinct latency draws from the
// fake API.
type urlSet struct {
	bases     []string
	n         int
	query     string // "" or "?a=1&b=2"
	slowEvery int
	slowQuery string
}

// oneServer is the URLs of the scenarios that have one server and no query.
func oneServer(base string, n int) urlSet { return urlSet{bases: []string{base}, n: n} }

func (u *urlSet) appendURL(b []byte, i int) []byte {
	b = append(b, u.bases[i%len(u.bases)]...)
	b = append(b, "/r/name"...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ".json"...)
	if u.slowEvery > 0 && i%u.slowEvery == u.slowEvery-1 {
		return append(b, u.slowQuery...)
	}
	return append(b, u.query...)
}

// slow is how many of the URLs are slow ones.
func (u *urlSet) slow() int {
	if u.slowEvery <= 0 {
		return 0
	}
	return u.n / u.slowEvery
}

// writeFile writes the URLs to path, each as line makes it: the input of
// the tools that read their URLs from a file of their own syntax.
func (u *urlSet) writeFile(path string, line func(b, url []byte) []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	var b, url []byte
	for i := range u.n {
		url = u.appendURL(url[:0], i)
		b = line(b[:0], url)
		if _, err := w.Write(b); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// urlReader is a child's standard input: the URLs of a urlSet, one a line,
// made as they are read, so that a million URLs cost the bench no memory.
type urlReader struct {
	urls    urlSet
	i       int
	buf     []byte
	pending []byte
}

func (r *urlReader) Read(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		if len(r.pending) == 0 {
			if r.i == r.urls.n {
				break
			}
			r.buf = append(r.urls.appendURL(r.buf[:0], r.i), '\n')
			r.pending = r.buf
			r.i++
		}
		c := copy(p[written:], r.pending)
		written += c
		r.pending = r.pending[c:]
	}
	if written == 0 && r.i == r.urls.n {
		return 0, io.EOF
	}
	return written, nil
}

// lineCounter is a child's standard output: it counts the lines and notes
// when the first one ended, measured from start. exec.Cmd writes to it from
// one goroutine, and Wait orders those writes before the reads that follow.
type lineCounter struct {
	start   time.Time
	first   time.Duration
	lines   int64
	onFirst func() // called once, when the first line is complete
}

func (c *lineCounter) Write(p []byte) (int, error) {
	n := int64(bytes.Count(p, []byte{'\n'}))
	if n > 0 && c.lines == 0 {
		c.first = time.Since(c.start)
		if c.onFirst != nil {
			c.onFirst()
		}
	}
	c.lines += n
	return len(p), nil
}

// tail keeps the last max bytes written to it: enough of a child's stderr
// to say why it failed, never all of it.
type tail struct {
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(bytes.TrimSpace(t.b)) }

// lastLine is the last non-blank line of s, the one that usually says why.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
