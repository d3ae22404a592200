package fakeapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// listingDoc is the part of a listing the tests look at.
type listingDoc struct {
	Kind string `json:"kind"`
	Data struct {
		After    string `json:"after"`
		Dist     int    `json:"dist"`
		Children []struct {
			Kind string `json:"kind"`
			Data struct {
				ID        string `json:"id"`
				Subreddit string `json:"subreddit"`
				Title     string `json:"title"`
				Permalink string `json:"permalink"`
			} `json:"data"`
		} `json:"children"`
	} `json:"data"`
}

func decodeListing(t *testing.T, body []byte) listingDoc {
	t.Helper()
	var doc listingDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("listing is not JSON: %v\n%s", err, body)
	}
	return doc
}

func TestAppendListing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		sub   string
		posts int
	}{
		{"plain", "golang", 5},
		{"one post", "golang", 1},
		{"many posts", "pics", 100},
		{"quotes and backslashes", `a"b\c`, 3},
		{"control bytes", "a\x00b\nc\x1f", 3},
		{"invalid utf-8", "a\xffb\xc3", 3},
		{"non-ascii", "café☕", 3},
		{"html-ish", "<script>&", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := appendListing(nil, 1, tt.sub, tt.posts, 0, &titleWords)
			if !json.Valid(body) {
				t.Fatalf("invalid JSON:\n%s", body)
			}
			doc := decodeListing(t, body)
			if doc.Kind != "Listing" || doc.Data.Dist != tt.posts || len(doc.Data.Children) != tt.posts {
				t.Fatalf("kind %q, dist %d, %d children; want Listing, %d, %d",
					doc.Kind, doc.Data.Dist, len(doc.Data.Children), tt.posts, tt.posts)
			}
			last := doc.Data.Children[tt.posts-1].Data
			if doc.Data.After != "t3_"+last.ID {
				t.Errorf("after = %q, want t3_%s", doc.Data.After, last.ID)
			}
			if utf8.ValidString(tt.sub) && last.Subreddit != tt.sub {
				t.Errorf("subreddit = %q, want %q", last.Subreddit, tt.sub)
			}
			if again := appendListing(nil, 1, tt.sub, tt.posts, 0, &titleWords); !bytes.Equal(body, again) {
				t.Error("same seed and name gave different bodies")
			}
			if other := appendListing(nil, 2, tt.sub, tt.posts, 0, &titleWords); bytes.Equal(body, other) {
				t.Error("different seeds gave the same body")
			}
		})
	}
}

// TestAppendListingSized checks the bytes= contract: exact when the target
// exceeds a one-post body, one post when it does not.
func TestAppendListingSized(t *testing.T) {
	t.Parallel()
	for _, target := range []int{1, 200, 600, 1000, 2048, 4096, 10000, 1 << 20} {
		t.Run("", func(t *testing.T) {
			body := appendListing(nil, 7, "sized", 0, target, &titleWords)
			if !json.Valid(body) {
				t.Fatalf("invalid JSON for target %d:\n%s", target, body)
			}
			one := len(appendListing(nil, 7, "sized", 1, 0, &titleWords))
			want := max(target, one)
			if len(body) != want && !(target < one && len(body) == one) {
				t.Errorf("target %d: got %d bytes, want %d", target, len(body), want)
			}
		})
	}
}

// TestAppendListingTitlesVary guards the word-count example: titles must
// repeat common words and still have a long tail.
func TestAppendListingTitlesVary(t *testing.T) {
	t.Parallel()
	counts := map[string]int{}
	for _, sub := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		doc := decodeListing(t, appendListing(nil, 0, sub, 25, 0, &titleWords))
		for _, c := range doc.Data.Children {
			for _, w := range bytes.Fields([]byte(c.Data.Title)) {
				counts[string(bytes.ToLower(w))]++
			}
		}
	}
	if len(counts) < 60 {
		t.Errorf("only %d distinct title words in 200 titles", len(counts))
	}
	if counts["the"] < 3*counts["refactored"] {
		t.Errorf(`"the" appears %d times, "refactored" %d: want a skew to the front of the word list`,
			counts["the"], counts["refactored"])
	}
}

func FuzzAppendListing(f *testing.F) {
	for _, s := range []string{"golang", `a"b\c`, "\x00\xff", "café"} {
		f.Add(s, uint64(1), 300)
	}
	f.Fuzz(func(t *testing.T, name string, seed uint64, target int) {
		target %= 1 << 14
		body := appendListing(nil, seed, name, 2, target, &titleWords)
		if !json.Valid(body) {
			t.Fatalf("invalid JSON for %q:\n%s", name, body)
		}
		if utf8.ValidString(name) {
			if got := decodeListing(t, body).Data.Children[0].Data.Subreddit; got != name {
				t.Fatalf("subreddit %q, want %q", got, name)
			}
		}
	})
}

func BenchmarkListing(b *testing.B) {
	for _, bm := range []struct {
		name          string
		posts, target int
	}{
		{"posts=5", 5, 0},
		{"posts=25", 25, 0},
		{"bytes=16384", 0, 16384},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := appendListing(nil, 1, "golang", bm.posts, bm.target, &titleWords)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				buf = appendListing(buf[:0], 1, "golang", bm.posts, bm.target, &titleWords)
			}
		})
	}
}
