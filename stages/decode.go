package stages

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"unicode/utf8"

	"github.com/segmentio/encoding/json"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// Decode is the stage that turns each record's raw body into format:
//
//   - JSON checks that the body is valid JSON and compacts it, so that the
//     record embeds it as a JSON value on one line with no insignificant
//     white space: an indented answer is often half padding, which every
//     reader downstream would pay for. It does not decode and re-encode:
//     one scan checks the body and notes its white space, and compacting
//     moves the bytes in between; a compact body is left as it came.
//     Each byte of invalid UTF-8 inside strings shows as U+FFFD, as in
//     Text, and an escaped high surrogate with no low one after it
//     (\ud800 alone, which stops jq 1.6 reading the stream) is written
//     \ufffd, what Go decodes it to. An empty body is dropped.
//     A body that is not JSON, or that nests deeper than WithMaxDepth,
//     fails the record with kind decode (unless it had already failed) and
//     is kept as text, to show what came instead.
//   - Text keeps the body as it came, written as a JSON string.
//   - None drops the body.
//
// Decode never writes into the body it is given, which may be shared with
// another branch of a pipeline.Tee: a body it must change is copied first.
//
// Options: WithConcurrency (default 1: validation runs at hundreds of MB/s,
// so one goroutine keeps up with most networks), WithInputOrder,
// WithMaxDepth, WithBuffer.
func Decode(in pipeline.Stream[Record], format Format, opts ...Option) pipeline.Stream[Record] {
	s := newSettings("Decode", decodeOptions, opts)
	if s.given&optMaxDepth != 0 && format != JSON {
		panic("stages.Decode: WithMaxDepth applies to JSON, not " + format.String())
	}
	return pipeline.Map(in, func(_ context.Context, r Record) (Record, error) {
		// The body may be shared with another branch of a Tee: it is
		// read-only here, and a changed body is a new slice.
		decodeBody(&r, format, false, s.maxDepth)
		return r, nil
	}, s.stage(1)...)
}

// WithDecode makes Fetch decode each body itself, in its workers, as the
// Decode stage would with format: the same records, one stage (and one
// hand-off between goroutines per record) fewer, and the decoding spread
// over the workers. For the fastest runs.
func WithDecode(format Format) Option {
	return set(optDecode, func(s *settings) { s.decode = &format })
}

// decodeBody turns r's body into format. owned says whether the body is
// r's alone, to rewrite in place, as in Fetch's workers; otherwise it is
// left as it is and a body that must change is copied first. A body
// nested deeper than maxDepth is refused, and so is one that is not JSON:
// either way it is kept as it came, as text.
func decodeBody(r *Record, format Format, owned bool, maxDepth int) {
	switch format {
	case None:
		r.Body, r.Format = nil, None
	case Text:
		r.Format = Text
	case JSON:
		// A byte order mark, which Windows servers put in front of UTF-8,
		// is not JSON; without it the body is. Cut off, not copied, and
		// kept on a body that fails: that shows the body as it came.
		doc := bytes.TrimPrefix(r.Body, bom)
		body, v, at := compactJSON(doc, owned, maxDepth)
		switch v {
		case jsonEmpty:
			r.Body = nil
		case jsonTooDeep:
			r.Format = Text
			if r.Err == nil {
				r.Err = newError(KindDecode, deepMessage("body", maxDepth))
			}
		case jsonInvalid:
			r.Format = Text
			if r.Err == nil {
				r.Err = newError(KindDecode, notJSON(r, at+len(r.Body)-len(doc)))
			}
		default:
			r.Body, r.Format = body, JSON
		}
	}
}

// notJSON says where the body stops being JSON, and what came instead:
// the content type and the start of the body are usually enough to
// recognise an HTML error page or a proxy's banner, and the place and
// the byte found there, a body cut short or a stray character.
func notJSON(r *Record, at int) string {
	var where string
	if at >= len(r.Body) {
		where = fmt.Sprintf("it ends before its JSON value does (%d bytes)", len(r.Body))
	} else {
		where = fmt.Sprintf("%s at byte %d of %d", found(r.Body[at:]), at, len(r.Body))
	}
	if r.ContentType != "" {
		where += ", content type " + r.ContentType
	}
	start := r.Body
	if len(start) > 48 {
		start = start[:48]
		// Not cut in the middle of a character; invalid bytes show as
		// \x escapes.
		if i := lastRuneStart(start); !utf8.FullRune(start[i:]) && utf8.FullRune(r.Body[i:min(len(r.Body), i+utf8.UTFMax)]) {
			start = start[:i]
		}
		return fmt.Sprintf("body is not valid JSON: %s; it begins %q…", where, start)
	}
	return fmt.Sprintf("body is not valid JSON: %s; it is %q", where, start)
}

// found names the character that b starts with, for a message.
func found(b []byte) string {
	r, size := utf8.DecodeRune(b)
	switch {
	case r == utf8.RuneError && size == 1:
		return fmt.Sprintf("byte %#x", b[0])
	case r < ' ' || r == 0x7f:
		return fmt.Sprintf("control character %U", r)
	}
	return fmt.Sprintf("%q", r)
}

// lastRuneStart returns the offset of the last byte of b that may start
// a character.
func lastRuneStart(b []byte) int {
	for i := len(b) - 1; i > 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return max(len(b)-1, 0)
}

// Decoded is a record whose JSON body has been decoded into a T.
type Decoded[T any] struct {
	Record Record
	Value  T // the zero T when the record failed
}

// DecodeAs is the stage that decodes the JSON body of each successful
// record into a T, for programs that want typed values rather than JSON
// text. A body that does not decode fails its record with kind decode, and
// so does one that an earlier Decode or WithDecode with None dropped. An
// empty body decodes to the zero T.
//
// A body nested deeper than WithMaxDepth fails it too, before decoding.
//
// Options: WithConcurrency (default 1), WithInputOrder, WithMaxDepth,
// WithBuffer.
func DecodeAs[T any](in pipeline.Stream[Record], opts ...Option) pipeline.Stream[Decoded[T]] {
	name := reflect.TypeFor[T]().String()
	s := newSettings("DecodeAs", decodeOptions, opts)
	return pipeline.Map(in, func(_ context.Context, r Record) (Decoded[T], error) {
		d := Decoded[T]{Record: r}
		switch {
		case r.Err != nil:
			return d, nil
		case r.Format == None:
			d.Record.Err = newError(KindDecode, "the body was dropped (Decode or WithDecode with None) before DecodeAs could decode it")
			return d, nil
		case len(r.Body) == 0:
			return d, nil
		case tooDeep(r.Body, s.maxDepth):
			d.Record.Err = newError(KindDecode, deepMessage("body", s.maxDepth))
			return d, nil
		}
		if err := json.Unmarshal(r.Body, &d.Value); err != nil {
			var zero T
			d.Value = zero
			d.Record.Err = newError(KindDecode, fmt.Sprintf("body does not decode into %s: %v", name, err))
		}
		return d, nil
	}, s.stage(1)...)
}
