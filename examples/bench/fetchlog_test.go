package main

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestFetchLog reads a stderr of fetchpipe -v --summary json as it would
// come, whole or a byte at a time: the last limit of each host and how
// many changes, the summary, and nothing of the lines between.
func TestFetchLog(t *testing.T) {
	t.Parallel()
	stderr := "fetchpipe: 127.0.0.1:4000: up to 4 in flight\n" +
		"fetchpipe: [seq 6] http://127.0.0.1:4000/r/n6.json: server answered 429 Too Many Requests; try 2 in 56ms\n" +
		"fetchpipe: 127.0.0.2:4001: up to 4 in flight\n" +
		"fetchpipe: 127.0.0.1:4000: down to 2 in flight (was 4): it turned requests away (429, 502-504, a connection refused or reset)\n" +
		"fetchpipe: 127.0.0.2:4001: down to 3 in flight (was 4): its requests took over twice their usual 20ms\n" +
		"fetchpipe: 127.0.0.2:4001: back up to 4 in flight (was 3): its answers were as slow with half as many at once, so 100ms is their usual time now\n" +
		"{" + strings.Repeat("x", maxLogLine) + "}\n" + // too long to read: skipped
		`{"items":60,"ok":60,"attempts":71,"p50_ms":100.863,"limits":{"127.0.0.1:4000":3,"127.0.0.2:4001":4}}` + "\n"
	for _, name := range []string{"whole", "one byte at a time"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var r io.Reader = strings.NewReader(stderr)
			if name != "whole" {
				r = iotest.OneByteReader(r)
			}
			var l fetchLog
			if _, err := io.Copy(&l, r); err != nil {
				t.Fatal(err)
			}
			if l.limits["127.0.0.1:4000"] != 2 || l.changes["127.0.0.1:4000"] != 2 || l.limits["127.0.0.2:4001"] != 4 || l.changes["127.0.0.2:4001"] != 3 || len(l.limits) != 2 {
				t.Errorf("limits %v, changes %v; want 127.0.0.1:4000 at 2 after 2 changes, 127.0.0.2:4001 at 4 after 3", l.limits, l.changes)
			}
			s := l.summary
			if s == nil || s.Items != 60 || s.Attempts != 71 || s.P50MS != 100.863 || s.Limits["127.0.0.1:4000"] != 3 {
				t.Errorf("summary %+v, want the last line's", s)
			}
			if cap(l.line) > 2*maxLogLine {
				t.Errorf("kept %d bytes of a line, want at most about %d", cap(l.line), maxLogLine)
			}
		})
	}
}
