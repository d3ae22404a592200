package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fetchpipe/fetchpipe/stages"
)

// throttleFlags are the flags of politeness and resilience: how hard a run
// may press on the hosts it fetches from, and what it does when they push
// back.
type throttleFlags struct {
	perHost        int
	autoThrottle   bool
	rate, hostRate string
	burst          int
	retries        int
	retryOn        string
	maxRetryWait   time.Duration
	retryUnsafe    bool
	connectTimeout time.Duration
	maxRedirects   int
	trusted        bool
	deadline       time.Duration
	grace          time.Duration
}

func (f *throttleFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.IntVar(&f.perHost, "per-host", 0, "`N` requests in flight per host at most, on top of -c (0: no per-host limit)")
	fs.BoolVar(&f.autoThrottle, "auto-throttle", false, "find how many requests each host takes at once: start at 2, grow while answers come well, cut on 429, 503, refused or reset connections and answers slowing to twice their usual time (within -c, and --per-host if given)")
	fs.StringVar(&f.rate, "rate", "", "start at most `R` requests, overall: 50 or 50/s, 3000/m, 1/2s (retries count too)")
	fs.StringVar(&f.hostRate, "host-rate", "", "start at most `R` requests per host, as --rate")
	fs.IntVar(&f.burst, "burst", 1, "let `N` requests start at once under --rate and --host-rate after a quiet spell")
	fs.IntVar(&f.retries, "retries", stages.DefaultRetries, "retry a failed request up to `N` times, after a backoff (0: never)")
	fs.StringVar(&f.retryOn, "retry-on", defaultRetryOn(), "what is worth a retry, in place of the default: a comma-separated `LIST` of statuses (429, 500-599, 5xx) and error kinds")
	durationVar(fs, &f.maxRetryWait, "max-retry-wait", stages.DefaultMaxRetryWait, "wait at most `D` before a retry, whatever Retry-After asks")
	fs.BoolVar(&f.retryUnsafe, "retry-unsafe", false, "retry POST, PATCH and other methods that may not be safe to repeat")
	durationVar(fs, &f.connectTimeout, "connect-timeout", stages.DefaultConnectTimeout, "give up connecting to a host after `D`; 0 leaves it to the operating system")
	fs.IntVar(&f.maxRedirects, "max-redirects", stages.DefaultMaxRedirects, "follow at most `N` redirects (0: none, the redirect is the answer)")
	fs.BoolVar(&f.trusted, "location-trusted", false, "send every header on after a redirect to another scheme, host or port (default: only headers that carry no credential, such as Accept, follow)")
	durationVar(fs, &f.deadline, "deadline", 0, "stop the whole run after `D`: stop reading input, and finish what was read as canceled records")
	durationVar(fs, &f.grace, "grace", defaultGrace, "on an interrupt, give the requests in flight `D` to finish before they are canceled (not at --deadline)")
}

// defaultGrace is long enough for most requests to finish, short enough
// that a person who pressed Ctrl-C does not wonder whether it worked.
const defaultGrace = 5 * time.Second

func defaultRetryOn() string {
	var parts []string
	for _, s := range stages.DefaultRetryStatuses() {
		parts = append(parts, strconv.Itoa(s))
	}
	for _, k := range stages.DefaultRetryKinds() {
		parts = append(parts, string(k))
	}
	return strings.Join(parts, ",")
}

