package pipeline

import "github.com/fetchpipe/fetchpipe/internal/optset"

// An option is a set of the options a function may be given, one bit each,
// so that checking what a stage was given costs one mask when it is made.
type option uint16

const (
	optConcurrency option = 1 << iota
	optBuffer
	optInputOrder
	optIdle
	optWindow
	optBudget
	optKey
	optNotStarted
	optSettled
	optObserver
	optSpill
	optAdaptive
)

var optionNames = [...]string{
	"WithConcurrency", "WithBuffer", "WithInputOrder", "WithIdle", "WithWindow",
	"WithBudget", "WithKey", "WithNotStarted", "WithSettled", "WithObserver", "WithSpill", "WithAdaptive",
}

// String lists the options in the set, for the panic that names what a
// function was wrongly given and what it takes.
func (o option) String() string {
	return optset.Names(o, optionNames[:])
}
