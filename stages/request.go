package stages

import (
	"net/http"

	"github.com/segmentio/encoding/json"
)

// A Request is one input item on its way to Fetch: the HTTP request to make
// and the identity of the item it came from.
type Request struct {
	// Seq is the item's 0-based position in the input. It travels into the
	// Record, so that every output line says which input it answers.
	Seq int64

	// Follow is nil for an input item. For a follow-up request, one made
	// from the record of an earlier request (see Follow), Seq is that of
	// the input item it all started from, and Follow is the path from that
	// item down to this request: Follow[0] is its place among the requests
	// made from the item's record, Follow[1] among those made from that
	// follow-up's record, and so on. So (Seq, Follow) is unique in a
	// merged output, and the same in every run over the same input and
	// the same answers, whatever order the requests complete in.
	Follow []int

	// Input is the item as read, before any template: the line or the
	// value. Empty for a spec, and for a Request made by hand.
	Input string

	// Item is the identity of the input item, the same in every run for
	// the same item (see ItemOf): what resuming a run matches records by.
	// A follow-up's is that of the value it was made from.
	Item string

	// Method defaults to Fetch's WithMethod, itself GET by default.
	Method string
	URL    string

	// Header is added to Fetch's default headers, replacing any of the
	// same name. Nil means the defaults alone.
	Header http.Header
	Body   []byte

	// Meta is copied as is into the Record: a way to carry the caller's own
	// identifiers through the pipeline.
	Meta json.RawMessage

	// Err is set by a source that could not make a request of its input
	// item (a malformed line, say). Fetch sends nothing and passes Err on in
	// the item's Record, so that bad input still yields exactly one record.
	Err *Error
}
