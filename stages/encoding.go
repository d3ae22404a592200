package stages

import (
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Fetch asks for gzip itself rather than let net/http do it, for two
// reasons: a body cap must count decoded bytes (a small gzip bomb would
// pass it), and only the reader under the decompressor can tell a body
// that was sent whole but is corrupt (a decode failure, not worth a retry)
// from a connection that broke (a network failure, worth one). net/http's
// own decompression hides that difference.

// wireBody reads the body as it comes off the connection and remembers
// whether it ended cleanly.
type wireBody struct {
	r   io.Reader
	eof bool
}

func (w *wireBody) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if err == io.EOF {
		w.eof = true
	}
	return n, err
}

// decoded returns a reader of resp's decoded body, read through wire, and
// the body's Content-Encoding ("" for none). An encoding it does not know
// is read as it came; the caller fails the record on it.
func decoded(resp *http.Response, wire *wireBody) (io.ReadCloser, string, error) {
	// Two header lines are two encodings, as "gzip, gzip" is.
	encoding := strings.ToLower(strings.TrimSpace(strings.Join(resp.Header.Values("Content-Encoding"), ", ")))
	if resp.Uncompressed || encoding == "identity" || noBody(resp) {
		// A client of the caller's own decompressed it already, or there
		// is no body to decode: the answer to a HEAD, a 204, a 304.
		encoding = ""
	}
	switch encoding {
	case "gzip", "x-gzip":
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(wire)
		} else {
			err = zr.Reset(wire)
		}
		if err != nil {
			return nil, encoding, err
		}
		return pooledGzip{zr}, encoding, nil
	case "deflate":
		zr, err := zlib.NewReader(wire)
		return zr, encoding, err
	}
	return io.NopCloser(wire), encoding, nil
}

func knownEncoding(encoding string) bool {
	switch encoding {
	case "gzip", "x-gzip", "deflate":
		return true
	}
	return false
}

// gzipReaders keeps gzip readers between bodies: each holds some 40 KB of
// decompressor state, which a fresh one per response would allocate.
var gzipReaders sync.Pool

type pooledGzip struct{ *gzip.Reader }

func (p pooledGzip) Close() error {
	gzipReaders.Put(p.Reader)
	return nil
}

// bodyError classifies a failure to read or decode a body. When the body
// came whole off the connection but the decompressor found it empty or
// cut short, the server sent a corrupt body: a decode failure.
func (f *fetcher) bodyError(err error, wire *wireBody, encoding string, run, attempt context.Context) *Error {
	if encoding != "" && wire.eof && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		what := "cut short"
		if errors.Is(err, io.EOF) {
			what = "empty"
		}
		return causedBy(KindDecode, fmt.Sprintf("the %s-compressed body is %s: the server sent it whole, but it does not decode", encoding, what), err)
	}
	return f.classify(err, run, attempt, phaseBody)
}

// noBody reports whether resp has no body by the rules of HTTP, whatever
// its Content-Encoding says: the answer to a HEAD, a 204 or a 304.
func noBody(resp *http.Response) bool {
	return resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified ||
		resp.Request != nil && resp.Request.Method == http.MethodHead
}
