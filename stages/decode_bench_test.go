package stages

import (
	"bytes"
	stdjson "encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/segmentio/encoding/json"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
)

// BenchmarkDecodeJSON compares Decode(JSON)'s work on a body (decodeBody:
// validate, then replace line breaks in place) with the alternatives it was
// chosen over, on a ~2 KB compact listing and a ~1 MB pretty-printed one.
//
// decodeBody changes the body in place, so every case copies the body into
// a work buffer first, and "copy" measures that copy alone.
func BenchmarkDecodeJSON(b *testing.B) {
	bodies := []struct{ name, path string }{
		{"compact 2KB", "/r/golang.json"},
		{"pretty 1MB", "/r/golang.json?bytes=716000&pretty=1"},
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
		{"tooDeep", func(b *testing.B, work []byte, _ *bytes.Buffer) {
			if tooDeep(work, DefaultMaxDepth) {
				b.Fatal("too deep")
			}
		}},
		{"segmentio.Valid", func(b *testing.B, work []byte, _ *bytes.Buffer) {
			if !json.Valid(work) {
				b.Fatal("not valid")
			}
		}},
		{"segmentio.Compact", func(b *testing.B, work []byte, out *bytes.Buffer) {
			out.Reset()
			if err := json.Compact(out, work); err != nil {
				b.Fatal(err)
			}
		}},
		{"encoding/json.Compact", func(b *testing.B, work []byte, out *bytes.Buffer) {
			out.Reset()
			if err := stdjson.Compact(out, work); err != nil {
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
