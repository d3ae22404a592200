package main

import (
	"errors"
	"fmt"
	"time"
)

// Exit status, documented in the README: scripts branch on these.
const (
	exitOK          = 0   // every record ok
	exitFailed      = 1   // the run finished, but some records are not ok
	exitUsage       = 2   // bad flags or arguments, or an input that cannot be opened: nothing was fetched
	exitFatal       = 3   // the run could not go on: output or input failed mid-run
	exitInterrupted = 130 // SIGINT or SIGTERM: 128 + SIGINT, as shells report it
)

// errInterrupted is the cause of the run's context after a signal, which
// tells an interrupted run from one that failed.
var errInterrupted = errors.New("interrupted")

// deadlineReached is the cause of the run's context when --deadline ends
// it: a run cut short on purpose, which exits 1 (some records not ok).
type deadlineReached struct{ d time.Duration }

func (d deadlineReached) Error() string { return fmt.Sprintf("deadline of %v reached", d.d) }
