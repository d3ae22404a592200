package main

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunWritesARowPerSubredditAndStaysBounded(t *testing.T) {
	var out, errs bytes.Buffer
	const n, c = 200, 8
	if err := run(t.Context(), []string{"-n", strconv.Itoa(n), "-c", strconv.Itoa(c), "-work", "1ms"}, &out, &errs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n+1 {
		t.Fatalf("%d rows, want a header and %d", len(rows), n)
	}
	m := regexp.MustCompile(`never more than (\d+) records ahead`).FindStringSubmatch(errs.String())
	if m == nil {
		t.Fatalf("stderr says nothing of how far ahead: %q", errs.String())
	}
	// Buffers of 16 after the counting stage, Fetch and DecodeAs; what
	// Fetch holds, at most about twice the requests in flight (waiting,
	// in flight, done); and one item in each stage's hands: far below n.
	ahead, _ := strconv.Atoi(m[1])
	if bound := 3*16 + max(2*c, c+64) + 4; ahead > bound {
		t.Errorf("the fetcher got %d records ahead, more than the %d the buffers allow", ahead, bound)
	}
}
