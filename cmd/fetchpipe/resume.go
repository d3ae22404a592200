package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// resumeOutput opens the output of --resume: FILE, read for what it holds,
// then written from the end of its whole lines, which drops a tail torn by
// a kill. A FILE that does not exist is created, so the command line that
// starts a run is the one that resumes it. At close, the file is cut where
// the records written end (if any were: a refused resume writes nothing),
// and synced, so that what it says survives a crash of the machine too.
func (f *fetchFlags) resumeOutput(in io.Reader) (io.Writer, *stages.Previous, func() error, func() error, error) {
	if f.output != "" && f.output != f.resume {
		st, err1 := os.Stat(f.output)
		rt, err2 := os.Stat(f.resume)
		if err1 != nil || err2 != nil || !os.SameFile(st, rt) {
			return nil, nil, nil, nil, errors.New("--resume appends to its FILE: -o must name the same file, or be left out")
		}
	}
	file, err := os.OpenFile(f.resume, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("--resume: %w", err)
	}
	fail := func(err error) (io.Writer, *stages.Previous, func() error, func() error, error) {
		file.Close()
		return nil, nil, nil, nil, err
	}
	st, err := file.Stat()
	switch {
	case err != nil:
		return fail(fmt.Errorf("--resume: %w", err))
	case !st.Mode().IsRegular():
		return fail(fmt.Errorf("--resume %s: not a regular file", f.resume))
	case sameFileInfo(in, st):
		return fail(fmt.Errorf("--resume %s is the input file: it must be an earlier output", f.resume))
	}
	if err := lockFile(file); err != nil {
		return fail(fmt.Errorf("--resume %s: %w", f.resume, err))
	}
	prev, err := stages.ReadPrevious(file)
	if err != nil {
		return fail(fmt.Errorf("--resume %s: %w; is it an output of fetchpipe?", f.resume, err))
	}
	// Reading a large output leaves garbage of every line decoded, which
	// the run's lenient GOGC would let the heap hold for its whole length.
	runtime.GC()
	if _, err := file.Seek(prev.Size(), io.SeekStart); err != nil {
		return fail(fmt.Errorf("--resume: %w", err))
	}
	closeOut := sync.OnceValue(func() error {
		end, err := file.Seek(0, io.SeekCurrent)
		if err == nil && end > prev.Size() {
			err = file.Truncate(end)
		}
		if err == nil {
			err = file.Sync()
		}
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		return err
	})
	return &cutFirst{file: file, at: prev.Size()}, prev, closeOut, file.Sync, nil
}

// cutFirst is the output of a resumed run: before its first write it cuts
// the file where its whole lines end, dropping a tail a kill tore, so that
// a reader following the file (tail -f) sees it shrink, rather than new
// records written over the torn bytes it has already read.
type cutFirst struct {
	file *os.File
	at   int64
	cut  bool
}

func (c *cutFirst) Write(b []byte) (int, error) {
	if !c.cut {
		if err := c.file.Truncate(c.at); err != nil {
			return 0, err
		}
		c.cut = true
	}
	return c.file.Write(b)
}

// verifyInput checks the whole input against prev before the run, where
// it can be read twice (arguments, or a file, read again from where it
// stands), so that the resumed run holds nothing back however much of the
// input failed before. A stream is checked as the run reads it instead.
func verifyInput(t *fetchTask, prev *stages.Previous) error {
	var file *os.File
	if t.items == nil {
		f, ok := t.in.(*os.File)
		if !ok {
			return nil
		}
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			return nil
		}
		file = f
	}
	var at int64
	if file != nil {
		var err error
		if at, err = file.Seek(0, io.SeekCurrent); err != nil {
			return nil // not seekable after all: checked as it is read
		}
	}
	p := pipeline.New(context.Background())
	defer p.Stop()
	err := prev.Verify(t.requests(p))
	if file != nil {
		if _, serr := file.Seek(at, io.SeekStart); serr != nil && err == nil {
			err = serr
		}
	}
	return err
}
