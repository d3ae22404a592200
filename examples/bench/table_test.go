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
