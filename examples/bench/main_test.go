package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
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

// TestBenchTiny runs scenarios end to end at N≈50: fetchpipe built, the
// fake API and every client started as processes, and every row complete.
// It asserts what the runs did, never how fast. curl and vegeta run where
// they are at hand; vegeta is built only from the module cache
// (GOPROXY=off), as the tests never reach the network, and where it
// cannot be its table must say so.
func TestBenchTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fetchpipe and runs a few dozen processes")
	}
	t.Setenv("GOPROXY", "off")
	var out, stderr bytes.Buffer
	// -python none: the rows must not depend on what Python this machine has.
	args := []string{"-tiny", "-scenarios", "S2,S3,S6,S7,S8", "-repeat", "1", "-json", "-progress=false", "-python", "none"}
	if code := run(t.Context(), args, strings.NewReader(""), &out, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("-json output does not decode: %v\n%s", err, out.String())
	}
	if got := strings.Join(ids(rep.Scenarios), ","); got != "S2,S3,S6,S7,S8" {
		t.Fatalf("scenarios %v, want S2, S3, S6, S7 and S8", got)
	}
	want := map[string][]string{
		"S2": {"sequential", "pool", "bare", "fetchpipe", "curl?", "vegeta?"},
		"S3": {"sequential", "pool", "bare", "discard", "fetchpipe", "curl?", "vegeta?"},
		"S6": {"discard", "fetchpipe", "fetchpipe -d none", "curl?", "vegeta?"},
		"S7": {"fetchpipe", "fetchpipe --ordered", "fetchpipe", "fetchpipe --ordered"},
		"S8": {"fetchpipe", "fetchpipe", "fetchpipe"},
	}
	for _, s := range rep.Scenarios {
		var got []string
		for _, r := range s.Rows {
			got = append(got, r.Strategy)
			if r.Problem != "" || r.ExitCode != 0 {
				t.Errorf("%s %s: exit %d, problem %q", s.ID, r.Label, r.ExitCode, r.Problem)
			}
			if s.ID == "S8" && r != s.Rows[len(s.Rows)-1] {
				continue // a reading taken while the run went on: no server figures, CPU to 10 ms
			}
			if r.Lines >= 0 && r.Lines != int64(r.Measured) || r.ServerRequests != int64(r.Measured) || r.ServerOK != int64(r.Measured) || r.Measured == 0 {
				t.Errorf("%s %s: %d lines, %d requests and %d OKs at the server for %d URLs", s.ID, r.Label, r.Lines, r.ServerRequests, r.ServerOK, r.Measured)
			}
			if r.CPUS <= 0 || r.PeakRSSMB <= 0 {
				t.Errorf("%s %s: CPU %v s, peak RSS %v MiB: the child's usage was not read", s.ID, r.Label, r.CPUS, r.PeakRSSMB)
			}
		}
		if w := expectRows(want[s.ID], s); strings.Join(got, ",") != strings.Join(w, ",") {
			t.Errorf("%s rows %v, want %v", s.ID, got, w)
		}
		if len(s.Ratios) == 0 {
			t.Errorf("%s has no ratios", s.ID)
		}
	}
	if r := rep.Scenarios[0].Rows[0]; !r.Extrapolated || r.Measured >= r.N {
		t.Errorf("S2 sequential measured %d of %d URLs, extrapolated %v: want a sample", r.Measured, r.N, r.Extrapolated)
	}
	load := rep.Scenarios[4].Rows
	if last := load[len(load)-1]; last.ErrorRecords == nil || *last.ErrorRecords != 0 || last.PeakFDs < 1 {
		t.Errorf("S8: error records %v, peak descriptors %d: want 0 and some", last.ErrorRecords, last.PeakFDs)
	}
	if n := []int{load[0].N, load[1].N, load[2].N}; n[0] >= n[1] || n[1] >= n[2] {
		t.Errorf("S8 rows at N %v, want growing", n)
	}
	var table bytes.Buffer
	if err := rep.write(&table, false); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"S2 ", "S3 ", "S6 ", "S7 ", "S8 ", "fetchpipe / ideal", "sequential (extrapolated from 5)", "machine: ",
		"fetchpipe -d json / discard, CPU per request", "--ordered / unordered, wall", "records whose \"error\" is not null: 0 of 1000"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("the table has no %q:\n%s", s, table.String())
		}
	}
}

// expectRows turns the rows a scenario may have into those it must have:
// a peer's ("curl?") where it ran, and none where a note says it was left
// out. A peer with neither is an error the comparison shows.
func expectRows(may []string, s *scenarioResult) []string {
	var want []string
	for _, st := range may {
		name, optional := strings.CutSuffix(st, "?")
		if optional && s.row(name) == nil && slices.ContainsFunc(s.Notes, func(n string) bool { return strings.HasPrefix(n, name+" is left out: ") }) {
			continue
		}
		want = append(want, name)
	}
	return want
}

// TestPeersLeftOut runs a scenario with peers where neither is at hand:
// the bench goes on without their rows, and its table says why.
func TestPeersLeftOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fetchpipe and runs a few processes")
	}
	var out, stderr bytes.Buffer
	args := []string{"-tiny", "-scenarios", "S6", "-repeat", "1", "-progress=false", "-curl", filepath.Join(t.TempDir(), "no-curl"), "-vegeta", "none"}
	if code := run(t.Context(), args, strings.NewReader(""), &out, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	for _, s := range []string{"note: curl is left out: ", "note: vegeta is left out: -vegeta none", "fetchpipe -d none"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("the table has no %q:\n%s", s, out.String())
		}
	}
	for _, s := range []string{"\n  curl ", "\n  vegeta "} {
		if strings.Contains(out.String(), s) {
			t.Errorf("the table has a row %q:\n%s", s, out.String())
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
	const want = "B/r/name0.json?q\nC/r/name1.json?slow\nB/r/name2.json?q\nC/r/name3.json?slow\nB/r/name4.json?q\n"
	for _, name := range []string{"whole", "one byte at a time"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var r io.Reader = &urlReader{urls: urlSet{bases: []string{"B", "C"}, n: 5, query: "?q", slowEvery: 2, slowQuery: "?slow"}}
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
