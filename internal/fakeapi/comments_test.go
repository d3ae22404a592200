package fakeapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestCommentsFollowPermalinks: a listing's permalinks, with ".json"
// appended as Reddit has it, lead to the comments of each post, which are
// valid JSON, name the post, and are the same on every request.
func TestCommentsFollowPermalinks(t *testing.T) {
	s, c := start(t, Config{})
	_, body := mustGet(t, c, s.URL()+"/r/golang.json")
	doc := decodeListing(t, body)
	for _, post := range doc.Data.Children {
		t.Run(post.Data.ID, func(t *testing.T) {
			resp, first := mustGet(t, c, s.URL()+post.Data.Permalink+".json")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, first)
			}
			var comments struct {
				Data struct {
					Dist     int
					Children []struct {
						Data struct {
							LinkID string `json:"link_id"`
						}
					}
				}
			}
			if err := json.Unmarshal(first, &comments); err != nil {
				t.Fatalf("comments are not JSON: %v\n%s", err, first)
			}
			n := len(comments.Data.Children)
			if n < 1 || n > 5 || comments.Data.Dist != n {
				t.Errorf("%d comments, dist %d; want 1 to 5, and dist to count them", n, comments.Data.Dist)
			}
			for _, cm := range comments.Data.Children {
				if cm.Data.LinkID != "t3_"+post.Data.ID {
					t.Errorf("link_id %q, want t3_%s", cm.Data.LinkID, post.Data.ID)
				}
			}
			_, short := mustGet(t, c, s.URL()+"/r/golang/comments/"+post.Data.ID+".json")
			if !bytes.Equal(first, short) {
				t.Errorf("the short path gives other comments:\n%s\n%s", first, short)
			}
		})
	}
}

func TestCommentsPath(t *testing.T) {
	tests := []struct {
		path, name, id string
		ok             bool
	}{
		{"/r/golang/comments/abc1234.json", "golang", "abc1234", true},
		{"/r/golang/comments/abc1234/some_title/.json", "golang", "abc1234", true},
		{"/r/golang/comments/abc.json", "", "", false},
		{"/r//comments/abc1234.json", "", "", false},
		{"/r/a/b/comments/abc1234.json", "", "", false},
		{"/r/golang/comments/abc1234", "", "", false},
		{"/r/golang.json", "", "", false},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.path, "/", "|"), func(t *testing.T) {
			name, id, ok := commentsPath(tt.path)
			if name != tt.name || id != tt.id || ok != tt.ok {
				t.Errorf("commentsPath = %q, %q, %v; want %q, %q, %v", name, id, ok, tt.name, tt.id, tt.ok)
			}
		})
	}
}
