package stages_test

import (
	stdjson "encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

func TestDecode(t *testing.T) {
	failed := &stages.Error{Kind: stages.KindHTTPStatus, Message: "server answered 502 Bad Gateway"}
	tests := []struct {
		name     string
		format   stages.Format
		body     string
		err      *stages.Error
		wantBody string // the record's body as AppendJSON writes it; "" for none
		wantKind stages.Kind
	}{
		{"compact JSON", stages.JSON, `{"a":[1,2]}`, nil, `{"a":[1,2]}`, ""},
		{"pretty JSON becomes one line", stages.JSON, "{\n  \"a\": [\r\n 1,\n 2]\n}\n", nil, `{   "a": [   1,  2] }`, ""},
		{"invalid UTF-8 in a string", stages.JSON, "{\"a\":\"x\xffy\"}", nil, `{"a":"x` + "\uFFFD" + `y"}`, ""},
		{"not JSON is kept as text", stages.JSON, "<html>oops</html>", nil, `"<html>oops</html>"`, stages.KindDecode},
		{"truncated JSON", stages.JSON, `{"a":`, nil, `"{\"a\":"`, stages.KindDecode},
		{"empty body", stages.JSON, "  \n", nil, "", ""},
		{"a failed record keeps its error", stages.JSON, "Bad Gateway", failed, `"Bad Gateway"`, stages.KindHTTPStatus},
		{"text", stages.Text, "a\nb\xff", nil, `"a\nb\ufffd"`, ""},
		{"none", stages.None, `{"a":1}`, nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pipeline.New(t.Context())
			in := pipeline.FromSlice(p, []stages.Record{{Status: 200, Body: []byte(tt.body), Err: tt.err}})
			var got []stages.Record
			err := pipeline.ForEach(stages.Decode(in, tt.format), func(r stages.Record) error {
				got = append(got, r)
				return nil
			})
			if err != nil || len(got) != 1 {
				t.Fatalf("err %v, %d records", err, len(got))
			}
			line := got[0].AppendJSON(nil)
			if !utf8.Valid(line) || !stdjson.Valid(line) {
				t.Fatalf("not a valid JSON line: %s", line)
			}
			var fields struct {
				Body  stdjson.RawMessage
				Error *stages.Error
			}
			if err := stdjson.Unmarshal(line, &fields); err != nil {
				t.Fatal(err)
			}
			if string(fields.Body) != tt.wantBody {
				t.Errorf("body %s, want %s", fields.Body, tt.wantBody)
			}
			var kind stages.Kind
			if fields.Error != nil {
				kind = fields.Error.Kind
			}
			if kind != tt.wantKind {
				t.Errorf("error kind %q, want %q", kind, tt.wantKind)
			}
		})
	}
}
