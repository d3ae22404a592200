package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
)

// fetchLog reads fetchpipe's standard error as it comes (S9): the line
// that -v prints for each change of a host's in-flight limit under
// --auto-throttle, and the summary that --summary json prints last. It
// keeps each host's last limit, how many changes it saw, and the summary,
// and nothing else: with -v, a run that is refused often prints a line
// for every retry.
type fetchLog struct {
	limits  map[string]int // host:port → the last limit -v printed
	changes map[string]int // host:port → how many changes -v printed
	summary *runSummary    // the last line that decoded as a summary
	line    []byte         // the line being written, up to maxLogLine
	long    bool           // the line being written is past maxLogLine
}

// runSummary is what the bench reads of fetchpipe's --summary json, whose
// type is stages.Summary: declared here rather than imported, so that this
// binary, which is also the clients under test, carries none of fetchpipe.
type runSummary struct {
	Items    int64 `json:"items"`
	OK       int64 `json:"ok"`
	Attempts int64 `json:"attempts"`
	// P50MS is the median of the items' times (a record's elapsed_ms:
	// from its first try to its end, retries and their waits included).
	P50MS float64 `json:"p50_ms"`
	// Limits is the in-flight limit each host ended at, where it changed
	// (--auto-throttle), by host:port.
	Limits map[string]int `json:"limits"`
}

// maxLogLine is the longest line fetchLog reads; the summary of a run
// with a few hosts is a few hundred bytes.
const maxLogLine = 64 << 10

// limitLine is a line of -v with --auto-throttle: a host's limit cut
// ("down to N in flight (was M): ..."), its cuts undone ("back up to N in
// flight ..."), or grown to a power of two ("up to N in flight"); -v
// prints no other step.
var limitLine = regexp.MustCompile(`^fetchpipe: (\S+): (?:down|up|back up) to (\d+) in flight\b`)

func (l *fetchLog) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.add(p)
			break
		}
		l.add(p[:i])
		if !l.long {
			l.readLine(l.line)
		}
		l.line, l.long = l.line[:0], false
		p = p[i+1:]
	}
	return n, nil
}

// add appends a piece of the line being written, unless it is too long.
func (l *fetchLog) add(p []byte) {
	if l.long || len(l.line)+len(p) > maxLogLine {
		l.long = true
		return
	}
	l.line = append(l.line, p...)
}

func (l *fetchLog) readLine(line []byte) {
	if m := limitLine.FindSubmatch(line); m != nil {
		n, err := strconv.Atoi(string(m[2]))
		if err != nil {
			return
		}
		if l.limits == nil {
			l.limits, l.changes = map[string]int{}, map[string]int{}
		}
		l.limits[string(m[1])] = n
		l.changes[string(m[1])]++
		return
	}
	if len(line) > 0 && line[0] == '{' {
		var s runSummary
		if json.Unmarshal(line, &s) == nil {
			l.summary = &s
		}
	}
}
