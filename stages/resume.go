package stages

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/segmentio/encoding/json"

	"github.com/fetchpipe/fetchpipe/pipeline"
)

// Previous is what an earlier output says of the input items it recorded:
// for each seq, the item of its latest record and whether that record was
// ok. ReadPrevious reads one; Resume skips what it holds ok.
type Previous struct {
	skipped  atomic.Int64 // by Resume, so far
	verified bool         // by Verify: Resume need hold nothing back

	// items holds the seqs recorded, in order, each once: an output of a
	// million items is held in 32 MB, and that of one shard of a list
	// (see WithShard) in proportion to its records, not to the list.
	items []prevItem
	ok    int   // seqs whose latest record is ok
	size  int64 // bytes of whole lines
}

// prevItem is what an output says of one item.
type prevItem struct {
	seq     int64
	item    uint64 // the item's identity, as itemKey makes it
	url     uint64 // a hash of the URL recorded, password masked
	ok      bool
	noIdent bool // the record had no item: written before identities
}

// itemKey makes an item identity a number: the 64 bits an ItemOf hash
// writes in hex, or a hash of a spec's own id.
func itemKey(item string) uint64 {
	if len(item) == 16 {
		if k, err := strconv.ParseUint(item, 16, 64); err == nil {
			return k
		}
	}
	return fnv64("id\x00" + item)
}

// itemText writes a key back as an identity, for a message.
func itemText(k uint64) string { return fmt.Sprintf("%016x", k) }

// ReadPrevious reads an earlier output of records, such as one that
// WriteNDJSON wrote, and keeps of each input item what its latest record
// says. The output may have been cut short by a kill: a last line without
// its line break is left out, and Size says where the whole lines end, so
// that records appended there follow whole ones. A whole line that is not
// a record is an error, as the reader was not given an output at all.
// Records of follow-up requests are left out: they are not input items.
func ReadPrevious(r io.Reader) (*Previous, error) {
	prev := &Previous{}
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			prev.index()
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
			URL    string `json:"url"`
			OK     *bool  `json:"ok"`
		}
		if json.Unmarshal(line, &rec) != nil || rec.Seq == nil || rec.OK == nil || *rec.Seq < 0 {
			return nil, fmt.Errorf("line %d is not a record of fetchpipe's output", n)
		}
		if rec.Follow != nil {
			continue
		}
		prev.items = append(prev.items, prevItem{seq: *rec.Seq, item: itemKey(rec.Item), url: fnv64(rec.URL), ok: *rec.OK, noIdent: rec.Item == ""})
	}
}

// index sorts the items read by seq and keeps each seq's latest record:
// records are written as items finish, and an item retried in a resumed
// run has a record in each.
func (p *Previous) index() {
	slices.SortStableFunc(p.items, func(a, b prevItem) int { return cmp.Compare(a.seq, b.seq) })
	latest := p.items[:0]
	for i, it := range p.items {
		if i+1 < len(p.items) && p.items[i+1].seq == it.seq {
			continue
		}
		latest = append(latest, it)
		if it.ok {
			p.ok++
		}
	}
	p.items = slices.Clip(latest)
}

// max returns the highest seq recorded; -1 for none.
func (p *Previous) max() int64 {
	if len(p.items) == 0 {
		return -1
	}
	return p.items[len(p.items)-1].seq
}

// at returns what prev records at seq, if it records it.
func (p *Previous) at(seq int64) (prevItem, bool) {
	i, found := slices.BinarySearchFunc(p.items, seq, func(it prevItem, seq int64) int { return cmp.Compare(it.seq, seq) })
	if !found {
		return prevItem{}, false
	}
	return p.items[i], true
}

