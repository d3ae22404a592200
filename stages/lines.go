package stages

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// MaxLine is the longest input line a source accepts. A longer line becomes
// an invalid_input record, and reading goes on with the next line.
const MaxLine = 1 << 20

// Lines is a source of requests read from r, one URL per line, streamed: the
// first request leaves before the rest of the input is read, and reading
// waits whenever the pipeline is full. Blank lines and lines starting with
// "#" are skipped and are not items. Surrounding white space is trimmed.
// Input is UTF-8, or UTF-16 when it starts with a UTF-16 byte order mark
// or has NULs at every other byte of its first characters, as exports of
// spreadsheets and Windows tools do.
//
// Reading stops when the context ends, at the next line. A Read that blocks
// holds the run until it returns, so give a reader that returns when closed
// or interrupted (a file, a pipe, a socket).
//
// Options: WithTemplate, WithShard, WithBuffer.
func Lines(p *pipeline.Pipeline, r io.Reader, opts ...Option) pipeline.Stream[Request] {
	s := newSettings("Lines", sourceOptions, opts)
	tmpl := parseTemplate(s.template)
	return readItems(p, r, s, func(seq int64, line []byte) Request {
		return tmpl.request(seq, string(line))
	})
}

// URLs is a source of requests for the given items, one per item, in
// order, each trimmed of surrounding white space and put into the template
// as Lines does. Unlike the lines of a file, items skip nothing: an empty
// item or one starting with "#" is still an item, and gets its record.
//
// Options: WithTemplate, WithShard, WithBuffer.
func URLs(p *pipeline.Pipeline, items []string, opts ...Option) pipeline.Stream[Request] {
	s := newSettings("URLs", sourceOptions, opts)
	tmpl := parseTemplate(s.template)
	return listItems(p, items, s, tmpl.request)
}

// listItems streams the requests that parse makes of items, each trimmed
// of surrounding white space, at its place in the list: the sources of
// lists, URLs and SpecList.
func listItems(p *pipeline.Pipeline, items []string, s *settings, parse func(seq int64, item string) Request) pipeline.Stream[Request] {
	return pipeline.Generate(p, func(ctx context.Context, emit func(Request) bool) error {
		for seq, item := range items {
			req := parse(int64(seq), strings.TrimSpace(item))
			if s.shard.has(req.Item) && !emit(req) {
				return nil
			}
		}
		return nil
	}, s.buffer...)
}

func skip(line []byte) bool { return len(line) == 0 || line[0] == '#' }

// bom is the UTF-8 byte order mark, which some editors put at the start of
// a text file.
var bom = []byte("\xef\xbb\xbf")

// readItems streams the items of r, one per line, making each into a
// Request with parse. It reads with ReadSlice so that an ordinary line costs
// no copy, and turns an overlong line into an invalid_input item rather than
// an error that would end the run.
func readItems(p *pipeline.Pipeline, r io.Reader, s *settings, parse func(seq int64, line []byte) Request) pipeline.Stream[Request] {
	return pipeline.Generate(p, func(ctx context.Context, emit func(Request) bool) error {
		br := utf8Input(bufio.NewReaderSize(r, 64<<10))
		var (
			long    []byte // a line longer than br's buffer, being assembled
			tooLong bool   // the line being read is over MaxLine: skip the rest
			lead    = -1   // the first byte of the line that is not white space; -1 while there is none
			seq     int64
			first   = true
		)
		for ctx.Err() == nil {
			chunk, err := br.ReadSlice('\n')
			if first {
				chunk = bytes.TrimPrefix(chunk, bom)
				first = false
			}
			if lead < 0 {
				// Decided on the first bytes, so that an overlong comment or
				// blank line is still skipped rather than made an item.
				if t := bytes.TrimLeft(chunk, " \t\r\n\v\f"); len(t) > 0 {
					lead = int(t[0]) // which may be a NUL: still an item
				}
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				// Keep room for a CRLF, which is not part of the line.
				if !tooLong && len(long)+len(chunk) <= MaxLine+2 {
					long = append(long, chunk...)
				} else {
					long, tooLong = nil, true
				}
				continue
			}
			line := chunk
			if long != nil {
				line = append(long, chunk...)
				long = nil
			}
			over := tooLong || len(bytes.TrimRight(line, "\r\n")) > MaxLine
			isItem := lead >= 0 && lead != '#'
			tooLong, lead = false, -1
			if err != nil && !errors.Is(err, io.EOF) {
				if ctx.Err() != nil {
					// Closing the reader, or setting a deadline on it, is how
					// a program unblocks a read on interrupt: the failure it
					// causes is the cut, not a broken input.
					return ctx.Err()
				}
				return fmt.Errorf("reading input: %w", err)
			}
			if t := bytes.TrimSpace(line); isItem && (over || !skip(t)) {
				var req Request
				if over {
					// Its text is gone: all overlong lines at one seq are
					// one item.
					req = Request{Seq: seq, Item: ItemOf("\x00overlong"), Err: newError(KindInvalidInput,
						fmt.Sprintf("input line is longer than the %d-byte limit", MaxLine))}
				} else {
					req = parse(seq, t)
				}
				seq++
				if s.shard.has(req.Item) && !emit(req) {
					return nil
				}
			}
			if err != nil { // io.EOF, after the last line
				return nil
			}
		}
		return ctx.Err()
	}, s.buffer...)
}

