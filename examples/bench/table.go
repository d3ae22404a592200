package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// writeTables prints the report for a person: the machine, then one table
// per scenario with its ratios and notes.
func (rep *report) writeTables(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "command: %s\n", rep.Command)
	fmt.Fprintf(&b, "machine: %s\n", rep.Machine)
	if rep.ClientOpenFiles > 0 || rep.ServerOpenFiles > 0 {
		fmt.Fprintf(&b, "open-file soft limit seen in /proc/PID/limits while running: clients %d, servers %d (at least)\n",
			rep.ClientOpenFiles, rep.ServerOpenFiles)
	}
	fmt.Fprintf(&b, "started %s, took %s; every party a process of its own, client and server on the same cores\n",
		rep.Started.Format(time.RFC3339), time.Duration(rep.TookS*float64(time.Second)).Round(time.Second))
	b.WriteString("\n" + legend)
	b.WriteString(rep.extraLegend())
	for _, s := range rep.Scenarios {
		b.WriteString("\n")
		s.writeTable(&b)
	}
	if rep.Interrupted != "" {
		fmt.Fprintf(&b, "\ninterrupted during %s: the tables above are of the scenarios that finished before it\n", rep.Interrupted)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// legend says once what the tables' columns and targets mean, as their
// headers are too short to.
const legend = `columns:
  N, K       URLs in the input; requests in flight at most
  wall s     the client's run, from process start to exit, as a user at a shell waits for it
  first s    from process start to the client's first line of output (—: it writes none, or buffers them)
  CPU s      the client's CPU time (user+sys), from the kernel's accounting of that process alone
  µs/req     CPU time of the client per request (user+sys)
  req/s      requests per second of wall time
  RSS MB     the client's peak resident memory, in MB (10⁶ bytes)
  srv peak   the most requests the fake server saw in flight at once (—: not counted)
  target ≤ x the project's target for the ratio on that line (≥ x: at least; x–y: a range), met or
             missed; not judged at -quick or -tiny, whose N are too small for the figures to mean anything
`

// extraColumn is a column a scenario may add after the usual ones
// (scenarioResult.Columns): its header, what the legend says of it, and
// its cell in a row.
type extraColumn struct {
	name, legend string
	cell         func(*measurement) string
}

// extraColumns are the columns a scenario may add, in the order the table
// shows them.
var extraColumns = []extraColumn{
	{"pulled", "messages a queue's worker pulled from it, redeliveries included (its summary)", func(r *measurement) string {
		if r.Pulled == 0 {
			return "—"
		}
		return count(r.Pulled)
	}},
	{"redelivered", "of them, deliveries after the first of their message", func(r *measurement) string {
		if r.Pulled == 0 {
			return "—"
		}
		return count(r.Redelivered)
	}},
	{"attempts", "requests the fake server saw, retries included", func(r *measurement) string { return count(r.ServerRequests) }},
	{"refused", "of them, those it answered 429 at once, being at its --capacity", func(r *measurement) string { return count(r.ServerRefused) }},
	{"refused%", "refused / attempts", func(r *measurement) string {
		if r.ServerRequests <= 0 || r.ServerRefused < 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(r.ServerRefused)/float64(r.ServerRequests))
	}},
	{"p50 s", "the median time of an item, from its first try to its record, retries and their waits included (fetchpipe's summary)", func(r *measurement) string {
		if r.LatencyP50S <= 0 {
			return "—"
		}
		return f3(r.LatencyP50S)
	}},
	{"limit", "the in-flight limit --auto-throttle ended at, per host in the order of the servers (—: none, a fixed setting)", func(r *measurement) string {
		var parts []string
		for _, h := range r.Hosts {
			if h.Limit > 0 {
				parts = append(parts, fmt.Sprint(h.Limit))
			}
		}
		if len(parts) == 0 {
			return "—"
		}
		return strings.Join(parts, ",")
	}},
}

// columns are the extra columns s shows, in the table's order.
func (s *scenarioResult) columns() []extraColumn {
	var cols []extraColumn
	for _, c := range extraColumns {
		if slices.Contains(s.Columns, c.name) {
			cols = append(cols, c)
		}
	}
	return cols
}

