package stages_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fetchpipe/fetchpipe/pipeline"
	"github.com/fetchpipe/fetchpipe/stages"
)

// shardSources are the sources that take WithShard, each given the same
// items.
var shardSources = []struct {
	name string
	read func(p *pipeline.Pipeline, items []string, opts ...stages.Option) pipeline.Stream[stages.Request]
}{
	{"Lines", func(p *pipeline.Pipeline, items []string, opts ...stages.Option) pipeline.Stream[stages.Request] {
		return stages.Lines(p, strings.NewReader(strings.Join(items, "\n")), opts...)
	}},
	{"URLs", stages.URLs},
	{"Specs", func(p *pipeline.Pipeline, items []string, opts ...stages.Option) pipeline.Stream[stages.Request] {
		return stages.Specs(p, strings.NewReader(strings.Join(items, "\n")), opts...)
	}},
	{"SpecList", stages.SpecList},
}

// shardItems returns n items of the kind the source reads: URLs, or specs
// that POST to one URL with different bodies, as a list of API calls
// often is.
func shardItems(source string, n, from int) []string {
	items := make([]string, n)
	for i := range items {
		if strings.HasPrefix(source, "Spec") {
			items[i] = fmt.Sprintf(`{"url":"http://127.0.0.1/search","method":"POST","body":{"q":%d}}`, from+i)
		} else {
			items[i] = fmt.Sprintf("http://127.0.0.1/item/%d", from+i)
		}
	}
	return items
}

// TestShardsSplitTheInputOnce: n processes given the same input, each its
// own shard, fetch every item exactly once between them, and each record
// keeps the item's position in the whole input. One endpoint POSTed with
// different bodies spreads over every shard.
func TestShardsSplitTheInputOnce(t *testing.T) {
	const items, shards = 3000, 3
	for _, src := range shardSources {
		t.Run(src.name, func(t *testing.T) {
			input := shardItems(src.name, items, 0)
			seen := make([]int, items)
			for i := range shards {
				reqs := collect(t, src.read(pipeline.New(t.Context()), input, stages.WithShard(i, shards)))
				// An even split, give or take what chance makes of 3,000.
				if len(reqs) < items/shards*8/10 || len(reqs) > items/shards*12/10 {
					t.Errorf("shard %d/%d has %d of %d items", i, shards, len(reqs), items)
				}
				for _, r := range reqs {
					if r.Err != nil {
						t.Fatalf("seq %d: %v", r.Seq, r.Err)
					}
					seen[r.Seq]++
					if want := input[r.Seq]; strings.HasPrefix(want, "http") && r.URL != want {
						t.Errorf("seq %d is %s, want %s: seq is not the position in the whole input", r.Seq, r.URL, want)
					}
				}
			}
			for seq, n := range seen {
				if n != 1 {
					t.Errorf("item %d is in %d shards, want 1", seq, n)
				}
			}
		})
	}
}

// TestShardsKeepTheirItemsWhenTheInputChanges: an item's shard is its own,
// not its line number's: a line added at the top moves no other item, and
// neither does a comment or a blank line.
func TestShardsKeepTheirItemsWhenTheInputChanges(t *testing.T) {
	const shards = 3
	for _, src := range shardSources {
		t.Run(src.name, func(t *testing.T) {
			before := shardItems(src.name, 500, 0)
			after := append(shardItems(src.name, 1, 1000), before...)
			shardOf := func(input []string) map[string]int {
				m := map[string]int{}
				for i := range shards {
					for _, r := range collect(t, src.read(pipeline.New(t.Context()), input, stages.WithShard(i, shards))) {
						m[r.Item] = i
					}
				}
				return m
			}
			was, is := shardOf(before), shardOf(after)
			if len(is) != len(was)+1 {
				t.Fatalf("%d items after a line was added to %d", len(is), len(was))
			}
			for item, i := range was {
				if is[item] != i {
					t.Errorf("item %s moved from shard %d to %d when a line was added at the top", item, i, is[item])
				}
			}
		})
	}
}

// TestShardIsTheSameEverywhere pins the shards of a few items: a process
// of another version or on another machine must split a list the same
// way, or two would fetch one item and none another.
func TestShardIsTheSameEverywhere(t *testing.T) {
	input := "https://example.com/a\nhttps://example.com/b\nhttps://example.com/c\nhttps://example.com/d\nhttps://example.com/e\nhttps://example.com/f\n"
	for _, tc := range []struct {
		n    int
		want string // each line's shard
	}{
		{1, "000000"},
		{2, "011001"},
		{3, "022021"},
		{10, "627374"},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			got := make([]byte, 6)
			for i := range tc.n {
				for _, r := range collect(t, stages.Lines(pipeline.New(t.Context()), strings.NewReader(input), stages.WithShard(i, tc.n))) {
					got[r.Seq] = byte('0' + i)
				}
			}
			if string(got) != tc.want {
				t.Errorf("shards %s, want %s", got, tc.want)
			}
		})
	}
}

// TestWithShardRefusesWhatIsNoShard: a shard outside 0..n-1 would fetch
// nothing, silently.
func TestWithShardRefusesWhatIsNoShard(t *testing.T) {
	for _, tc := range [][2]int{{0, 0}, {3, 3}, {-1, 2}, {1, -1}} {
		t.Run(fmt.Sprintf("%d/%d", tc[0], tc[1]), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("WithShard(%d, %d) did not panic", tc[0], tc[1])
				}
			}()
			stages.WithShard(tc[0], tc[1])
		})
	}
}

// TestResumeAShard: the output of a shard records every third seq or so;
// resuming it fetches what that shard did not finish, and nothing of the
// other shards.
func TestResumeAShard(t *testing.T) {
	input := shardItems("Lines", 300, 0)
	read := func() pipeline.Stream[stages.Request] {
		return stages.Lines(pipeline.New(t.Context()), strings.NewReader(strings.Join(input, "\n")), stages.WithShard(1, 3))
	}
	var out strings.Builder
	reqs := collect(t, read())
	for i, r := range reqs[:len(reqs)-5] { // the last five were never reached
		fmt.Fprintf(&out, `{"seq":%d,"item":%q,"url":%q,"ok":%v}`+"\n", r.Seq, r.Item, r.URL, i%10 != 0)
	}
	for _, verify := range []bool{false, true} {
		prev, err := stages.ReadPrevious(strings.NewReader(out.String()))
		if err != nil {
			t.Fatal(err)
		}
		if verify {
			if err := prev.Verify(read()); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		}
		again := collect(t, stages.Resume(read(), prev))
		failed := (len(reqs) - 5 + 9) / 10
		if len(again) != failed+5 {
			t.Errorf("verified %v: resumed %d items, want the %d that failed and the 5 never reached", verify, len(again), failed)
		}
	}
}
