//go:build !unix

package main

import (
	"os"
	"time"
)

// usage has only CPU times where the system gives no peak resident set.
func usage(ps *os.ProcessState) (user, sys time.Duration, maxRSSBytes int64, ok bool) {
	return ps.UserTime(), ps.SystemTime(), 0, true
}

// selfCPU is not known here; the other-load figure is then left out too.
func selfCPU() time.Duration { return 0 }
