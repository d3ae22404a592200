package pipeline

import (
	"fmt"
	"io"
	"os"
	"slices"
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
	// Limit is how many bytes of results the spill holds at most; 0 means
	// DefaultSpillLimit. It holds a million results at most, whatever
	// their size. When either is reached, results stay in memory and the
	// stage stops reading until the slow item is done.
	Limit int64
	// Full, if set, is called once, the first time a result does not fit
	// within the limits: the moment the stage starts to wait for its slow
	// item again, which a program may want to say. It must be quick.
	Full func()
	// Dir is where the spill's files are made; "" means os.TempDir().
	// They are removed when the run ends, however it ends, and each as
	// soon as all it held was read back.
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
	return func(c *config) { c.spill, c.given = &s, c.given|optSpill }
}

// maxSpilled bounds how many results a Spill holds at once, whatever
// their size: each costs a few dozen bytes of memory for its place.
const maxSpilled = 1 << 20

// segmentSize is how large a spill file grows before the next result goes
// to a new one: a file is removed once all it holds was read back, so
// that the disk used stays near what is spilled even when results are
// read back in another order than they were written.
const segmentSize = 16 << 20

// spillRef is where a spilled result lies.
type spillRef struct {
	seg *segment
	off int64
	n   int
}

// segment is one spill file.
type segment struct {
	f    *os.File
	size int64 // bytes written
	live int   // results written and not yet read back
}

// spillFile is the spill of a stage: results are appended to the newest
// segment, read back once, and a segment goes when it holds nothing more.
type spillFile[T any] struct {
	spec  *Spill[T]
	limit int64

	mu    sync.Mutex
	segs  []*segment // the last is the one written to
	bytes int64      // bytes written and not yet read back
	count int        // results written and not yet read back
	buf   []byte
	full  bool // Full was called
}

func newSpillFile[T any](spec *Spill[T]) *spillFile[T] {
	limit := spec.Limit
	if limit == 0 {
		limit = DefaultSpillLimit
	}
	return &spillFile[T]{spec: spec, limit: limit}
}

// write appends v. ok is false when v does not fit within the limits;
// then nothing was written.
func (s *spillFile[T]) write(v T) (ref spillRef, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = s.spec.Encode(s.buf[:0], v)
	n := int64(len(s.buf))
	if s.bytes+n > s.limit || s.count >= maxSpilled {
		if !s.full && s.spec.Full != nil {
			s.full = true
			s.spec.Full()
		}
		return spillRef{}, false, nil
	}
	seg := s.current()
	if seg == nil || seg.size >= segmentSize {
		f, err := os.CreateTemp(s.spec.Dir, "fetchpipe-spill-*")
		if err != nil {
			return spillRef{}, false, fmt.Errorf("spilling results to disk: %w", err)
		}
		// Unlinked at once where the system allows it: the file lives as
		// long as it is open, and no end of the process, a kill included,
		// leaves it behind. Elsewhere it goes when it is closed.
		_ = os.Remove(f.Name())
		seg = &segment{f: f}
		s.segs = append(s.segs, seg)
	}
	if _, err := seg.f.WriteAt(s.buf, seg.size); err != nil {
		return spillRef{}, false, fmt.Errorf("spilling results to disk: %w", err)
	}
	ref = spillRef{seg: seg, off: seg.size, n: len(s.buf)}
	seg.size += n
	seg.live++
	s.bytes += n
	s.count++
	return ref, true, nil
}

func (s *spillFile[T]) current() *segment {
	if len(s.segs) == 0 {
		return nil
	}
	return s.segs[len(s.segs)-1]
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
	if _, err := ref.seg.f.ReadAt(s.buf, ref.off); err != nil && err != io.EOF {
		return zero, fmt.Errorf("reading spilled results back: %w", err)
	}
	v, err := s.spec.Decode(s.buf)
	if err != nil {
		return zero, fmt.Errorf("decoding a spilled result: %w", err)
	}
	s.bytes -= int64(ref.n)
	s.count--
	if ref.seg.live--; ref.seg.live == 0 {
		if ref.seg == s.current() {
			// Start the segment again from empty rather than make a
			// new one.
			ref.seg.size = 0
			if err := ref.seg.f.Truncate(0); err != nil {
				return zero, fmt.Errorf("reusing a spill file: %w", err)
			}
		} else {
			closeSegment(ref.seg)
			s.segs = slices.DeleteFunc(s.segs, func(g *segment) bool { return g == ref.seg })
		}
	}
	return v, nil
}

// remove removes every segment.
func (s *spillFile[T]) remove() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seg := range s.segs {
		closeSegment(seg)
	}
	s.segs = nil
}

func closeSegment(seg *segment) {
	seg.f.Close()
	os.Remove(seg.f.Name())
}
