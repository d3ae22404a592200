// Package optset names the options in a set of them, for the panics of
// packages pipeline and stages that say which options a function was
// wrongly given and which it takes.
package optset

import "strings"

// Names lists, in bit order and joined by commas, the names of the bits
// set in s: names[i] is the name of bit i.
func Names[S ~uint16 | ~uint32 | ~uint64](s S, names []string) string {
	if s == 0 {
		return "no options"
	}
	var set []string
	for i, name := range names {
		if s&(1<<i) != 0 {
			set = append(set, name)
		}
	}
	return strings.Join(set, ", ")
}
