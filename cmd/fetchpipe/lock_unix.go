//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes f for this process alone, or fails at once if another
// process holds it: two runs resuming one output would write over each
// other's records. The lock goes with the file's closing, or the process.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errors.New("another run is writing it: wait for that run to end, or stop it")
	}
	return err
}
