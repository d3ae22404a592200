package stages_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/encoding/json"

	"github.com/fetchpipe/fetchpipe/stages"
)

func TestRecordAppendJSON(t *testing.T) {
	cases := []struct {
		name string
		rec  stages.Record
		want string
	}{
		{"ok json body", stages.Record{
			Seq: 3, URL: "http://h/r/go.json", Status: 200, Attempts: 1, Elapsed: 12345 * time.Microsecond,
			Bytes: 7, ContentType: "application/json", Body: []byte(`{"a":1}`), Format: stages.JSON,
		}, `{"seq":3,"url":"http://h/r/go.json","status":200,"ok":true,"attempts":1,"elapsed_ms":12.345,"bytes":7,"content_type":"application/json","body":{"a":1}}`},
		{"text body is a string", stages.Record{
			URL: "http://h/", Status: 200, Attempts: 1, Elapsed: 2 * time.Millisecond, Bytes: 9, Body: []byte("a \"b\"\n<c>"),
		}, `{"seq":0,"url":"http://h/","status":200,"ok":true,"attempts":1,"elapsed_ms":2,"bytes":9,"body":"a \"b\"\n<c>"}`},
		{"invalid utf-8 is replaced", stages.Record{URL: "u", Body: []byte("a\xffb")},
			`{"seq":0,"url":"u","status":0,"ok":true,"attempts":0,"elapsed_ms":0,"bytes":0,"body":"a\ufffdb"}`},
		{"none drops the body", stages.Record{URL: "u", Bytes: 3, Body: []byte("abc"), Format: stages.None},
			`{"seq":0,"url":"u","status":0,"ok":true,"attempts":0,"elapsed_ms":0,"bytes":3}`},
		{"error, final url and meta", stages.Record{
			Seq: 1, URL: "http://a/", FinalURL: "http://b/", Status: 503, Attempts: 2, Elapsed: 1500 * time.Microsecond,
			Err:  &stages.Error{Kind: stages.KindHTTPStatus, Message: "server answered 503 Service Unavailable"},
			Meta: []byte(`{"id":7}`),
		}, `{"seq":1,"url":"http://a/","final_url":"http://b/","status":503,"ok":false,"attempts":2,"elapsed_ms":1.5,"bytes":0,"error":{"kind":"http_status","message":"server answered 503 Service Unavailable"},"meta":{"id":7}}`},
		{"a follow-up's path", stages.Record{Seq: 4, Follow: []int{2, 0}, URL: "u"},
			`{"seq":4,"follow":[2,0],"url":"u","status":0,"ok":true,"attempts":0,"elapsed_ms":0,"bytes":0}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := string(tc.rec.AppendJSON(nil))
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("not valid JSON: %s", got)
			}
			// json.Marshal goes through MarshalJSON (and escapes HTML on top).
			var viaMarshal, direct any
			m, err := json.Marshal(tc.rec)
			if err != nil || json.Unmarshal(m, &viaMarshal) != nil || json.Unmarshal([]byte(got), &direct) != nil ||
				!reflect.DeepEqual(viaMarshal, direct) {
				t.Errorf("json.Marshal gives %s, %v", m, err)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range []stages.Format{stages.JSON, stages.Text, stages.None} {
		if got, ok := stages.ParseFormat(f.String()); !ok || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), got, ok)
		}
	}
	if _, ok := stages.ParseFormat("xml"); ok {
		t.Error("ParseFormat accepted xml")
	}
}

// writes records every Write it is given, as the system calls of a file.
type writes [][]byte

func (w *writes) Write(b []byte) (int, error) {
	*w = append(*w, bytes.Clone(b))
	return len(b), nil
}

// TestWritesHoldWholeLines: the writer once flushed its buffer mid-record,
// so that a process killed between two writes left a torn last line. Now
// every write is whole lines, whatever the mix of record sizes, and
// together they are every record in order.
func TestWritesHoldWholeLines(t *testing.T) {
	sizes := []int{10, 100, 30_000, 10, 40_000, 200_000, 5, 70_000, 10, 33_000, 33_000, 1}
	for range 300 {
		sizes = append(sizes, 500)
	}
	var w writes
	nw := stages.NewNDJSONWriter(&w)
	var want bytes.Buffer
	for i, n := range sizes {
		r := stages.Record{Seq: int64(i), URL: "u", Body: bytes.Repeat([]byte("a"), n), Format: stages.Text}
		want.Write(append(r.AppendJSON(nil), '\n'))
		if err := nw.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := nw.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := bytes.Join(w, nil); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("the writes hold %d bytes, want the %d bytes of the records in order", len(got), want.Len())
	}
	for i, b := range w {
		if len(b) == 0 || b[len(b)-1] != '\n' {
			t.Fatalf("write %d of %d bytes does not end a line", i, len(b))
		}
		for line := range bytes.Lines(b) {
			if !json.Valid(line) {
				t.Fatalf("write %d holds a part of a record: %.60q", i, line)
			}
		}
	}
	if len(w) > 12 {
		t.Errorf("%d writes for %d KB: the buffer does not gather small records", len(w), want.Len()>>10)
	}
}

// TestAppendFields: the fields named, in their order, each written as
// AppendJSON writes it; an absent one left out; an unknown name refused.
func TestAppendFields(t *testing.T) {
	r := stages.Record{Seq: 2, URL: "u", Status: 503, Attempts: 3, Err: &stages.Error{Kind: stages.KindHTTPStatus, Message: "m"},
		Body: []byte(`{"a":1}`), Format: stages.JSON}
	fs, err := stages.ParseFields("body, error,seq,final_url,seq")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.AppendFields(nil, fs)); got != `{"body":{"a":1},"error":{"kind":"http_status","message":"m"},"seq":2}` {
		t.Errorf("got %s", got)
	}
	if got := string(r.AppendFields(nil, fs.With("ok", "seq"))); got != `{"body":{"a":1},"error":{"kind":"http_status","message":"m"},"seq":2,"ok":false}` {
		t.Errorf("With: got %s", got)
	}
	if _, err := stages.ParseFields("url,size"); err == nil || !strings.Contains(err.Error(), `"size" is not a field`) {
		t.Errorf("error %v", err)
	}
}

// TestAppendFieldsHeaders: the headers object among chosen fields, first
// or not, makes a valid line (it once came with a comma of its own).
func TestAppendFieldsHeaders(t *testing.T) {
	r := stages.Record{URL: "u", Header: map[string][]string{"Etag": {`"v1"`}}}
	for _, list := range []string{"headers", "url,headers", "headers,url"} {
		fs, _ := stages.ParseFields(list)
		if line := r.AppendFields(nil, fs); !json.Valid(line) || !strings.Contains(string(line), `"headers":{"Etag":"\"v1\""}`) {
			t.Errorf("%s: %s", list, line)
		}
	}
}