// extraLegend says what the extra columns that some table shows mean.
func (rep *report) extraLegend() string {
	var b strings.Builder
	for _, c := range extraColumns {
		if slices.ContainsFunc(rep.Scenarios, func(s *scenarioResult) bool { return slices.Contains(s.Columns, c.name) }) {
			fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.legend)
		}
	}
	return b.String()
}

func count(n int64) string {
	if n < 0 {
		return "—"
	}
	return fmt.Sprint(n)
}

const rowFormat = "  %-46s %8s %6s %8s %8s %7s %7s %8s %7s %8s\n"

func (s *scenarioResult) writeTable(b *strings.Builder) {
	fmt.Fprintf(b, "%s  %s\n    %s\n", s.ID, s.Title, s.Setup)
	cols := s.columns()
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.name
	}
	row(b, headers, "strategy", "N", "K", "wall s", "first s", "CPU s", "µs/req", "req/s", "RSS MB", "srv peak")
	for _, i := range s.Ideals {
		row(b, nil, i.Label, "", "", f3(i.WallS), "", "", "", "", "", "")
	}
	section := ""
	for _, r := range s.Rows {
		if r.Section != section {
			section = r.Section
			fmt.Fprintf(b, "  %s\n", section)
		}
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = c.cell(r)
		}
		label := r.Label
		if r.Problem != "" {
			label += " !"
		}
		first := "—"
		if r.FirstRecordS >= 0 {
			first = f3(r.FirstRecordS)
		}
		rate, perReq := "—", "—"
		if r.Measured > 0 {
			rate = fmt.Sprintf("%.0f", r.ReqPerS)
			perReq = fmt.Sprintf("%.1f", r.CPUPerReqUS)
		}
		srvPeak := "—"
		if r.ServerPeakInFlight >= 0 {
			srvPeak = fmt.Sprint(r.ServerPeakInFlight)
		}
		row(b, cells, label, fmt.Sprint(r.N), fmt.Sprint(r.K), f3(r.WallS), first,
			fmt.Sprintf("%.2f", r.CPUS), perReq, rate, fmt.Sprintf("%.1f", r.PeakRSSMB), srvPeak)
	}
	for _, r := range s.Ratios {
		target := ""
		if t := r.target(); t != "" {
			target = fmt.Sprintf("   %s: %s", t, r.verdict())
		}
		fmt.Fprintf(b, "  %-62s %7.3f×%s\n", r.Name, r.Value, target)
	}
	for _, r := range s.Rows {
		if r.Problem != "" {
			fmt.Fprintf(b, "  ! %s: %s\n", r.Label, r.Problem)
		}
	}
	for _, n := range s.Notes {
		fmt.Fprintf(b, "  note: %s\n", n)
	}
	if s.CapacityCPUS > 0 {
		warn := ""
		if s.OtherCPUS > 0.05*s.CapacityCPUS {
			warn = ": the machine was not quiet, figures may be disturbed"
		}
		fmt.Fprintf(b, "  other processes on the machine used %.1f of the %.1f CPU s this scenario had%s\n", s.OtherCPUS, s.CapacityCPUS, warn)
	}
}

// row writes one line of the table, the usual cells and then the extra
// ones, without the blanks that end an ideal's.
func row(b *strings.Builder, extra []string, cells ...any) {
	line := strings.TrimSuffix(fmt.Sprintf(rowFormat, cells...), "\n")
	for _, c := range extra {
		line += fmt.Sprintf(" %9s", c)
	}
	b.WriteString(strings.TrimRight(line, " "))
	b.WriteString("\n")
}

func f3(v float64) string { return fmt.Sprintf("%.3f", v) }

// target is the ratio's target as the table writes it, "" for none.
func (r ratio) target() string {
	switch {
	case r.Min > 0 && r.Max > 0:
		return fmt.Sprintf("target %.2f–%.2f", r.Min, r.Max)
	case r.Min > 0:
		return fmt.Sprintf("target ≥ %.2f", r.Min)
	case r.Max > 0:
		return fmt.Sprintf("target ≤ %.2f", r.Max)
	}
	return ""
}

// verdict is what the table says of a ratio's target.
func (r ratio) verdict() string {
	switch {
	case r.Met == nil && r.NotJudged != "":
		return "not judged at " + r.NotJudged
	case r.Met == nil:
		return "not judged"
	case *r.Met:
		return "met"
	}
	return "missed"
}
