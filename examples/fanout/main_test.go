package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "records.ndjson")
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-o", out}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct {
			Seq  int
			OK   bool
			Meta struct{ List string }
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if !r.OK {
			t.Errorf("record not ok: %s", sc.Bytes())
		}
		seen[r.Meta.List]++
	}
	for list, names := range lists {
		if seen[list] != len(names) {
			t.Errorf("%d records of %s, want %d", seen[list], list, len(names))
		}
	}
	if !strings.Contains(stderr.String(), "tech  8/8  hobbies  8/8") {
		t.Errorf("live summary did not reach the totals: %q", stderr.String())
	}
}
