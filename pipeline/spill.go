package pipeline

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// DefaultSpillLimit is how many bytes a Spill keeps on disk at most when
// its Limit is 0.
const DefaultSpillLimit = 1 << 30

// A Spill lets a stage in input order keep going past a slow item: results
// that finish beyond its in-memory window go to a temporary file, and come
// back from it when their turn to be emitted comes. Without one, the stage
// stops reading once its window is full of results waiting for the slow
// item. Give it with WithSpill.
type Spill[T any] struct {
	// Encode appends v's encoding to dst and returns the extended slice.
	Encode func(dst []byte, v T) []byte
	// Decode returns the value that Encode encoded in b. It must not keep
	// b, whose memory is reused. An error is fatal for the run.
	Decode func(b []byte) (T, error)
	// Limit is how many bytes of results the file holds at most; 0 means
	// DefaultSpillLimit. When it is reached, results stay in memory and
	// the stage stops reading until the slow item is done.
	Limit int64
	// Dir is where the file is made; "" means os.TempDir(). The file is
	// removed when the run ends, however it ends.
	Dir string
}

// WithSpill gives a stage in input order (Schedule, or Map with
// WithInputOrder) a Spill for the results of its item type. Schedule
// panics if s is not a Spill of its result type, or lacks Encode or
// Decode.
func WithSpill[T any](s Spill[T]) Option {
	if s.Encode == nil || s.Decode == nil {
		panic("pipeline.WithSpill: a Spill needs both Encode and Decode")
	}
	if s.Limit < 0 {
		panic(fmt.Sprintf("pipeline.WithSpill: negative Limit %d", s.Limit))
	}
	return func(c *config) { c.spill = &s }
}

// spillRef is where a spilled result lies in the file.
type spillRef struct {
	off int64
	n   int
}

// spillFile is the file of a Spill: results are appended, read back once,
// and the file starts again from empty whenever all it held was read.
type spillFile[T any] struct {
	spec  *Spill[T]
	limit int64

	mu   sync.Mutex
	f    *os.File
	off  int64 // end of what was written
	live int64 // bytes written and not yet read back
	buf  []byte
	path string
}

func newSpillFile[T any](spec *Spill[T]) *spillFile[T] {
	limit := spec.Limit
	if limit == 0 {
		limit = DefaultSpillLimit
	}
	return &spillFile[T]{spec: spec, limit: limit}
}

// write appends v to the file. ok is false when v does not fit within the
// limit; then nothing was written.
func (s *spillFile[T]) write(v T) (ref spillRef, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = s.spec.Encode(s.buf[:0], v)
	n := int64(len(s.buf))
	if s.live+n > s.limit {
		return spillRef{}, false, nil
	}
	if s.f == nil {
		if s.f, err = os.CreateTemp(s.spec.Dir, "fetchpipe-spill-*"); err != nil {
			return spillRef{}, false, fmt.Errorf("spilling results to disk: %w", err)
		}
		s.path = s.f.Name()
	}
	if _, err := s.f.WriteAt(s.buf, s.off); err != nil {
		return spillRef{}, false, fmt.Errorf("spilling results to disk: %w", err)
	}
	ref = spillRef{off: s.off, n: len(s.buf)}
	s.off += n
	s.live += n
	return ref, true, nil
}

// read returns the value at ref, which is read only once.
func (s *spillFile[T]) read(ref spillRef) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero T
	if cap(s.buf) < ref.n {
		s.buf = make([]byte, ref.n)
	}
	s.buf = s.buf[:ref.n]
	if _, err := s.f.ReadAt(s.buf, ref.off); err != nil && err != io.EOF {
		return zero, fmt.Errorf("reading spilled results back: %w", err)
	}
	v, err := s.spec.Decode(s.buf)
	if err != nil {
		return zero, fmt.Errorf("decoding a spilled result: %w", err)
	}
	s.live -= int64(ref.n)
	if s.live == 0 {
		// All that was spilled was read back: start again from the
		// beginning, so that the file does not grow with the run.
		s.off = 0
		if err := s.f.Truncate(0); err != nil {
			return zero, fmt.Errorf("reusing the spill file: %w", err)
		}
	}
	return v, nil
}

// remove removes the file, if one was made.
func (s *spillFile[T]) remove() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		s.f.Close()
		os.Remove(s.path)
		s.f = nil
	}
}
