package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFollowUpsHaveTheirOwnIdentity: the merged output holds one record per
// subreddit and one per followed post, all ok, no two alike in (seq,
// follow), and each post's comments are those of the post its follow path
// names in the listing of its seq.
func TestFollowUpsHaveTheirOwnIdentity(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-top", "2"}, &out); err != nil {
		t.Fatal(err)
	}
	type record struct {
		Seq    int
		Follow []int
		OK     bool
		Body   json.RawMessage
	}
	ids := map[int][]string{}    // post IDs of each listing, by seq
	links := map[string]string{} // link_id of the comments, by (seq, follow)
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if !r.OK {
			t.Errorf("record not ok: %s", sc.Bytes())
		}
		key := fmt.Sprint(r.Seq, r.Follow)
		if _, dup := links[key]; dup {
			t.Errorf("two records with seq %d and follow %v", r.Seq, r.Follow)
		}
		var body struct {
			Data struct {
				Children []struct {
					Data struct {
						ID     string
						LinkID string `json:"link_id"`
					}
				}
			}
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		links[key] = ""
		if r.Follow == nil {
			for _, c := range body.Data.Children {
				ids[r.Seq] = append(ids[r.Seq], c.Data.ID)
			}
			continue
		}
		links[key] = body.Data.Children[0].Data.LinkID
	}
	if len(ids) != len(defaultNames) {
		t.Errorf("%d listings, want %d", len(ids), len(defaultNames))
	}
	for seq := range defaultNames {
		for i := range 2 {
			key := fmt.Sprint(seq, []int{i})
			got, ok := links[key]
			if !ok {
				t.Errorf("no comments for post %d of listing %d", i, seq)
			} else if want := "t3_" + ids[seq][i]; got != want {
				t.Errorf("comments for post %d of listing %d are of %s, want %s", i, seq, got, want)
			}
		}
	}
	if want := len(defaultNames) * 3; len(links) != want {
		t.Errorf("%d records, want %d", len(links), want)
	}
}
