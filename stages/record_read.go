package stages

import (
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/segmentio/encoding/json"
)

// UnmarshalJSON reads a record from its JSON form, as AppendJSON writes it
// (a line of WriteNDJSON's output, a message Publish sent), so that a Go
// program downstream reads records as Records: OK says what "ok" said, Err
// holds the "error" object's kind and message (its cause is not written,
// so it is nil), a body that is a JSON string is Text, any other JSON value
// JSON, and none is None. Headers come back one value a name, as written.
func (r *Record) UnmarshalJSON(b []byte) error {
	var w struct {
		Seq         *int64            `json:"seq"`
		Follow      []int             `json:"follow"`
		Item        string            `json:"item"`
		URL         string            `json:"url"`
		FinalURL    string            `json:"final_url"`
		Status      int               `json:"status"`
		OK          *bool             `json:"ok"`
		Attempts    int               `json:"attempts"`
		ElapsedMS   float64           `json:"elapsed_ms"`
		Bytes       int64             `json:"bytes"`
		ContentType string            `json:"content_type"`
		Headers     map[string]string `json:"headers"`
		File        string            `json:"file"`
		Error       *struct {
			Kind    Kind   `json:"kind"`
			Message string `json:"message"`
		} `json:"error"`
		Meta json.RawMessage `json:"meta"`
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Seq == nil || w.OK == nil {
		return errors.New("not a record: it has no seq or no ok")
	}
	*r = Record{
		Seq: *w.Seq, Follow: w.Follow, Item: w.Item, URL: w.URL, FinalURL: w.FinalURL, Status: w.Status,
		Attempts: w.Attempts, Elapsed: time.Duration(math.Round(w.ElapsedMS*1000)) * time.Microsecond, Bytes: w.Bytes,
		ContentType: w.ContentType, File: w.File, Meta: w.Meta, Format: None,
	}
	if len(w.Headers) > 0 {
		r.Header = make(http.Header, len(w.Headers))
		for k, v := range w.Headers {
			r.Header[http.CanonicalHeaderKey(k)] = []string{v}
		}
	}
	switch {
	case w.Error != nil:
		r.Err = &Error{Kind: w.Error.Kind, Message: w.Error.Message}
	case !*w.OK:
		r.Err = &Error{Kind: KindOther, Message: "the record says it is not ok, and has no error"}
	}
	switch {
	case len(w.Body) == 0:
	case w.Body[0] == '"':
		var s string
		if err := json.Unmarshal(w.Body, &s); err != nil {
			return err
		}
		r.Body, r.Format = []byte(s), Text
	default:
		r.Body, r.Format = w.Body, JSON
	}
	return nil
}
