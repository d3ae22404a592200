package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSharedBudget: each host sees every request of both stages, and never
// more than the per-host limit at once.
func TestSharedBudget(t *testing.T) {
	var out, records bytes.Buffer
	if err := run(t.Context(), []string{"-n", "40", "-per-host", "4"}, &out, &records); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(records.String(), "\n"); n != 40 {
		t.Errorf("%d records, want 40", n)
	}
	for i, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var host, requests, peak, limit int
		if _, err := fmt.Sscanf(line, "host %d: %d requests, at most %d at once (limit %d)", &host, &requests, &peak, &limit); err != nil {
			t.Fatalf("line %d: %q: %v", i, line, err)
		}
		if requests != 40 || peak > 4 || peak < 2 {
			t.Errorf("host %d: %d requests, peak %d; want 40, and at most 4 at once", host, requests, peak)
		}
	}
	t.Log(out.String())
}
