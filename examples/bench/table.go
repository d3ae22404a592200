package main

import (
	"fmt"
	"io"
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
  target ≤ x the project's target for the ratio on that line, met or missed; not judged at -quick or
             -tiny, whose N are too small for the figures to mean anything
`

const rowFormat = "  %-46s %8s %6s %8s %8s %7s %7s %8s %7s %8s\n"

func (s *scenarioResult) writeTable(b *strings.Builder) {
	fmt.Fprintf(b, "%s  %s\n    %s\n", s.ID, s.Title, s.Setup)
	row(b, "strategy", "N", "K", "wall s", "first s", "CPU s", "µs/req", "req/s", "RSS MB", "srv peak")
	for _, i := range s.Ideals {
		row(b, i.Label, "", "", f3(i.WallS), "", "", "", "", "", "")
	}
	for _, r := range s.Rows {
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
		row(b, label, fmt.Sprint(r.N), fmt.Sprint(r.K), f3(r.WallS), first,
			fmt.Sprintf("%.2f", r.CPUS), perReq, rate, fmt.Sprintf("%.1f", r.PeakRSSMB), srvPeak)
	}
	for _, r := range s.Ratios {
		target := ""
		if r.Max > 0 {
			target = fmt.Sprintf("   target ≤ %.2f: %s", r.Max, r.verdict())
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

// row writes one line of the table, without the blanks that end an ideal's.
func row(b *strings.Builder, cells ...any) {
	b.WriteString(strings.TrimRight(fmt.Sprintf(rowFormat, cells...), " \n"))
	b.WriteString("\n")
}

func f3(v float64) string { return fmt.Sprintf("%.3f", v) }

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