// endedEarly is the error of an input that ends before the last seq p
// records.
func (p *Previous) endedEarly() error {
	return &ChangedInputError{Seq: p.max(), Recorded: itemText(p.items[len(p.items)-1].item)}
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
// another, or the same item with another URL (the template changed), or
// the input ended before Seq.
type ChangedInputError struct {
	Seq      int64
	Recorded string // the item's identity in the output; "" for an output that records none
	Read     string // the item's identity in the input; "" when the input ended first
	URL      string // the input item's URL, password masked
}

func (e *ChangedInputError) Error() string {
	switch {
	case e.Recorded == "":
		return fmt.Sprintf("the previous output records no item identity at seq %d: it was written by a fetchpipe before identities, and cannot be resumed", e.Seq)
	case e.Read == "":
		return fmt.Sprintf("the input ends before item %d (counted from 0, blank and # lines not counted), which the previous output records: it is not the input that output answers", e.Seq)
	case e.Read == e.Recorded:
		return fmt.Sprintf("input item %d (counted from 0, blank and # lines not counted) now makes the URL %s, not the one the previous output records: it was written with another template, or another list", e.Seq, e.URL)
	}
	return fmt.Sprintf("input item %d (counted from 0, blank and # lines not counted; URL %s) is not the item the previous output records at seq %d: the input changed since that output was written", e.Seq, e.URL, e.Seq)
}

// check says how req differs from what prev records at its seq, if it does.
func (p *Previous) check(req *Request) (it prevItem, err error) {
	it, seen := p.at(req.Seq)
	switch {
	case !seen:
		return it, nil
	case it.noIdent:
		return it, &ChangedInputError{Seq: req.Seq, Read: req.Item, URL: redact(req.URL)}
	case it.item != itemKey(req.Item), it.url != fnv64(redact(req.URL)):
		recorded := itemText(it.item)
		if it.item == itemKey(req.Item) {
			recorded = req.Item
		}
		return it, &ChangedInputError{Seq: req.Seq, Recorded: recorded, Read: req.Item, URL: redact(req.URL)}
	}
	return it, nil
}

// Verify reads a whole input and checks it against prev, ahead of the run
// that Resume will skip it in: an input that can be read twice, such as a
// file, is then resumed without Resume holding back the items to fetch
// again until it is past the last one prev records, which after a run
// where most items failed would be most of the input. It returns a
// *ChangedInputError for an input that is not the one prev answers.
func (p *Previous) Verify(in pipeline.Stream[Request]) error {
	last := int64(-1) // by seq, not by count: a shard's items skip seqs
	err := pipeline.ForEach(in, func(_ context.Context, req Request) error {
		last = req.Seq
		_, err := p.check(&req)
		return err
	})
	if err != nil {
		return err
	}
	if last < p.max() {
		return p.endedEarly()
	}
	p.verified = true
	return nil
}

// Resume passes on the requests of in that prev does not hold as ok, so
// that a run over the input of an interrupted one fetches only what that
// run did not finish: items that failed, were canceled, or were never
// reached. Appending the records of the resumed run to the earlier output
// leaves, for every item, exactly one ok record, or failed ones of which
// the latest is the run's last word.
//
// It checks that the input is the one prev answers: every item that prev
// records must come at its seq with its item identity and its URL. Unless
// prev.Verify checked the whole input first, it holds what it would pass
// on until the input is past the last seq prev records, so that a changed
// input ends the run with a *ChangedInputError before a single request is
// made; it holds only the items that prev does not hold as ok.
//
// Options: WithBuffer.
func Resume(in pipeline.Stream[Request], prev *Previous, opts ...Option) pipeline.Stream[Request] {
	s := newSettings("Resume", optBuffer, opts)
	run := in.Pipeline().Context()
	return pipeline.Process(in, func(_ context.Context, reqs <-chan Request, emit func(Request) bool) error {
		var held []Request
		checking := prev.max() >= 0 && !prev.verified
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
			it, err := prev.check(&req)
			if err != nil {
				return err
			}
			last := checking && req.Seq >= prev.max()
			if it.ok {
				prev.skipped.Add(1)
			} else if checking {
				held = append(held, req)
			} else if !emit(req) {
				return nil
			}
			if last && !release() {
				return nil
			}
		}
		if checking {
			if run.Err() == nil {
				return prev.endedEarly()
			}
			// Cut short by a cancel, not by a changed input: what was
			// read goes on, to get its canceled records.
			release()
		}
		return nil
	}, s.buffer...)
}