// utf8Input returns br, or, for UTF-16 text, a reader of it as UTF-8.
// Spreadsheets and Windows tools export UTF-16, which read as bytes is a
// NUL after every ASCII character: one long line that is not a URL. It is
// known by its byte order mark, or without one by NULs at every other
// byte of its first characters.
func utf8Input(br *bufio.Reader) *bufio.Reader {
	b, err := start(br)
	if err != nil {
		// Peek forgets an error once it has reported it, and a terminal
		// after Ctrl-D blocks on the next read: what came is all there
		// is, followed by the error, every time it is asked for.
		b = bytes.Clone(b)
		br = bufio.NewReader(io.MultiReader(bytes.NewReader(b), stickyError{err}))
	}
	var order unicode.Endianness
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		order = unicode.LittleEndian
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		order = unicode.BigEndian
	case utf16Pattern(b, 1):
		order = unicode.LittleEndian
	case utf16Pattern(b, 0):
		order = unicode.BigEndian
	default:
		return br
	}
	dec := unicode.UTF16(order, unicode.UseBOM).NewDecoder() // a BOM, if any, is dropped
	return bufio.NewReaderSize(transform.NewReader(br, dec), 64<<10)
}

// utf16Pattern reports whether b, at least two characters long, has NULs
// at every other byte from zero (zero 1 for little-endian, 0 for
// big-endian) and none between, as ASCII text in UTF-16 has.
func utf16Pattern(b []byte, zero int) bool {
	if len(b) < 4 {
		return false
	}
	for i := 0; i+1 < len(b); i += 2 {
		if b[i+zero] != 0 || b[i+1-zero] == 0 {
			return false
		}
	}
	return true
}

// start returns the first bytes of br, as many as it takes to tell UTF-16
// from UTF-8, without waiting for more than that: input may come a few
// bytes at a time, but a first line typed at a terminal must not wait
// for the next one. If the input ends or fails first, it returns all
// there is and the error.
func start(br *bufio.Reader) ([]byte, error) {
	for n := 1; ; n++ {
		if _, err := br.Peek(n); err != nil {
			b, _ := br.Peek(br.Buffered())
			return b, err
		}
		b, _ := br.Peek(min(br.Buffered(), 16))
		switch {
		case len(b) >= 16:
			return b, nil
		case b[0] == 0xFF || b[0] == 0xFE:
			if len(b) >= 2 { // a byte order mark, or not one
				return b, nil
			}
		case bytes.IndexByte(b, 0) >= 0:
			if len(b) >= 4 { // enough for the pattern of NULs
				return b, nil
			}
		case bytes.IndexByte(b, '\n') >= 0:
			return b, nil // a line, with no NUL: UTF-8
		}
		n = len(b)
	}
}

// stickyError is a reader that fails with its error on every read.
type stickyError struct{ err error }

func (r stickyError) Read([]byte) (int, error) { return 0, r.err }
