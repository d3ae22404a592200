package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestTargets judges a target only at the scenarios' own N: -quick and
// -tiny print it unjudged, in the table and in the JSON alike.
func TestTargets(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		args  []string
		value float64
		table string // how the ratio's line ends
		json  string // what its JSON holds
	}{
		{"met", nil, 1.2, "target ≤ 1.30: met", `"met": true`},
		{"missed", nil, 1.4, "target ≤ 1.30: missed", `"met": false`},
		{"quick", []string{"-quick"}, 1.4, "target ≤ 1.30: not judged at -quick", `"not_judged": "-quick"`},
		{"tiny", []string{"-tiny"}, 1.2, "target ≤ 1.30: not judged at -tiny", `"not_judged": "-tiny"`},
		{"tiny and quick", []string{"-quick", "-tiny"}, 1.2, "target ≤ 1.30: not judged at -tiny", `"not_judged": "-tiny"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseFlags(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			res := &scenarioResult{ID: "S9", Title: "a test"}
			res.addRatio("a / b", tt.value, 1, 1.3)
			res.addRatio("c / d", 2, 1, 0) // no target, so nothing to judge
			res.judge(cfg.smallN())
			rep := &report{Scenarios: []*scenarioResult{res}}

			var table, js bytes.Buffer
			if err := rep.write(&table, false); err != nil {
				t.Fatal(err)
			}
			if err := rep.write(&js, true); err != nil {
				t.Fatal(err)
			}
			for line := range strings.Lines(table.String()) {
				line = strings.TrimSpace(line)
				if strings.HasPrefix(line, "a / b") && !strings.HasSuffix(line, tt.table) {
					t.Errorf("ratio line %q, want it to end %q", line, tt.table)
				}
				if strings.HasPrefix(line, "c / d") && strings.Contains(line, "target") {
					t.Errorf("ratio line %q has a target it was not given", line)
				}
			}
			if !strings.Contains(js.String(), tt.json) {
				t.Errorf("JSON without %s:\n%s", tt.json, js.String())
			}
			if judged := strings.Contains(js.String(), `"met"`); judged != (cfg.smallN() == "") {
				t.Errorf("JSON has met: %v, in a run scaled down by %q:\n%s", judged, cfg.smallN(), js.String())
			}
		})
	}
}

// TestTableCells: the legend comes once, above every table; a figure that
// was not counted is a dash, not a 0; an interrupted report says where it
// stopped.
func TestTableCells(t *testing.T) {
	t.Parallel()
	row := func(label string, srvPeak int64) *measurement {
		return &measurement{Strategy: "fetchpipe", Label: label, N: 10, K: 2, Measured: 10, Runs: 1,
			WallS: 1, FirstRecordS: 0.1, CPUS: 0.5, PeakRSSMB: 12.5, ServerPeakInFlight: srvPeak}
	}
	rep := &report{
		Scenarios: []*scenarioResult{
			{ID: "S8", Title: "one", Rows: []*measurement{row("a reading", -1), row("a whole run", 7)}},
			{ID: "S5", Title: "two", Rows: []*measurement{row("another run", 0)}},
		},
		Interrupted: "S7",
	}
	var b bytes.Buffer
	if err := rep.write(&b, false); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if n := strings.Count(text, "srv peak   the most requests"); n != 1 {
		t.Errorf("the legend comes %d times, want once:\n%s", n, text)
	}
	if !strings.Contains(text, "RSS MB     the client's peak resident memory, in MB (10⁶ bytes)") || strings.Contains(text, "MiB") {
		t.Errorf("the peak RSS is not in MB throughout:\n%s", text)
	}
	for _, tt := range []struct{ label, srvPeak string }{
		{"a reading", "—"},
		{"a whole run", "7"},
		{"another run", "0"},
	} {
		for line := range strings.Lines(text) {
			if f := strings.Fields(line); strings.HasPrefix(strings.TrimSpace(line), tt.label) && f[len(f)-1] != tt.srvPeak {
				t.Errorf("row %q ends %q, want the srv peak %q", strings.TrimSpace(line), f[len(f)-1], tt.srvPeak)
			}
		}
	}
	if !strings.HasSuffix(text, "\ninterrupted during S7: the tables above are of the scenarios that finished before it\n") {
		t.Errorf("an interrupted report does not end saying where it stopped:\n%s", text)
	}
}

// TestTargetBounds judges a target with a lower bound, or a range, and a
// share that may be 0, as it judges one with an upper bound only.
func TestTargetBounds(t *testing.T) {
	t.Parallel()
	res := &scenarioResult{ID: "S9", Title: "a test"}
	res.addRatioIn("at least, met", 0.9, 1, 1/1.2, 0)
	res.addRatioIn("at least, missed", 0.5, 1, 1/1.2, 0)
	res.addRatioIn("in range, met", 5, 4, 0.5, 1.5)
	res.addRatioIn("in range, missed", 1, 4, 0.5, 1.5)
	res.addShare("none refused", 0, 800, 0.1)
	res.addShare("no attempts", 0, 0, 0.1) // left out
	res.judge("")
	var b bytes.Buffer
	if err := (&report{Scenarios: []*scenarioResult{res}}).write(&b, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"target ≥ 0.83: met", "target ≥ 0.83: missed", "target 0.50–1.50: met", "target 0.50–1.50: missed", "target ≤ 0.10: met"} {
		if strings.Count(b.String(), want) != 1 {
			t.Errorf("the table has %q %d times, want once:\n%s", want, strings.Count(b.String(), want), b.String())
		}
	}
	if strings.Contains(b.String(), "no attempts") {
		t.Errorf("a share of nothing is in the table:\n%s", b.String())
	}
}

// TestTableSections: a scenario's extra columns come after the usual
// ones, with a legend only where some table shows them, and each part of
// a scenario is headed once.
func TestTableSections(t *testing.T) {
	t.Parallel()
	row := func(label, section string, refused int64, limits ...int) *measurement {
		r := &measurement{Strategy: "fetchpipe", Label: label, N: 10, K: 64, Measured: 10, Runs: 1, WallS: 1, FirstRecordS: 0.1,
			ServerRequests: 10 + refused, ServerRefused: refused, LatencyP50S: 0.15, Section: section}
		for _, l := range limits {
			r.Hosts = append(r.Hosts, hostFigures{Limit: l})
		}
		return r
	}
	res := &scenarioResult{ID: "S9", Title: "a test", Columns: []string{"attempts", "refused", "refused%", "p50 s", "limit"},
		Rows: []*measurement{row("fixed", "1. one server", 10), row("auto", "1. one server", 0, 8), row("two", "2. two servers", 2, 4, 16)}}
	var b bytes.Buffer
	if err := (&report{Scenarios: []*scenarioResult{res}}).write(&b, false); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{"\n  1. one server\n  fixed ", "\n  2. two servers\n  two ", "  limit      the in-flight limit"} {
		if strings.Count(text, want) != 1 {
			t.Errorf("the table has %q %d times, want once:\n%s", want, strings.Count(text, want), text)
		}
	}
	for _, tt := range []struct{ label, tail string }{
		{"fixed", "20 10 50.0% 0.150 —"},
		{"auto", "10 0 0.0% 0.150 8"},
		{"two", "12 2 16.7% 0.150 4,16"},
	} {
		for line := range strings.Lines(text) {
			if f := strings.Fields(line); len(f) > 0 && f[0] == tt.label && strings.Join(f[len(f)-5:], " ") != tt.tail {
				t.Errorf("row %q ends %q, want %q", strings.TrimSpace(line), strings.Join(f[len(f)-5:], " "), tt.tail)
			}
		}
	}
	b.Reset()
	res.Columns = nil
	if err := (&report{Scenarios: []*scenarioResult{res}}).write(&b, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "refused") {
		t.Errorf("a table without extra columns has their legend or headers:\n%s", b.String())
	}
}
