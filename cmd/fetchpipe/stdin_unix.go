//go:build unix

package main

import (
	"os"
	"syscall"
)

// stdinNonblock records that interruptibleStdin switched fd 0 to
// non-blocking mode and restoreStdin must switch it back.
var stdinNonblock bool

// interruptibleStdin returns a reader for standard input whose Read can be
// interrupted. A plain os.Stdin blocks in read(2) outside Go's poller, so a
// run waiting for the next line of a pipe or terminal could not stop on
// Ctrl-C until that line came. In non-blocking mode the file joins the
// poller, and SetReadDeadline unblocks the read at once.
//
// The mode belongs to the open file, which a terminal shares with the shell,
// so restore must run before the process exits.
func interruptibleStdin() (*os.File, func()) {
	var st syscall.Stat_t
	if err := syscall.Fstat(0, &st); err != nil {
		return os.Stdin, func() {}
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFIFO, syscall.S_IFCHR, syscall.S_IFSOCK:
	default:
		return os.Stdin, func() {} // a regular file never blocks for long
	}
	if err := syscall.SetNonblock(0, true); err != nil {
		return os.Stdin, func() {}
	}
	stdinNonblock = true
	return os.NewFile(0, "/dev/stdin"), restoreStdin
}

func restoreStdin() {
	if stdinNonblock {
		_ = syscall.SetNonblock(0, false)
	}
}
