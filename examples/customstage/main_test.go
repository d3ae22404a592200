package main

import (
	"bytes"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-n", "20", "-top", "5"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("want 5 words, got:\n%s", out.String())
	}
	// The fake API's titles are deterministic, so the counts are too: run
	// it twice and expect the same answer.
	var again bytes.Buffer
	if err := run(t.Context(), []string{"-n", "20", "-top", "5"}, &again); err != nil {
		t.Fatal(err)
	}
	if again.String() != out.String() {
		t.Errorf("two runs disagree:\n%s\n%s", out.String(), again.String())
	}
}
