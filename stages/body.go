package stages

import (
	"errors"
	"fmt"
	"io"

	"github.com/dustin/go-humanize"
)

// errTooLarge reports a body over the cap; its message is the record's.
type errTooLarge struct {
	limit     int64
	announced int64 // the Content-Length that gave it away before reading, or -1
}

func (e *errTooLarge) Error() string {
	if e.announced > e.limit {
		return fmt.Sprintf("body of %s announced, larger than the %s cap", humanize.IBytes(uint64(e.announced)), humanize.IBytes(uint64(e.limit)))
	}
	return fmt.Sprintf("body is larger than the %s cap", humanize.IBytes(uint64(e.limit)))
}

// maxPrealloc bounds what readBody reserves before the body arrives.
const maxPrealloc = 256 << 10

// readBody reads r to its end into one buffer sized from the announced
// length, so that a typical body is read with a single allocation. It stops
// as soon as more than limit bytes have arrived (limit 0: no cap), which is
// what keeps a decompression bomb from filling memory: the cap is applied to
// the decoded bytes. Over the cap, it returns what it read: nothing when the
// announced length gave the size away.
func readBody(r io.Reader, announced, limit int64) ([]byte, error) {
	if limit > 0 && announced > limit {
		return nil, &errTooLarge{limit, announced}
	}
	size := int64(512)
	if announced >= 0 {
		// +1 so that EOF is seen without growing. The announcement is the
		// server's word, not bytes: trust it only so far, and let append
		// grow the buffer as the body really arrives.
		size = min(announced+1, maxPrealloc)
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if limit > 0 && int64(len(buf)) > limit {
			return buf, &errTooLarge{limit, -1}
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
