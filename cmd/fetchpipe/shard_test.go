package main

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestShardsCoverTheInputOnce runs the command as three processes of an
// Indexed Job would, each with its shard of one list: every item is
// fetched by exactly one of them, with its seq in the whole list. Then a
// line is added at the top of the list: no other item changes shard.
func TestShardsCoverTheInputOnce(t *testing.T) {
	srv := &counting{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	names := make([]string, 300)
	for i := range names {
		names[i] = fmt.Sprintf("name%d", i)
	}
	// shards runs the three processes on the list and returns which shard
	// fetched each name.
	shards := func(list []string) map[string]int {
		t.Helper()
		at := make(map[string]int)
		for i := range 3 {
			r := runCmd(t, strings.Join(list, "\n")+"\n", "-t", ts.URL+"/{}", "--shard", fmt.Sprintf("%d/3", i), "-d", "none")
			if r.code != exitOK {
				t.Fatalf("shard %d/3: exit status %d\n%s", i, r.code, r.stderr)
			}
			recs := parseRecords(t, r.stdout)
			if len(recs) < 70 || len(recs) > 130 {
				t.Errorf("shard %d/3 fetched %d of %d items", i, len(recs), len(list))
			}
			for _, rec := range recs {
				name := strings.TrimPrefix(rec.URL, ts.URL+"/")
				if list[rec.Seq] != name {
					t.Errorf("shard %d/3: seq %d is %s, want %s: seq is not the position in the whole list", i, rec.Seq, name, list[rec.Seq])
				}
				if was, ok := at[name]; ok {
					t.Errorf("%s fetched by shards %d and %d", name, was, i)
				}
				at[name] = i
			}
		}
		if len(at) != len(list) {
			t.Errorf("the shards fetched %d of %d items", len(at), len(list))
		}
		return at
	}
	before := shards(names)
	after := shards(append([]string{"newcomer"}, names...))
	for name, i := range before {
		if after[name] != i {
			t.Errorf("%s moved from shard %d to %d when a line was added at the top", name, i, after[name])
		}
	}
	if n := srv.requests.Load(); n != 601 {
		t.Errorf("the server saw %d requests, want 601: one per item per run", n)
	}
}
