package stages

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// Fields are the fields of a record to write, in the order to write them
// (see Record.AppendFields); ParseFields makes them of their names.
type Fields []field

type field uint8

const (
	fieldSeq field = iota
	fieldFollow
	fieldItem
	fieldURL
	fieldFinalURL
	fieldStatus
	fieldOK
	fieldAttempts
	fieldElapsed
	fieldBytes
	fieldContentType
	fieldHeaders
	fieldFile
	fieldError
	fieldMeta
	fieldBody
)

var fieldNames = [...]string{"seq", "follow", "item", "url", "final_url", "status", "ok", "attempts",
	"elapsed_ms", "bytes", "content_type", "headers", "file", "error", "meta", "body"}

// ParseFields makes Fields of a comma-separated list of record field
// names ("url,status,body"), in the order given, or says which name is not
// a field. A name given twice is written once.
func ParseFields(list string) (Fields, error) {
	var fs Fields
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.Index(fieldNames[:], name)
		if i < 0 {
			return nil, fmt.Errorf("%q is not a field of a record; the fields are %s", name, strings.Join(fieldNames[:], ", "))
		}
		if !slices.Contains(fs, field(i)) {
			fs = append(fs, field(i))
		}
	}
	return fs, nil
}

// With returns fs with the fields of names added at the end where fs
// lacks them: those a reader of the output needs, such as a resume's.
func (fs Fields) With(names ...string) Fields {
	out := slices.Clone(fs)
	for _, n := range names {
		if f := field(slices.Index(fieldNames[:], n)); !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// AppendFields appends the record's JSON form with only the fields fs
// names, in their order, to b; a field that would be left out of
// AppendJSON's form (no final_url, no error) is left out here too.
func (r *Record) AppendFields(b []byte, fs Fields) []byte {
	b = append(b, '{')
	sep := func() {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
	}
	name := func(f field) {
		sep()
		b = append(b, '"')
		b = append(b, fieldNames[f]...)
		b = append(b, `":`...)
	}
	for _, f := range fs {
		switch f {
		case fieldSeq:
			name(f)
			b = strconv.AppendInt(b, r.Seq, 10)
		case fieldFollow:
			if r.Follow != nil {
				name(f)
				b = appendFollow(b, r.Follow)
			}
		case fieldItem:
			if r.Item != "" {
				name(f)
				b = appendString(b, r.Item)
			}
		case fieldURL:
			name(f)
			b = appendString(b, r.URL)
		case fieldFinalURL:
			if r.FinalURL != "" {
				name(f)
				b = appendString(b, r.FinalURL)
			}
		case fieldStatus:
			name(f)
			b = strconv.AppendInt(b, int64(r.Status), 10)
		case fieldOK:
			name(f)
			b = strconv.AppendBool(b, r.OK())
		case fieldAttempts:
			name(f)
			b = strconv.AppendInt(b, int64(r.Attempts), 10)
		case fieldElapsed:
			name(f)
			b = appendMillis(b, r.Elapsed)
		case fieldBytes:
			name(f)
			b = strconv.AppendInt(b, r.Bytes, 10)
		case fieldContentType:
			if r.ContentType != "" {
				name(f)
				b = appendString(b, r.ContentType)
			}
		case fieldHeaders:
			if len(r.Header) > 0 {
				name(f)
				b = appendHeader(b, r.Header)
			}
		case fieldFile:
			if r.File != "" {
				name(f)
				b = appendString(b, r.File)
			}
		case fieldError:
			if r.Err != nil {
				name(f)
				b = appendError(b, r.Err)
			}
		case fieldMeta:
			if len(r.Meta) > 0 {
				name(f)
				b = append(b, r.Meta...)
			}
		case fieldBody:
			if r.Body != nil && r.Format != None {
				name(f)
				b = r.AppendBody(b)
			}
		}
	}
	return append(b, '}')
}

func appendFollow(b []byte, path []int) []byte {
	b = append(b, '[')
	for i, n := range path {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return append(b, ']')
}

func appendError(b []byte, e *Error) []byte {
	b = append(b, `{"kind":`...)
	b = appendString(b, string(e.Kind))
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	return append(b, '}')
}

// AppendBody appends the body to b as a record writes it, a JSON value
// (Format JSON) or a JSON string, or null when there is none, for a
// writer of bodies alone.
func (r *Record) AppendBody(b []byte) []byte {
	if r.Body == nil || r.Format == None {
		return append(b, "null"...)
	}
	if r.Format == JSON {
		return append(b, r.Body...)
	}
	// The escaper only reads the bytes; viewing them as a string spares a
	// copy of every text body.
	return appendString(b, unsafe.String(unsafe.SliceData(r.Body), len(r.Body)))
}
