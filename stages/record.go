package stages

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/encoding/json"
)

// A Record is the outcome of one input item: what was asked, what came back
// and, when it failed, why. Every item read from the input yields exactly
// one Record, failed or not.
type Record struct {
	Seq      int64  // the item's position in the input, from 0
	Follow   []int  // for a follow-up request, its path below item Seq (see Request.Follow)
	Item     string // the identity of the input item (see Request.Item)
	URL      string // the URL requested, with any password redacted
	FinalURL string // where redirects ended, when that differs from URL
	Status   int    // the HTTP status, 0 when no response arrived
	Attempts int    // requests made for this item; 0 when none was (invalid input, not sent)
	Elapsed  time.Duration
	Bytes    int64 // body bytes received, after decompression; for KindTooLarge, those read before the cap stopped the read

	ContentType string
	// Header holds the response headers that WithResponseHeaders asks
	// for; nil without it.
	Header http.Header

	// File is, with WithSave, where the body was saved; Bytes is its size.
	File string

	// Body is the response body; Format says whether it is raw text or
	// validated one-line JSON, and Decode sets it.
	Body   []byte
	Format Format

	Meta json.RawMessage // from the Request, unchanged
	Err  *Error          // nil when the item succeeded
}

// OK reports whether the item succeeded: a 2xx response whose body was
// read and decoded as asked.
func (r *Record) OK() bool { return r.Err == nil }

// MarshalJSON returns the record as one line of NDJSON, without the newline.
// See AppendJSON.
func (r Record) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// AppendJSON appends the record's JSON form to b and returns the extended
// buffer, so that a writer can reuse one buffer for every record. The
// fields, in this order (those in brackets only when set):
//
//	seq, [follow], [item], url, [final_url], status, ok, attempts, elapsed_ms, bytes,
//	[content_type], [headers], [file], [error {kind, message}], [meta], [body]
//
// A JSON body is embedded as a JSON value, a text body as a string.
func (r *Record) AppendJSON(b []byte) []byte {
	// Written out rather than as AppendFields of every field: it is each
	// record's cost, and a loop over the fields makes it a third slower.
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	if r.Follow != nil {
		b = append(b, `,"follow":`...)
		b = appendFollow(b, r.Follow)
	}
	if r.Item != "" {
		b = append(b, `,"item":`...)
		b = appendString(b, r.Item)
	}
	b = append(b, `,"url":`...)
	b = appendString(b, r.URL)
	if r.FinalURL != "" {
		b = append(b, `,"final_url":`...)
		b = appendString(b, r.FinalURL)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"ok":`...)
	b = strconv.AppendBool(b, r.OK())
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(r.Attempts), 10)
	b = append(b, `,"elapsed_ms":`...)
	b = appendMillis(b, r.Elapsed)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, r.Bytes, 10)
	if r.ContentType != "" {
		b = append(b, `,"content_type":`...)
		b = appendString(b, r.ContentType)
	}
	if len(r.Header) > 0 {
		b = append(b, `,"headers":`...)
		b = appendHeader(b, r.Header)
	}
	if r.File != "" {
		b = append(b, `,"file":`...)
		b = appendString(b, r.File)
	}
	if r.Err != nil {
		b = append(b, `,"error":`...)
		b = appendError(b, r.Err)
	}
	if len(r.Meta) > 0 {
		b = append(b, `,"meta":`...)
		b = append(b, r.Meta...)
	}
	if r.Body != nil && r.Format != None {
		b = append(b, `,"body":`...)
		b = r.AppendBody(b)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string. HTML characters are left alone:
// the output is for programs, not for pages.
func appendString(b []byte, s string) []byte { return json.AppendEscape(b, s, 0) }

// appendMillis appends d in milliseconds with microsecond precision,
// without the cost of float formatting.
func appendMillis(b []byte, d time.Duration) []byte {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return b
	}
	b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	for b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	return b
}

// appendHeader appends the headers as an object of strings, names in
// order, several values of one name joined by ", " as HTTP allows.
func appendHeader(b []byte, h http.Header) []byte {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, strings.Join(h[k], ", "))
	}
	return append(b, '}')
}
