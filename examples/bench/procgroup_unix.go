//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel starts cmd as the leader of a process group of its
// own, and has its context end the whole group, cmd and every process it
// started. In a group of its own, cmd no longer gets the terminal's
// Ctrl-C; the bench's context, which that Ctrl-C cancels, stops it instead.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
