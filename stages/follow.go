package stages

import (
	"context"
	"strings"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// Follow makes follow-up requests from records: for each record that is
// ok, derive returns the values of the requests to make next, such as the
// item IDs of a listing page, and Follow makes each into a request as
// URLs does: trimmed, and put into the template given WithTemplate.
//
// A follow-up request carries the identity of the record it was made from:
// the record's Seq and Meta, and as Follow the record's Follow with the
// request's index in derive's result appended. So each record of it says
// which input item it descends from and by which path (see Request.Follow),
// and a merged output of first requests and follow-ups has no two records
// alike in (Seq, Follow).
//
// derive returns the values from the body, such as the permalinks of the
// first posts of a Reddit listing decoded by WithDecode(JSON):
//
//	func permalinks(rec stages.Record) []string {
//		var listing struct {
//			Data struct {
//				Children []struct{ Data struct{ Permalink string } }
//			}
//		}
//		if json.Unmarshal(rec.Body, &listing) != nil {
//			return nil // not a listing: no follow-ups
//		}
//		var links []string
//		for _, c := range listing.Data.Children[:min(3, len(listing.Data.Children))] {
//			links = append(links, c.Data.Permalink)
//		}
//		return links
//	}
//
// and Follow(records, permalinks, WithTemplate(base+"{raw}.json")) makes
// each a request for its comments.
//
// derive is called in one goroutine, once per ok record, in the order the
// records come; failed records have nothing to follow and are not passed
// to it, so their failure shows in their own record alone. A panic in it
// is fatal for the run. To keep the records that follow-ups are made from
// as well, give Follow one branch of a pipeline.Tee and merge the other
// with the follow-ups' records (see the example).
//
// For follow-ups that are more than a URL (a method, headers, a body),
// make the Requests in a pipeline.FlatMap, setting Seq, Follow and Meta as
// Follow does.
//
// Options: WithTemplate, WithBuffer.
func Follow(in pipeline.Stream[Record], derive func(Record) []string, opts ...Option) pipeline.Stream[Request] {
	s := newSettings("Follow", sourceOptions, opts)
	tmpl := parseTemplate(s.template)
	return pipeline.FlatMap(in, func(_ context.Context, rec Record, emit func(Request) bool) error {
		if !rec.OK() {
			return nil
		}
		for i, v := range derive(rec) {
			// A path of its own for each request, so that no two share
			// (and may overwrite) one backing array.
			path := make([]int, len(rec.Follow)+1)
			copy(path, rec.Follow)
			path[len(rec.Follow)] = i
			req := tmpl.request(rec.Seq, strings.TrimSpace(v))
			req.Follow, req.Meta = path, rec.Meta
			if !emit(req) {
				return nil
			}
		}
		return nil
	}, s.buffer...)
}

// Requests makes a request of each string of in, as URLs does of a slice:
// trimmed, and put into the template given WithTemplate. It is for values
// that a stage works out mid-pipeline, such as the IDs a database query
// returns. The requests are numbered from 0 in the order they come: a
// Seq space of their own, apart from that of any source before, so their
// records clash in seq with those of another source merged with them, and
// the order, hence the seq, may differ from run to run if the strings come
// from a concurrent stage. To merge them with other records, set Meta on
// the requests in a pipeline.Map to tell them apart; for requests made
// from records, Follow keeps the records' identity instead.
//
// Options: WithTemplate, WithBuffer.
func Requests(in pipeline.Stream[string], opts ...Option) pipeline.Stream[Request] {
	s := newSettings("Requests", sourceOptions, opts)
	tmpl := parseTemplate(s.template)
	var seq int64 // one goroutine: Map's default
	return pipeline.Map(in, func(_ context.Context, v string) (Request, error) {
		req := tmpl.request(seq, strings.TrimSpace(v))
		seq++
		return req, nil
	}, s.buffer...)
}