// options checks the flags and turns them into stage options.
func (f *throttleFlags) options() ([]stages.Option, error) {
	switch {
	case f.perHost < 0:
		return nil, fmt.Errorf("--per-host must not be negative, not %d", f.perHost)
	case f.burst < 1:
		return nil, fmt.Errorf("--burst must be at least 1, not %d", f.burst)
	case f.retries < 0:
		return nil, fmt.Errorf("--retries must not be negative, not %d", f.retries)
	case f.maxRetryWait < 0, f.connectTimeout < 0, f.deadline < 0, f.grace < 0:
		return nil, fmt.Errorf("durations must not be negative")
	case f.maxRedirects < 0:
		return nil, fmt.Errorf("--max-redirects must not be negative, not %d", f.maxRedirects)
	}
	opts := []stages.Option{
		stages.WithPerHost(f.perHost),
		stages.WithRetries(f.retries),
		stages.WithMaxRetryWait(f.maxRetryWait),
		stages.WithConnectTimeout(f.connectTimeout),
		stages.WithMaxRedirects(f.maxRedirects),
	}
	if f.grace > 0 {
		opts = append(opts, stages.WithGrace(f.grace))
	}
	if f.autoThrottle {
		opts = append(opts, stages.WithAutoThrottle())
	}
	if f.trusted {
		opts = append(opts, stages.WithTrustRedirects())
	}
	for _, r := range []struct {
		flag, value string
		option      func(int, time.Duration) stages.Option
	}{{"--rate", f.rate, stages.WithRate}, {"--host-rate", f.hostRate, stages.WithHostRate}} {
		if r.value == "" {
			continue
		}
		n, per, err := parseRate(r.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.flag, err)
		}
		opts = append(opts, r.option(n, per))
	}
	if f.rate != "" || f.hostRate != "" {
		opts = append(opts, stages.WithBurst(f.burst))
	} else if f.burst != 1 {
		return nil, errors.New("--burst applies to --rate and --host-rate, neither of which is given")
	}

	statuses, kinds, err := parseRetryOn(f.retryOn)
	if err != nil {
		return nil, fmt.Errorf("--retry-on: %w", err)
	}
	opts = append(opts, stages.WithRetryOn(statuses, kinds...))
	if f.retryUnsafe {
		opts = append(opts, stages.WithRetryUnsafe())
	}
	return opts, nil
}

// parseRate reads a rate as a count per period: "50" and "50/s" are 50 a
// second, "3000/m" 3000 a minute, "1/2s" one every two seconds.
func parseRate(s string) (n int, per time.Duration, err error) {
	count, unit, hasUnit := strings.Cut(strings.TrimSpace(s), "/")
	n, err = strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n < 1 {
		return 0, 0, fmt.Errorf("%q is not a rate such as 50, 50/s, 3000/m or 1/2s", s)
	}
	per = time.Second
	if hasUnit {
		switch unit = strings.TrimSpace(unit); unit {
		case "s", "sec":
			per = time.Second
		case "m", "min":
			per = time.Minute
		case "h", "hour":
			per = time.Hour
		default:
			if per, err = time.ParseDuration(unit); err != nil || per <= 0 {
				return 0, 0, fmt.Errorf("%q is not a rate such as 50, 50/s, 3000/m or 1/2s", s)
			}
		}
	}
	return n, per, nil
}

// parseRetryOn reads a list such as "429,500-599,timeout,connect".
func parseRetryOn(s string) (statuses []int, kinds []stages.Kind, err error) {
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if len(part) == 3 && part[1:] == "xx" && part[0] >= '1' && part[0] <= '5' {
			part = fmt.Sprintf("%c00-%c99", part[0], part[0]) // 5xx, as people write a class
		}
		lo, hi, isRange := strings.Cut(part, "-")
		if a, err := strconv.Atoi(lo); err == nil {
			b := a
			if isRange {
				if b, err = strconv.Atoi(hi); err != nil {
					return nil, nil, fmt.Errorf("%q is not a status range such as 500-599", part)
				}
			}
			if a < 100 || b > 599 || a > b {
				return nil, nil, fmt.Errorf("%q is not a status or range of statuses between 100 and 599", part)
			}
			for st := a; st <= b; st++ {
				statuses = append(statuses, st)
			}
			continue
		}
		k := stages.Kind(part)
		if retryable := stages.RetryableKinds(); !slices.Contains(retryable, k) {
			return nil, nil, fmt.Errorf("%q is neither a status nor one of the kinds %s", part, kindList(retryable))
		}
		kinds = append(kinds, k)
	}
	return statuses, kinds, nil
}

func kindList(kinds []stages.Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
