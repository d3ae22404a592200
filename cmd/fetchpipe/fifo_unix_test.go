//go:build unix

package main

import (
	"path/filepath"
	"syscall"
	"testing"
)

// mkfifo makes a named pipe for the test.
func mkfifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
