//go:build unix

package stages

import "syscall"

// openFileLimit returns how many files, sockets included, this process may
// have open at once (its RLIMIT_NOFILE, which Go raises to the hard limit
// at start), or 0 where it cannot tell.
func openFileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 0
	}
	return int(rl.Cur)
}
