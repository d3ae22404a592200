package stages

import (
	"bytes"
	stdjson "encoding/json"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/segmentio/encoding/json"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
)

// BenchmarkDecodeJSON compares Decode(JSON)'s work on a body (decodeBody:
// one scan that checks and notes the white space, then compaction in
// place) with what it is measured against: segmentio's Valid on the same
// bytes, which only checks; the checks this replaced, which kept every
// space but line breaks ("lines": depth count, Valid, utf8.Valid, line
// breaks to spaces); and the Compact functions of both JSON packages.
// The bodies are listings from the fake API, compact and indented, small
// and about 1 MB, with ASCII or many-script text.
//
// decodeBody changes the body in place, so every case copies the body into
// a work buffer first, and "copy" measures that copy alone.
func BenchmarkDecodeJSON(b *testing.B) {
	bodies := []struct{ name, path string }{
		{"compact 2KB", "/r/golang.json"},
		{"indented 3.6KB unicode", "/r/golang.json?pretty=1&unicode=1&bytes=2600"},
		{"compact 1MB", "/r/golang.json?bytes=1000000"},
		{"indented 1MB", "/r/golang.json?bytes=716000&pretty=1"},
	}
	methods := []struct {
		name string
		run  func(b *testing.B, work []byte, out *bytes.Buffer)
	}{
		{"copy", func(*testing.B, []byte, *bytes.Buffer) {}},
		{"decodeBody", func(b *testing.B, work []byte, _ *bytes.Buffer) {
			r := Record{Body: work}
			decodeBody(&r, JSON, true, DefaultMaxDepth)
			if r.Format != JSON {
				b.Fatal(r.Err)
			}
		}},
		{"segmentio.Valid", func(b *testing.B, work []byte, _ *bytes.Buffer) {
			if !json.Valid(work) {
				b.Fatal("not valid")
			}
		}},
		{"lines", func(b *testing.B, work []byte, _ *bytes.Buffer) {
			if tooDeep(work, DefaultMaxDepth) || !json.Valid(work) || !utf8.Valid(work) {
				b.Fatal("not valid")
			}
			for _, c := range []byte{'\n', '\r'} {
				for rest := work; ; {
					i := bytes.IndexByte(rest, c)
					if i < 0 {
						break
					}
					rest[i] = ' '
					rest = rest[i+1:]
				}
			}
		}},
		{"segmentio.Compact", func(b *testing.B, work []byte, out *bytes.Buffer) {
			out.Reset()
			if err := json.Compact(out, work); err != nil {
				b.Fatal(err)
			}
		}},
		{"encoding/json.Valid", func(b *testing.B, work []byte, _ *bytes.Buffer) {
			if !stdjson.Valid(work) {
				b.Fatal("not valid")
			}
		}},
	}
	h := fakeapi.NewHandler(fakeapi.Config{})
	for _, body := range bodies {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", body.path, nil))
		src := rec.Body.Bytes()
		for _, m := range methods {
			b.Run(body.name+"/"+m.name, func(b *testing.B) {
				work := make([]byte, len(src))
				var out bytes.Buffer
				out.Grow(len(src))
				b.SetBytes(int64(len(src)))
				b.ReportAllocs()
				for b.Loop() {
					copy(work, src)
					m.run(b, work, &out)
				}
			})
		}
	}
}
