package stages

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/segmentio/encoding/json"
	"golang.org/x/net/http/httpguts"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// Specs is a source of requests read from r as JSON lines, one request spec
// per line, streamed like Lines:
//
//	{"url": "https://…", "method": "POST", "headers": {"K": "V"}, "body": …, "meta": …, "id": …}
//
// Only url is required. id, a string or a number, is the item's identity
// (Request.Item) in place of the hash of its canonical form (see ItemOf). A body that is a JSON string is sent as its text;
// any other JSON value is sent as JSON, with Content-Type application/json
// unless headers say otherwise. meta, any JSON value, is copied into the
// record. A line that is not such a spec becomes an invalid_input record.
//
// A spec nested deeper than WithMaxDepth (in its meta, say) is an
// invalid_input item too, as a record carrying it could stop the reader
// downstream.
//
// Options: WithMaxDepth, WithShard, WithBuffer.
func Specs(p *pipeline.Pipeline, r io.Reader, opts ...Option) pipeline.Stream[Request] {
	s := newSettings("Specs", specsOptions, opts)
	return readItems(p, r, s, func(seq int64, line []byte) Request { return parseSpec(seq, line, s.maxDepth) })
}

// SpecList is a source of requests for the given specs, one per item, in
// order, each a JSON request spec as Specs reads them. Unlike the lines of
// a file, items skip nothing and may span lines: a pretty-printed spec is
// one item, and an empty one or one starting with "#" is an item that is
// not a spec, which gets its invalid_input record.
//
// Options: WithMaxDepth, WithShard, WithBuffer.
func SpecList(p *pipeline.Pipeline, specs []string, opts ...Option) pipeline.Stream[Request] {
	s := newSettings("SpecList", specsOptions, opts)
	return listItems(p, specs, s, func(seq int64, item string) Request { return parseSpec(seq, []byte(item), s.maxDepth) })
}

type spec struct {
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
	Meta    json.RawMessage   `json:"meta"`
	ID      json.RawMessage   `json:"id"`
}

// parseSpec makes the Request of a spec line, with its item identity: the
// spec's id, the hash of its canonical form, or, for a line that is not a
// spec that can be made, the hash of the line.
func parseSpec(seq int64, line []byte, maxDepth int) Request {
	req, id := parseSpecLine(seq, line, maxDepth)
	switch {
	case id != "":
		req.Item = id
	case req.Err == nil:
		req.Item = specItem("", &req)
	default:
		req.Item = ItemOf(string(line))
	}
	return req
}

func parseSpecLine(seq int64, line []byte, maxDepth int) (req Request, id string) {
	if tooDeep(line, maxDepth+1) { // +1: the spec's own object
		return Request{Seq: seq, Err: newError(KindInvalidInput, deepMessage("a value of the request spec (its meta or body)", maxDepth))}, ""
	}
	var sp spec
	if err := json.Unmarshal(line, &sp); err != nil {
		return Request{Seq: seq, Err: newError(KindInvalidInput, specError(err))}, ""
	}
	// Copied into every output line, compact and in UTF-8 like a body: a
	// spec given as an argument may span lines.
	if meta, v, _ := compactJSON(sp.Meta, false, maxDepth); v == jsonValid {
		sp.Meta = meta
	}
	id = specID(sp.ID)
	req = Request{Seq: seq, Method: sp.Method, URL: sp.URL, Meta: sp.Meta}
	if sp.URL == "" {
		req.Err = newError(KindInvalidInput, `request spec has no "url"`)
		return req, id
	}
	if len(sp.Headers) > 0 {
		req.Header = make(http.Header, len(sp.Headers))
		for k, v := range sp.Headers {
			// The message names the header, never its value, which may
			// be a token; CheckHeader's words do both.
			if err := CheckHeader(k, v); err != nil {
				req.Err = newError(KindInvalidInput, "request spec "+err.Error())
				return req, id
			}
			req.Header.Set(k, v)
		}
	}
	switch {
	case len(sp.Body) == 0 || string(sp.Body) == "null":
	case sp.Body[0] == '"':
		var s string
		if err := json.Unmarshal(sp.Body, &s); err != nil {
			req.Err = newError(KindInvalidInput, fmt.Sprintf("request spec body: %v", err))
			return req, id
		}
		req.Body = []byte(s)
	default:
		req.Body = sp.Body
		if req.Header.Get("Content-Type") == "" {
			if req.Header == nil {
				req.Header = make(http.Header, 1)
			}
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if strings.TrimSpace(req.Method) == "" {
		req.Method = ""
	} else if !httpguts.ValidHeaderFieldName(req.Method) {
		req.Err = newError(KindInvalidInput, fmt.Sprintf("request spec method %q is not an HTTP method", req.Method))
	}
	return req, id
}

// specError says why a line is not a spec in the words of the spec's
// schema, rather than the decoder's, which name Go types and quote the
// rest of the line.
func specError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		if name, ok := strings.CutPrefix(te.Field, "headers."); ok {
			return fmt.Sprintf("request spec header %q must be a string, not %s", name, jsonKind(te.Value))
		}
		want := "a string"
		if te.Field == "headers" {
			want = "an object of strings"
		}
		return fmt.Sprintf("request spec field %q must be %s, not %s", te.Field, want, jsonKind(te.Value))
	}
	return "line is not a JSON request spec: " + err.Error()
}

// jsonKind names the kind of the JSON text v by its first byte. The
// decoder quotes the text it gives in v, as Go source.
func jsonKind(v string) string {
	if u, err := strconv.Unquote(v); err == nil {
		v = u
	}
	v = strings.TrimLeft(v, " \t\r\n")
	if v == "" {
		return "a value of another kind"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case '{':
		return "an object"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// specID is a spec's own id as text: a string as it is, a number as
// written, nothing for none.
func specID(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}
