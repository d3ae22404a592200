//go:build unix

package main

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// usage is what the kernel accounted to one child process, which wait4
// returns with its exit status: its own CPU time and its own peak resident
// set, not the bench's nor the server's.
func usage(ps *os.ProcessState) (user, sys time.Duration, maxRSSBytes int64, ok bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, 0, false
	}
	rss := int64(ru.Maxrss) * 1024 // kibibytes on Linux and the BSDs
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		rss = int64(ru.Maxrss) // bytes there
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), rss, true
}

// selfCPU is the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
