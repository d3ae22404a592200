package main

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"time"
)

// urlReader is a child's standard input: the lines "BASE/r/nameI.json" for
// I in [0, n), made as they are read, so that a million URLs cost the bench
// no memory. Distinct names give distinct latency draws from the fake API.
type urlReader struct {
	base    string
	i, n    int
	buf     []byte
	pending []byte
}

func (r *urlReader) Read(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		if len(r.pending) == 0 {
			if r.i == r.n {
				break
			}
			r.buf = append(appendURL(r.buf[:0], r.base, r.i), '\n')
			r.pending = r.buf
			r.i++
		}
		c := copy(p[written:], r.pending)
		written += c
		r.pending = r.pending[c:]
	}
	if written == 0 && r.i == r.n {
		return 0, io.EOF
	}
	return written, nil
}

func appendURL(b []byte, base string, i int) []byte {
	b = append(b, base...)
	b = append(b, "/r/name"...)
	b = strconv.AppendInt(b, int64(i), 10)
	return append(b, ".json"...)
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
