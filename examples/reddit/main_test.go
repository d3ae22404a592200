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
	if err := run(t.Context(), []string{"-top", "2", "golang", "rust", "a b"}, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, name := range []string{"r/golang (", "r/rust (", "r/a b ("} {
		if !strings.Contains(got, name) {
			t.Errorf("output has no %q:\n%s", name, got)
		}
	}
	if n := strings.Count(got, "\n  "); n != 6 {
		t.Errorf("%d titles, want 2 for each of 3 subreddits:\n%s", n, got)
	}
}
