package stages_test

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/segmentio/encoding/json"

	"github.com/fetchpipe/fetchpipe/stages"
)

// TestRecordReadsBackWhatItWrites: a program downstream reads records as
// Records, ok or not, with each kind of body.
func TestRecordReadsBackWhatItWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  stages.Record
	}{
		{"ok JSON", stages.Record{Seq: 3, Item: "0123456789abcdef", URL: "https://x/a", Status: 200, Attempts: 1, Elapsed: 12345 * time.Microsecond,
			Bytes: 9, ContentType: "application/json", Header: http.Header{"Etag": {"v1"}}, Body: []byte(`{"a":[1]}`), Format: stages.JSON, Meta: []byte(`{"k":1}`)}},
		{"text body", stages.Record{Seq: 0, URL: "https://x/b", Status: 200, Attempts: 1, Body: []byte("line\n\"quoted\""), Format: stages.Text}},
		{"a time a float cannot hold", stages.Record{Seq: 4, URL: "https://x/g", Status: 200, Attempts: 1, Elapsed: 1001 * time.Microsecond, Format: stages.None}},
		{"failed", stages.Record{Seq: 7, Follow: []int{0, 2}, URL: "https://x/c", FinalURL: "https://x/d", Status: 503, Attempts: 4,
			Err: &stages.Error{Kind: stages.KindHTTPStatus, Message: "503 Service Unavailable"}, Body: []byte(`{"error":"busy"}`), Format: stages.JSON}},
		{"no body", stages.Record{Seq: 1, URL: "https://x/e", Status: 204, Attempts: 1, Format: stages.None}},
		{"saved", stages.Record{Seq: 2, URL: "https://x/f", Status: 200, Attempts: 1, Bytes: 5, File: "out/00000002.json", Format: stages.None}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := tc.rec.AppendJSON(nil)
			var got stages.Record
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("%v\n%s", err, line)
			}
			if !reflect.DeepEqual(got, tc.rec) {
				t.Errorf("read back\n%+v\nfrom %s, want\n%+v", got, line, tc.rec)
			}
			if got.OK() != tc.rec.OK() {
				t.Errorf("OK %v, want %v", got.OK(), tc.rec.OK())
			}
		})
	}
	var r stages.Record
	if err := json.Unmarshal([]byte(`{"url":"x"}`), &r); err == nil {
		t.Error("an object without seq and ok read as a record")
	}
}
