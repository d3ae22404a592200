package stages_test

import (
	"bytes"
	"compress/gzip"
	"context"
	stdjson "encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
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
		{"pretty JSON is compacted", stages.JSON, "{\n  \"a\": [\r\n 1,\n 2]\n}\n", nil, `{"a":[1,2]}`, ""},
		{"white space in strings stays", stages.JSON, "{ \"a b\" : \" x\\\" \\n \" }", nil, `{"a b":" x\" \n "}`, ""},
		{"invalid UTF-8 in pretty JSON, a U+FFFD a byte", stages.JSON, "[\n \"\xff\xfe\",\n \"é\"\n]", nil, `["` + "\uFFFD\uFFFD" + `","é"]`, ""},
		{"a byte order mark stays on a body that fails", stages.JSON, "\xef\xbb\xbf<html>", nil, `"` + "\ufeff" + `<html>"`, stages.KindDecode},
		{"a byte order mark goes from JSON", stages.JSON, "\xef\xbb\xbf{\"a\": 1}", nil, `{"a":1}`, ""},
		{"not JSON after a gap is kept as it came", stages.JSON, "{\n \"a\": 1\n} x", nil, `"{\n \"a\": 1\n} x"`, stages.KindDecode},
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
			err := pipeline.ForEach(stages.Decode(in, tt.format), func(_ context.Context, r stages.Record) error {
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

// TestWithDecodeMatchesTheDecodeStage: decoding in Fetch's workers gives
// the records the Decode stage gives.
func TestWithDecodeMatchesTheDecodeStage(t *testing.T) {
	api := startAPI(t, fakeapi.Config{})
	urls := []string{api.URL() + "/r/a.json", api.URL() + "/r/b.json?format=html", api.URL() + "/r/c.json?status=404",
		api.URL() + "/r/d.json?pretty=1", "ftp://x/y", api.URL() + "/r/e.json?format=badjson"}
	for _, format := range []stages.Format{stages.JSON, stages.Text, stages.None} {
		t.Run(format.String(), func(t *testing.T) {
			run := func(inFetch bool) []string {
				p := pipeline.New(t.Context())
				opts := []stages.Option{stages.WithInputOrder(), stages.WithConcurrency(3)}
				var recs pipeline.Stream[stages.Record]
				if inFetch {
					recs = stages.Fetch(stages.URLs(p, urls), append(opts, stages.WithDecode(format))...)
				} else {
					recs = stages.Decode(stages.Fetch(stages.URLs(p, urls), opts...), format)
				}
				var lines []string
				for _, r := range collect(t, recs) {
					r.Elapsed = 0
					lines = append(lines, string(r.AppendJSON(nil)))
				}
				return lines
			}
			stage, inFetch := run(false), run(true)
			for i := range stage {
				if stage[i] != inFetch[i] {
					t.Errorf("record %d:\nDecode stage: %s\nWithDecode:   %s", i, stage[i], inFetch[i])
				}
			}
		})
	}
}

// TestDecodeAfterTeeLeavesTheBodyAlone: after a fan-out, one branch reads
// the raw body while the other decodes it. Decode must not write into a
// body another branch may hold; -race reports it if it does.
func TestDecodeAfterTeeLeavesTheBodyAlone(t *testing.T) {
	const pretty = "{\n  \"a\": [\r\n 1,\n 2]\n}\n"
	recs := make([]stages.Record, 50)
	for i := range recs {
		recs[i] = stages.Record{Seq: int64(i), Status: 200, Body: []byte(pretty)}
	}
	p := pipeline.New(t.Context())
	branches := pipeline.Tee(pipeline.FromSlice(p, recs), 2)
	raw := pipeline.Map(branches[0], func(_ context.Context, r stages.Record) (string, error) {
		return string(r.Body), nil
	}, pipeline.WithConcurrency(4))
	decoded := pipeline.Map(stages.Decode(branches[1], stages.JSON), func(_ context.Context, r stages.Record) (string, error) {
		return string(r.Body), nil
	})
	for s, err := range pipeline.All(pipeline.Merge(raw, decoded)) {
		if err != nil {
			t.Fatal(err)
		}
		if s != pretty && s != `{"a":[1,2]}` {
			t.Fatalf("a branch saw %q", s)
		}
	}
}

// TestDecodeAsAfterTheBodyWasDropped: DecodeAs given records whose body a
// Decode(None) or WithDecode(None) dropped fails them as decode records,
// rather than passing a zero value as if the body had decoded.
func TestDecodeAsAfterTheBodyWasDropped(t *testing.T) {
	p := pipeline.New(t.Context())
	in := pipeline.FromSlice(p, []stages.Record{{Status: 200, Body: []byte(`{"a":1}`)}})
	var got []stages.Decoded[struct{ A int }]
	for d, err := range pipeline.All(stages.DecodeAs[struct{ A int }](stages.Decode(in, stages.None))) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d)
	}
	if len(got) != 1 || got[0].Record.Err == nil || got[0].Record.Err.Kind != stages.KindDecode {
		t.Fatalf("got %+v, want a decode error", got)
	}
	t.Log(got[0].Record.Err.Message)
}

// TestEncodedBodies: a gzip body sent whole but empty or cut short was a
// network failure ("connection closed by the server"), retried; it is a
// decode failure, tried once. A body in an encoding fetchpipe does not
// decode (br, gzip twice) says which, and a JSON body that starts with a
// UTF-8 byte order mark is JSON.
func TestEncodedBodies(t *testing.T) {
	var whole bytes.Buffer
	zw := gzip.NewWriter(&whole)
	zw.Write([]byte(`{"a":1}`))
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(whole.Bytes())
		case "/empty":
			w.Header().Set("Content-Encoding", "gzip")
		case "/truncated":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(whole.Bytes()[:whole.Len()/2])
		case "/br":
			w.Header().Set("Content-Encoding", "br")
			w.Write([]byte{0x1b, 0x03, 0x00})
		case "/twice":
			w.Header().Set("Content-Encoding", "gzip, gzip")
			w.Write(whole.Bytes())
		case "/bom":
			w.Write([]byte("\xef\xbb\xbf{\"a\":1}"))
		}
	}))
	defer srv.Close()
	tests := []struct {
		path     string
		kind     stages.Kind
		message  string
		attempts int
	}{
		{"/gzip", "", "", 1},
		{"/empty", stages.KindDecode, "gzip-compressed body is empty", 1},
		{"/truncated", stages.KindDecode, "gzip-compressed body is cut short", 1},
		{"/br", stages.KindDecode, `encoded with "br"`, 1},
		{"/twice", stages.KindDecode, `encoded with "gzip, gzip"`, 1},
		{"/bom", "", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := pipeline.New(t.Context())
			r := collect(t, stages.Fetch(stages.URLs(p, []string{srv.URL + tt.path}), stages.WithDecode(stages.JSON), stages.WithMaxRetryWait(0)))[0]
			var kind stages.Kind
			if r.Err != nil {
				kind = r.Err.Kind
			}
			if kind != tt.kind || r.Attempts != tt.attempts || (r.Err != nil && !strings.Contains(r.Err.Message, tt.message)) {
				t.Errorf("error %v after %d attempts; want kind %q saying %q after %d", r.Err, r.Attempts, tt.kind, tt.message, tt.attempts)
			}
			if tt.kind == "" && string(r.Body) != `{"a":1}` {
				t.Errorf("body %q", r.Body)
			}
		})
	}
}

