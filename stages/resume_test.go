package stages_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// TestReadPrevious: the latest record of each item counts, records of
// follow-ups are not items, a torn last line is left out of the whole
// lines, and a line that is not a record is an error.
func TestReadPrevious(t *testing.T) {
	rec := func(seq int, item string, ok bool) string {
		return fmt.Sprintf(`{"seq":%d,"item":%q,"url":"u","status":0,"ok":%v,"attempts":1,"elapsed_ms":1,"bytes":0}`+"\n", seq, item, ok)
	}
	whole := rec(0, "a", true) + rec(1, "b", false) + rec(1, "b", true) + rec(2, "c", true) + rec(2, "c", false) +
		`{"seq":0,"follow":[0],"item":"x","url":"u","status":0,"ok":false,"attempts":1,"elapsed_ms":1,"bytes":0}` + "\n"
	prev, err := stages.ReadPrevious(strings.NewReader(whole + `{"seq":3,"item":"d","u`))
	if err != nil {
		t.Fatal(err)
	}
	if prev.Done() != 2 || prev.Size() != int64(len(whole)) {
		t.Errorf("Done %d, Size %d; want 2 (a and b; c failed last), %d", prev.Done(), prev.Size(), len(whole))
	}
	if _, err := stages.ReadPrevious(strings.NewReader(whole + "http://a/\n")); err == nil || !strings.Contains(err.Error(), "line 7 is not a record") {
		t.Errorf("an input list read as an output: %v", err)
	}
}

// TestResumeSkipsWhatIsDone: Resume passes on what the previous output
// does not hold ok, in input order, and refuses an input that is not the
// one it answers before passing on anything.
func TestResumeSkipsWhatIsDone(t *testing.T) {
	var out strings.Builder
	for i, ok := range []bool{true, false, true, true} {
		fmt.Fprintf(&out, `{"seq":%d,"item":%q,"url":"i%d","status":0,"ok":%v,"attempts":1,"elapsed_ms":1,"bytes":0}`+"\n", i, stages.ItemOf(fmt.Sprint("i", i)), i, ok)
	}
	tests := []struct {
		name  string
		items []string
		want  []int64 // the seqs passed on
		err   string
	}{
		{"the same input, longer", []string{"i0", "i1", "i2", "i3", "i4", "i5"}, []int64{1, 4, 5}, ""},
		{"the same input", []string{"i0", "i1", "i2", "i3"}, []int64{1}, ""},
		{"a changed item", []string{"i0", "i1", "X", "i3"}, nil, "input item 2 "},
		{"a shorter input", []string{"i0", "i1"}, nil, "the input ends before item 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev, err := stages.ReadPrevious(strings.NewReader(out.String()))
			if err != nil {
				t.Fatal(err)
			}
			p := pipeline.New(t.Context())
			var got []int64
			err = pipeline.ForEach(stages.Resume(stages.URLs(p, tt.items), prev), func(_ context.Context, r stages.Request) error {
				got = append(got, r.Seq)
				return nil
			})
			if tt.err != "" {
				var changed *stages.ChangedInputError
				if !errors.As(err, &changed) || !strings.Contains(err.Error(), tt.err) || got != nil {
					t.Errorf("error %v after passing on %v; want a ChangedInputError saying %q, and nothing", err, got, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("passed on %v (error %v), want %v", got, err, tt.want)
			}
			if skipped := prev.Skipped(); skipped != 3 {
				t.Errorf("Skipped = %d, want 3", skipped)
			}
		})
	}
}

// TestResumeAfterVerify: an input checked whole by Verify is resumed
// without holding anything back, skipping the same items; an input that
// Verify refuses is refused before a run.
func TestResumeAfterVerify(t *testing.T) {
	var out strings.Builder
	for i, ok := range []bool{true, false, true, true} {
		fmt.Fprintf(&out, `{"seq":%d,"item":%q,"url":"i%d","status":0,"ok":%v,"attempts":1,"elapsed_ms":1,"bytes":0}`+"\n", i, stages.ItemOf(fmt.Sprint("i", i)), i, ok)
	}
	items := []string{"i0", "i1", "i2", "i3", "i4"}
	prev, err := stages.ReadPrevious(strings.NewReader(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := prev.Verify(stages.URLs(pipeline.New(t.Context()), items)); err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(t.Context())
	var got []int64
	for r, err := range pipeline.All(stages.Resume(stages.URLs(p, items), prev)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Seq)
	}
	if !slices.Equal(got, []int64{1, 4}) {
		t.Errorf("passed on %v, want [1 4]", got)
	}
	changed := []string{"i0", "i1", "i2", "X3"}
	var ce *stages.ChangedInputError
	if err := prev.Verify(stages.URLs(pipeline.New(t.Context()), changed)); !errors.As(err, &ce) || ce.Seq != 3 {
		t.Errorf("Verify of a changed input: %v", err)
	}
}

// TestResumeRefusesAnotherTemplate: the same items under another
// template make other URLs: the output answers another job.
func TestResumeRefusesAnotherTemplate(t *testing.T) {
	rec := fmt.Sprintf(`{"seq":0,"item":%q,"url":"http://h/a/golang","status":200,"ok":true,"attempts":1,"elapsed_ms":1,"bytes":0}`+"\n", stages.ItemOf("golang"))
	prev, err := stages.ReadPrevious(strings.NewReader(rec))
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(t.Context())
	err = pipeline.ForEach(stages.Resume(stages.URLs(p, []string{"golang"}, stages.WithTemplate("http://h/b/{}")), prev),
		func(context.Context, stages.Request) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "another template") {
		t.Errorf("error %v, want one about another template", err)
	}
}

// TestResumeRefusesAnOutputWithoutIdentities: an output written before
// records carried their item cannot be matched to an input, and says so.
func TestResumeRefusesAnOutputWithoutIdentities(t *testing.T) {
	prev, err := stages.ReadPrevious(strings.NewReader(`{"seq":0,"url":"golang","status":200,"ok":true,"attempts":1,"elapsed_ms":1,"bytes":0}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = prev.Verify(stages.URLs(pipeline.New(t.Context()), []string{"golang"}))
	if err == nil || !strings.Contains(err.Error(), "before identities") {
		t.Errorf("error %v", err)
	}
}

// TestResumeRefusesAnImpossibleSeq: a seq far beyond the lines of the
// output is not one this input has; it once crashed the reader, or took
// all memory. It is held in the memory of one record, and the input is
// refused as not the one the output answers.
func TestResumeRefusesAnImpossibleSeq(t *testing.T) {
	for _, seq := range []string{"9223372036854775807", "4000000000000"} {
		prev, err := stages.ReadPrevious(strings.NewReader(`{"seq":` + seq + `,"item":"x","url":"u","ok":true}` + "\n"))
		if err != nil {
			t.Fatalf("seq %s: %v", seq, err)
		}
		err = prev.Verify(stages.URLs(pipeline.New(t.Context()), []string{"golang"}))
		if changed, ok := errors.AsType[*stages.ChangedInputError](err); !ok || strconv.FormatInt(changed.Seq, 10) != seq {
			t.Errorf("seq %s: error %v, want the input to end before it", seq, err)
		}
	}
}
