package stages

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

// TestSpoolKeepsARecord: a record that goes through the spool comes back
// as it was, but for its error's cause; bytes that are not a record are
// an error, not a panic.
func TestSpoolKeepsARecord(t *testing.T) {
	records := []Record{
		{Seq: 7, Follow: []int{2, 0}, Item: "abc", URL: "http://h/x", FinalURL: "http://h/y", Status: 503, Attempts: 3,
			Elapsed: 1234567 * time.Nanosecond, Bytes: 42, ContentType: "application/json", Header: http.Header{"Etag": {"v1", "v2"}},
			Body: []byte(`{"a":1}`), Format: JSON, Meta: []byte(`{"row":1}`), Err: &Error{Kind: KindHTTPStatus, Message: "server answered 503"}},
		{Seq: 1, URL: "u", File: "/d/f.json", Bytes: 9},
		{},
	}
	for _, r := range records {
		got, err := decodeRecord(encodeRecord(nil, r))
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("spooled\n%+v\ncame back\n%+v (%v)", r, got, err)
		}
	}
	b := encodeRecord(nil, records[0])
	for n := range len(b) {
		if _, err := decodeRecord(b[:n]); err == nil {
			t.Fatalf("%d bytes of %d decoded without an error", n, len(b))
		}
	}
}
