package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// seconds is a duration flag that also takes a bare number, as seconds,
// as curl and httpx read "--timeout 5".
type seconds time.Duration

func (s *seconds) String() string {
	if *s == 0 {
		return "0" // which --help reads as no default worth showing
	}
	return time.Duration(*s).String()
}
func (s *seconds) Type() string { return "duration" }

func (s *seconds) Set(v string) error {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 {
			return errors.New("a duration must not be negative")
		}
		*s = seconds(time.Duration(n * float64(time.Second)))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("want a duration such as 5s, 500ms or 1m30s, or a number of seconds, not %q", v)
	}
	*s = seconds(d)
	return nil
}

// durationVar defines a flag of a duration that takes seconds too.
func durationVar(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var((*seconds)(p), name, usage)
}

// flagError rewrites pflag's errors, which speak of strconv and name no
// example, and suggests the flag a misspelt one may have meant, which
// cobra does only for subcommands.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		if near := nearestFlag(cmd, name); near != "" {
			return fmt.Errorf("unknown flag --%s; did you mean --%s?", name, near)
		}
		return err
	}
	// invalid argument "ten" for "-c, --concurrency" flag: strconv.ParseInt: …
	if strings.HasPrefix(msg, "invalid argument ") && strings.Contains(msg, "strconv.") {
		value, rest, _ := strings.Cut(strings.TrimPrefix(msg, "invalid argument "), " for ")
		flag, _, _ := strings.Cut(strings.TrimPrefix(rest, `"`), `" flag`)
		return fmt.Errorf("%s wants a whole number, such as 100, not %s", flag, value)
	}
	return err
}

// nearestFlag returns the flag of cmd closest to name in edit distance,
// if it is close enough to be what was meant.
func nearestFlag(cmd *cobra.Command, name string) string {
	best, bestDist := "", 3 // a typo or two
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if d := editDistance(name, f.Name); d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