// TestEncodingsTheAdversaryFound: no body to decode (HEAD, 204, 304) is
// no failure whatever Content-Encoding says; two Content-Encoding lines
// are two encodings; a 503 whose body does not decode is still a 503,
// retried; raw deflate sent as "deflate" is a decode failure.
func TestEncodingsTheAdversaryFound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(http.StatusNoContent)
		case "/head":
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", "20")
		case "/two-lines":
			w.Header().Add("Content-Encoding", "gzip")
			w.Header().Add("Content-Encoding", "gzip")
			w.Write([]byte{0x1f, 0x8b})
		case "/503-br":
			w.Header().Set("Content-Encoding", "br")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte{0x1b, 0x03})
		case "/503-empty-gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/raw-deflate":
			w.Header().Set("Content-Encoding", "deflate")
			w.Write([]byte{0xab, 0x56, 0x4a, 0x54, 0xb2})
		}
	}))
	defer srv.Close()
	tests := []struct {
		method, path string
		kind         stages.Kind
		message      string
		attempts     int
	}{
		{"GET", "/204", "", "", 1},
		{"HEAD", "/head", "", "", 1},
		{"GET", "/two-lines", stages.KindDecode, `"gzip, gzip"`, 1},
		{"GET", "/503-br", stages.KindHTTPStatus, `503 Service Unavailable; the body is encoded with "br"`, 3},
		{"GET", "/503-empty-gzip", stages.KindHTTPStatus, "503 Service Unavailable; its body does not decode", 3},
		{"GET", "/raw-deflate", stages.KindDecode, "compressed body is corrupt", 1},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			p := pipeline.New(t.Context())
			r := collect(t, stages.Fetch(stages.URLs(p, []string{srv.URL + tt.path}), stages.WithMethod(tt.method), stages.WithMaxRetryWait(0)))[0]
			var kind stages.Kind
			if r.Err != nil {
				kind = r.Err.Kind
			}
			if kind != tt.kind || r.Attempts != tt.attempts || (r.Err != nil && !strings.Contains(r.Err.Message, tt.message)) {
				t.Errorf("error %v after %d attempts; want kind %q saying %q after %d", r.Err, r.Attempts, tt.kind, tt.message, tt.attempts)
			}
		})
	}
}

