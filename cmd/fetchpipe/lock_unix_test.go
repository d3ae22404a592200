//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestResumeFileIsOneRunsAtATime: a second run resuming a file that
// another run writes is refused at once: two once wrote over each other's
// records and cut the file to a broken line.
func TestResumeFileIsOneRunsAtATime(t *testing.T) {
	file := filepath.Join(t.TempDir(), "out.ndjson")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Skip("no flock here:", err)
	}
	r := runCmd(t, "", "--resume", file, "http://127.0.0.1:1/")
	if r.code != exitUsage || !strings.Contains(r.stderr, "another run is writing it") {
		t.Errorf("exit status %d, stderr %q", r.code, r.stderr)
	}
}
