package stages_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// TestFollowGivesDerivedRequestsAnIdentity: a follow-up request keeps its
// record's seq and meta and gets a path of its own below it, at any depth;
// failed records have no follow-ups; the template applies as in URLs.
func TestFollowGivesDerivedRequestsAnIdentity(t *testing.T) {
	records := []stages.Record{
		{Seq: 0, Body: []byte("a b"), Meta: []byte(`{"list":"x"}`)},
		{Seq: 1, Body: []byte("c"), Err: &stages.Error{Kind: stages.KindHTTPStatus}},
		{Seq: 2, Follow: []int{3}, Body: []byte(" d  e ")},
		{Seq: 3, Body: nil},
	}
	p := pipeline.New(t.Context())
	got := collect(t, stages.Follow(pipeline.FromSlice(p, records), func(r stages.Record) []string {
		return strings.Split(string(r.Body), " ")
	}, stages.WithTemplate("http://h/{}")))
	var lines []string
	for _, r := range got {
		lines = append(lines, fmt.Sprintf("%d %v %s %s", r.Seq, r.Follow, r.URL, r.Meta))
	}
	want := []string{
		`0 [0] http://h/a {"list":"x"}`,
		`0 [1] http://h/b {"list":"x"}`,
		`2 [3 0] http://h/ `,
		`2 [3 1] http://h/d `,
		`2 [3 2] http://h/ `,
		`2 [3 3] http://h/e `,
		`2 [3 4] http://h/ `,
		`3 [0] http://h/ `,
	}
	if !slices.Equal(lines, want) {
		t.Errorf("follow-ups\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Each path is a slice of its own: changing one changes no other.
	got[2].Follow[0] = 99
	if got[3].Follow[0] != 3 || records[2].Follow[0] != 3 {
		t.Errorf("follow-ups share their path: %v, %v", got[3].Follow, records[2].Follow)
	}
}

// TestRequestsNumbersStringsMidPipeline: strings from any stage become
// requests numbered in their own seq space, through the template.
func TestRequestsNumbersStringsMidPipeline(t *testing.T) {
	p := pipeline.New(t.Context())
	ids := pipeline.Map(pipeline.FromSlice(p, []int{7, 8, 9}), func(_ context.Context, n int) (string, error) {
		return fmt.Sprintf(" id %d ", n), nil
	})
	var got []string
	for _, r := range collect(t, stages.Requests(ids, stages.WithTemplate("http://h/item/{}"))) {
		got = append(got, fmt.Sprintf("%d %s %v", r.Seq, r.URL, r.Follow))
	}
	want := []string{"0 http://h/item/id%207 []", "1 http://h/item/id%208 []", "2 http://h/item/id%209 []"}
	if !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}
