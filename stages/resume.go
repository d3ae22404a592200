package stages

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/segmentio/encoding/json"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// Previous is what an earlier output says of the input items it recorded:
// for each seq, the item of its latest record and whether that record was
// ok. ReadPrevious reads one; Resume skips what it holds ok.
type Previous struct {
	skipped atomic.Int64 // by Resume, so far

	items []prevItem // by seq
	max   int64      // the highest seq recorded; -1 for none
	ok    int        // seqs whose latest record is ok
	size  int64      // bytes of whole lines
}

type prevItem struct {
	item string
	seen bool
	ok   bool
}

// ReadPrevious reads an earlier output of records, such as one that
// WriteNDJSON wrote, and keeps of each input item what its latest record
// says. The output may have been cut short by a kill: a last line without
// its line break is left out, and Size says where the whole lines end, so
// that records appended there follow whole ones. A whole line that is not
// a record is an error, as the reader was not given an output at all.
// Records of follow-up requests are left out: they are not input items.
func ReadPrevious(r io.Reader) (*Previous, error) {
	prev := &Previous{max: -1}
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return prev, nil // a torn last line, or none
		}
		if err != nil {
			return nil, err
		}
		prev.size += int64(len(line))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec struct {
			Seq    *int64 `json:"seq"`
			Follow []int  `json:"follow"`
			Item   string `json:"item"`
			OK     *bool  `json:"ok"`
		}
		if json.Unmarshal(line, &rec) != nil || rec.Seq == nil || rec.OK == nil || *rec.Seq < 0 {
			return nil, fmt.Errorf("line %d is not a record of fetchpipe's output", n)
		}
		if rec.Follow != nil {
			continue
		}
		prev.add(*rec.Seq, rec.Item, *rec.OK)
	}
}

func (p *Previous) add(seq int64, item string, ok bool) {
	if seq >= int64(len(p.items)) {
		p.items = append(p.items, make([]prevItem, seq+1-int64(len(p.items)))...)
	}
	it := &p.items[seq]
	if it.ok {
		p.ok--
	}
	*it = prevItem{item: item, seen: true, ok: ok}
	if ok {
		p.ok++
	}
	p.max = max(p.max, seq)
}

// Size returns how many bytes of the output were whole lines: where
// records appended to it must start.
func (p *Previous) Size() int64 { return p.size }

// Done returns how many input items the output holds as ok.
func (p *Previous) Done() int { return p.ok }

// Skipped returns how many items Resume has skipped so far, as the output
// holds them ok: the items read that get no record in the resumed run.
// Safe to call while the run goes on.
func (p *Previous) Skipped() int64 { return p.skipped.Load() }

// A ChangedInputError says that the input is not the one a previous
// output answers: at Seq, the output recorded one item and the input holds
// another (Read is "" when the input ended before Seq).
type ChangedInputError struct {
	Seq      int64
	Recorded string
	Read     string
}

func (e *ChangedInputError) Error() string {
	if e.Read == "" {
		return fmt.Sprintf("the input ends before item %d, which the previous output records: it is not the input that output answers", e.Seq)
	}
	return fmt.Sprintf("item %d of the input (%s) is not the one the previous output records at seq %d (%s): the input changed since that output was written", e.Seq, e.Read, e.Seq, e.Recorded)
}

// Resume passes on the requests of in that prev does not hold as ok, so
// that a run over the input of an interrupted one fetches only what that
// run did not finish: items that failed, were canceled, or were never
// reached. Appending the records of the resumed run to the earlier output
// leaves, for every item, exactly one ok record, or failed ones of which
// the latest is the run's last word.
//
// It first checks that the input is the one prev answers: every item that
// prev records must come at its seq with its item identity. Until the
// input is past the last seq prev records, it holds what it would pass on,
// so that a changed input ends the run with a *ChangedInputError before a
// single request is made. It holds only the items that prev does not hold
// as ok, which after an interrupted run are few.
//
// Options: WithBuffer.
func Resume(in pipeline.Stream[Request], prev *Previous, opts ...Option) pipeline.Stream[Request] {
	s := newSettings("Resume", optBuffer, opts)
	run := in.Pipeline().Context()
	return pipeline.Process(in, func(_ context.Context, reqs <-chan Request, emit func(Request) bool) error {
		var held []Request
		checking := prev.max >= 0
		release := func() bool {
			for _, r := range held {
				if !emit(r) {
					return false
				}
			}
			held, checking = nil, false
			return true
		}
		for req := range reqs {
			if !checking {
				if !emit(req) {
					return nil
				}
				continue
			}
			if req.Seq <= prev.max {
				if it := prev.items[req.Seq]; it.seen {
					if it.item != req.Item {
						return &ChangedInputError{Seq: req.Seq, Recorded: it.item, Read: req.Item}
					}
					if it.ok {
						prev.skipped.Add(1)
						if req.Seq == prev.max && !release() {
							return nil
						}
						continue
					}
				}
			}
			held = append(held, req)
			if req.Seq >= prev.max && !release() {
				return nil
			}
		}
		if checking {
			if run.Err() == nil {
				return &ChangedInputError{Seq: prev.max, Recorded: prev.items[prev.max].item}
			}
			// Cut short by a cancel, not by a changed input: what was
			// read goes on, to get its canceled records.
			release()
		}
		return nil
	}, s.buffer...)
}
