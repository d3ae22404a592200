package main

import (
	"bytes"
	"strings"
	"testing"
	"testing/synctest"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestTenants runs the example in fake time, where the finishing times
// are exact: acme's 20 calls at 20/s end after 0.96s, globex's at 5/s
// after 3.81s, and initech, with no quota, is done within milliseconds,
// though its calls are mixed in with theirs.
func TestTenants(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		if err := run(t.Context(), []string{"-n", "20"}, &out); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"acme     20/s     20 calls done after 960ms",
			"globex   5/s      20 calls done after 3.81s",
			"initech  no limit 20 calls done after 10ms",
		}
		if got := strings.Split(strings.TrimSpace(out.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got:\n%s\nwant:\n%s", out.String(), strings.Join(want, "\n"))
		}
	})
}