// TestNotJSONSaysWhereAndWhat: the message of a body that is not JSON
// says where it stops being JSON and what is there, and shows its start
// however it is encoded.
func TestNotJSONSaysWhereAndWhat(t *testing.T) {
	// JSON in UTF-16, as Windows servers send it: its bytes show escaped.
	utf16 := "\xff\xfe{\x00\"\x00a\x00\"\x00:\x001\x00}\x00" + strings.Repeat(" \x00", 20)
	tests := []struct{ body, contentType, want string }{
		{"<html>oops</html>", "text/html", `body is not valid JSON: '<' at byte 0 of 17, content type text/html; it is "<html>oops</html>"`},
		{`{"a":`, "", `body is not valid JSON: it ends before its JSON value does (5 bytes); it is "{\"a\":"`},
		{"[1, 2] x", "", `body is not valid JSON: 'x' at byte 7 of 8; it is "[1, 2] x"`},
		{"[\"a\x01\"]", "", `body is not valid JSON: control character U+0001 at byte 3 of 6; it is "[\"a\x01\"]"`},
		{utf16, "", fmt.Sprintf("body is not valid JSON: byte 0xff at byte 0 of %d; it begins %q…", len(utf16), utf16[:48])},
		{strings.Repeat("é", 30), "", `body is not valid JSON: 'é' at byte 0 of 60; it begins "` + strings.Repeat("é", 24) + `"…`},
	}
	for _, tt := range tests {
		p := pipeline.New(t.Context())
		in := pipeline.FromSlice(p, []stages.Record{{Status: 200, ContentType: tt.contentType, Body: []byte(tt.body)}})
		for r, err := range pipeline.All(stages.Decode(in, stages.JSON)) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Err == nil || r.Err.Kind != stages.KindDecode || r.Err.Message != tt.want {
				t.Errorf("body %q: error %v\nwant decode: %s", tt.body, r.Err, tt.want)
			}
		}
	}
}
