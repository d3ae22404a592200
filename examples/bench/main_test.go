package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"
)

// TestMain also serves as the clients under test: the bench re-executes
// its own binary with -client, and under "go test" that binary is this one.
func TestMain(m *testing.M) {
	if isClient(os.Args[1:]) {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

// TestBenchTiny runs two scenarios end to end at N≈50: fetchpipe built,
// the fake API and every client started as processes, and every row
// complete. It asserts what the runs did, never how fast.
func TestBenchTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fetchpipe and runs a dozen processes")
	}
	var out, stderr bytes.Buffer
	// -python none: the rows must not depend on what Python this machine has.
	args := []string{"-tiny", "-scenarios", "S2,S3", "-repeat", "1", "-json", "-progress=false", "-python", "none"}
	if code := run(t.Context(), args, strings.NewReader(""), &out, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("-json output does not decode: %v\n%s", err, out.String())
	}
	if len(rep.Scenarios) != 2 || rep.Scenarios[0].ID != "S2" || rep.Scenarios[1].ID != "S3" {
		t.Fatalf("scenarios %v, want S2 and S3", ids(rep.Scenarios))
	}
	want := map[string][]string{
		"S2": {"sequential", "pool", "bare", "fetchpipe"},
		"S3": {"sequential", "pool", "bare", "discard", "fetchpipe"},
	}
	for _, s := range rep.Scenarios {
		var got []string
		for _, r := range s.Rows {
			got = append(got, r.Strategy)
			if r.Problem != "" || r.ExitCode != 0 {
				t.Errorf("%s %s: exit %d, problem %q", s.ID, r.Label, r.ExitCode, r.Problem)
			}
			if r.Lines != int64(r.Measured) || r.ServerRequests != int64(r.Measured) || r.Measured == 0 {
				t.Errorf("%s %s: %d lines and %d requests at the server for %d URLs", s.ID, r.Label, r.Lines, r.ServerRequests, r.Measured)
			}
			if r.CPUS <= 0 || r.PeakRSSMB <= 0 {
				t.Errorf("%s %s: CPU %v s, peak RSS %v MiB: the child's usage was not read", s.ID, r.Label, r.CPUS, r.PeakRSSMB)
			}
		}
		if strings.Join(got, ",") != strings.Join(want[s.ID], ",") {
			t.Errorf("%s rows %v, want %v", s.ID, got, want[s.ID])
		}
		if len(s.Ratios) == 0 {
			t.Errorf("%s has no ratios", s.ID)
		}
	}
	if r := rep.Scenarios[0].Rows[0]; !r.Extrapolated || r.Measured >= r.N {
		t.Errorf("S2 sequential measured %d of %d URLs, extrapolated %v: want a sample", r.Measured, r.N, r.Extrapolated)
	}
	var table bytes.Buffer
	if err := rep.write(&table, false); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"S2 ", "S3 ", "fetchpipe / ideal", "sequential (extrapolated from 5)", "machine: "} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("the table has no %q:\n%s", s, table.String())
		}
	}
}

func ids(ss []*scenarioResult) []string {
	var v []string
	for _, s := range ss {
		v = append(v, s.ID)
	}
	return v
}

func TestURLReader(t *testing.T) {
	t.Parallel()
	const want = "B/r/name0.json\nB/r/name1.json\nB/r/name2.json\n"
	for _, name := range []string{"whole", "one byte at a time"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var r io.Reader = &urlReader{base: "B", n: 3}
			if name != "whole" {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(r)
			if err != nil || string(got) != want {
				t.Errorf("read %q, %v; want %q", got, err, want)
			}
		})
	}
}

func TestParseOpenFiles(t *testing.T) {
	t.Parallel()
	limits := "Limit                     Soft Limit           Hard Limit           Units\n" +
		"Max processes             95938                95938                processes\n" +
		"Max open files            1024                 20000                files\n"
	if soft, hard := parseOpenFiles(limits), parseOpenFilesHard(limits); soft != 1024 || hard != 20000 {
		t.Errorf("soft %d, hard %d; want 1024 and 20000", soft, hard)
	}
	if got := parseOpenFiles("Max open files unlimited unlimited files\n"); got != 0 {
		t.Errorf("unlimited read as %d, want 0 (not known)", got)
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := medianOf(c.in); got != c.want {
			t.Errorf("medianOf(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
