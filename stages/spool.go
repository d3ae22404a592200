package stages

import (
	"encoding/binary"
	"errors"
	"net/http"
	"time"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// WithSpool lets Fetch in input order (WithInputOrder) keep fetching past
// a slow item: records that finish beyond its window wait in temporary
// files in dir ("" for the system's), up to limit bytes (0 for
// pipeline.DefaultSpillLimit), instead of stopping the reading until the
// slow item is done. The files are removed as they are read back, and
// all at the end of the run, however it ends. A spooled record keeps
// everything but its error's cause (Error.Err), which does not survive
// the file. When the spool is full, WithTrace hears of it once
// (TraceSpoolFull). Panics if limit is negative.
func WithSpool(limit int64, dir string) Option {
	nonNegative("WithSpool", limit)
	return set(optSpool, func(s *settings) {
		s.spool = &pipeline.Spill[Record]{Encode: encodeRecord, Decode: decodeRecord, Limit: limit, Dir: dir}
	})
}

// spill is the spool's Spill, which tells WithTrace when it is full.
func (s *settings) spill() pipeline.Spill[Record] {
	sp := *s.spool
	if s.traces(TraceSpoolFull) {
		sp.Full = func() { s.trace(Trace{Event: TraceSpoolFull}) }
	}
	return sp
}

// encodeRecord appends r in a compact binary form, for a spool.
func encodeRecord(b []byte, r Record) []byte {
	b = binary.AppendVarint(b, r.Seq)
	b = binary.AppendUvarint(b, uint64(len(r.Follow)))
	for _, n := range r.Follow {
		b = binary.AppendVarint(b, int64(n))
	}
	b = appendBytes(b, r.Item)
	b = appendBytes(b, r.URL)
	b = appendBytes(b, r.FinalURL)
	b = binary.AppendVarint(b, int64(r.Status))
	b = binary.AppendVarint(b, int64(r.Attempts))
	b = binary.AppendVarint(b, int64(r.Elapsed))
	b = binary.AppendVarint(b, r.Bytes)
	b = appendBytes(b, r.ContentType)
	b = binary.AppendUvarint(b, uint64(len(r.Header)))
	for k, vs := range r.Header {
		b = appendBytes(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendBytes(b, v)
		}
	}
	b = appendBytes(b, r.File)
	b = append(b, byte(r.Format))
	if r.Body == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = appendBytes(b, string(r.Body))
	}
	b = appendBytes(b, string(r.Meta))
	if r.Err == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = appendBytes(b, string(r.Err.Kind))
	return appendBytes(b, r.Err.Message)
}

func appendBytes(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// errSpool is a spool record that does not decode: a bug, or a file
// changed under the run.
var errSpool = errors.New("a spooled record does not decode")

// decodeRecord reads what encodeRecord wrote; the record keeps no memory
// of b, which the spool reuses.
func decodeRecord(b []byte) (Record, error) {
	d := decoder{b: b}
	var r Record
	r.Seq = d.varint()
	if n := d.uvarint(); n > 0 {
		r.Follow = make([]int, n)
		for i := range r.Follow {
			r.Follow[i] = int(d.varint())
		}
	}
	r.Item, r.URL, r.FinalURL = d.string(), d.string(), d.string()
	r.Status, r.Attempts = int(d.varint()), int(d.varint())
	r.Elapsed = time.Duration(d.varint())
	r.Bytes = d.varint()
	r.ContentType = d.string()
	if n := d.uvarint(); n > 0 {
		r.Header = make(http.Header, n)
		for range n {
			k := d.string()
			vs := make([]string, d.uvarint())
			for i := range vs {
				vs[i] = d.string()
			}
			r.Header[k] = vs
		}
	}
	r.File = d.string()
	r.Format = Format(d.byte())
	if d.byte() == 1 {
		r.Body = []byte(d.string())
	}
	if meta := d.string(); meta != "" {
		r.Meta = []byte(meta)
	}
	if d.byte() == 1 {
		r.Err = &Error{Kind: Kind(d.string()), Message: d.string()}
	}
	if d.bad {
		return Record{}, errSpool
	}
	return r, nil
}

// decoder reads encodeRecord's form, remembering whether it ran short.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > uint64(len(d.b)) { // no count exceeds the bytes left
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.bad = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}
