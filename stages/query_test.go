package stages_test

import (
	"context"
	stdjson "encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/fetchpipe/fetchpipe/stages"
)

// TestQuery: a jq program's result replaces the body (one value as it
// is, several as an array, none as null), compared as parsed JSON; an
// error fails an ok record as decode, and adds to a failed one's message;
// a body that is not JSON is left alone.
func TestQuery(t *testing.T) {
	const body = `{"data":{"children":[{"data":{"title":"a","score":3}},{"data":{"title":"b","score":7}}]},"big":12345678901234567890,"z":1,"a":2}`
	tests := []struct {
		program string
		want    string // the body after, as JSON; "" when the record fails
		message string
	}{
		{".data.children[0].data.title", `"a"`, ""},
		{".data.children[].data.title", `["a","b"]`, ""},
		{"[.data.children[].data | select(.score > 5) | .title]", `["b"]`, ""},
		{".data.children | map(.data.score * 2)", `[6,14]`, ""},
		{"empty", `null`, ""},
		{".missing.field", `null`, ""},
		{"{z, a}", `{"a":2,"z":1}`, ""},
		{".big", `12345678901234567890`, ""},
		{`error("no such thing")`, "", "no such thing"},
		{".data.children[0].data.title | tonumber", "", "tonumber"},
		{"[range(1e9)] | length", "", "ran longer than 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.program, func(t *testing.T) {
			q, err := stages.ParseQuery(tt.program)
			if err != nil {
				t.Fatal(err)
			}
			r := stages.Record{Status: 200, Body: []byte(body), Format: stages.JSON}
			q.Apply(context.Background(), &r)
			if tt.want == "" {
				if r.Err == nil || r.Err.Kind != stages.KindDecode || !strings.Contains(r.Err.Message, tt.message) || string(r.Body) != body {
					t.Errorf("error %v, body %s; want a decode error saying %q, the body as it came", r.Err, r.Body, tt.message)
				}
				return
			}
			var got, want any
			if r.Err != nil || stdjson.Unmarshal(r.Body, &got) != nil || stdjson.Unmarshal([]byte(tt.want), &want) != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("body %s, error %v; want %s", r.Body, r.Err, tt.want)
			}
			if tt.program == ".big" && string(r.Body) != tt.want {
				t.Errorf("a big integer lost digits: %s", r.Body)
			}
		})
	}
	t.Run("a failed record keeps its kind", func(t *testing.T) {
		q, _ := stages.ParseQuery(".error")
		r := stages.Record{Status: 503, Body: []byte(`{"error":"busy"}`), Format: stages.JSON,
			Err: &stages.Error{Kind: stages.KindHTTPStatus, Message: "server answered 503"}}
		q.Apply(context.Background(), &r)
		if string(r.Body) != `"busy"` || r.Err.Kind != stages.KindHTTPStatus {
			t.Errorf("body %s, error %v", r.Body, r.Err)
		}
		bad, _ := stages.ParseQuery(`error("x")`)
		bad.Apply(context.Background(), &r)
		if r.Err.Kind != stages.KindHTTPStatus || !strings.Contains(r.Err.Message, "server answered 503; jq error(\"x\"): error: x") {
			t.Errorf("error %v", r.Err)
		}
	})
	t.Run("text is left alone", func(t *testing.T) {
		q, _ := stages.ParseQuery(".a")
		r := stages.Record{Status: 200, Body: []byte("<html>"), Format: stages.Text}
		q.Apply(context.Background(), &r)
		if string(r.Body) != "<html>" || r.Err != nil {
			t.Errorf("body %s, error %v", r.Body, r.Err)
		}
	})
	if _, err := stages.ParseQuery(".a |"); err == nil {
		t.Error("a program that does not parse was taken")
	}
}
