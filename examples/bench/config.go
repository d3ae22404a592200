package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// config is what the command line asks of a bench run.
type config struct {
	args      []string // as given, for the report
	scenarios []string // IDs to run, in the order of allScenarios
	quick     bool     // every N about 10× smaller
	tiny      bool     // N of about 50 everywhere: for the test, not for figures
	full      bool     // sequential runs every URL instead of a sample
	json      bool
	sample    int     // URLs the sequential strategy fetches before extrapolating
	repeat    int     // runs of each side in S1, S3 and S0 (medians shown) and S6 (least CPU shown)
	s5n       []int   // the N at which S5 measures fetchpipe's peak RSS
	python    string  // -python: the interpreter for the aiohttp client, "" to find one, "none"
	curl      string  // -curl: the curl to run beside fetchpipe, "" to find one on the PATH, "none"
	vegeta    string  // -vegeta: the vegeta to run beside fetchpipe, "" to find or build one, "none"
	progress  bool    // say on stderr what is running
	selfPath  string  // the executable to re-run as a client; os.Executable by default
	tmpDir    string  // where the fetchpipe binary is built; a new temporary directory by default
	scale     float64 // 1, or 0.1 with -quick
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg       config
		scenarios string
		s5n       string
		load      bool
	)
	fs.StringVar(&scenarios, "scenarios", strings.Join(defaultScenarioIDs(), ","), "comma-separated `IDs` of the scenarios to run (S8, the load run, only when named or with -load; S9, adaptive politeness, and S10, a NATS work queue, only when named)")
	fs.BoolVar(&load, "load", false, "also run S8, the load run: 1,000,000 URLs at -c 1000 against four servers (minutes; -quick: 10,000)")
	fs.BoolVar(&cfg.quick, "quick", false, "scale every N down about 10× for a fast smoke run (figures are then not comparable with a full run's, and targets are not judged)")
	fs.BoolVar(&cfg.tiny, "tiny", false, "N of about 50 everywhere, to prove the bench works (used by its test)")
	fs.BoolVar(&cfg.full, "full", false, "run the sequential strategy on every URL instead of extrapolating from a sample")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON document instead of tables")
	fs.IntVar(&cfg.sample, "sample", 40, "`URLs` the sequential strategy fetches in S1 and S2 before extrapolating to N")
	fs.IntVar(&cfg.repeat, "repeat", 3, "`runs` of each concurrent strategy in S1 and S0 (bare and fetchpipe) and S3, of which the table shows medians, and in S6, of which it shows the run of least CPU")
	fs.StringVar(&s5n, "s5n", "100000,1000000", "comma-separated `N` values at which S5 measures peak RSS")
	fs.StringVar(&cfg.python, "python", "", "the `interpreter` for S3's optional aiohttp client; by default python3 or /usr/bin/python3, whichever imports aiohttp; none to leave it out")
	fs.StringVar(&cfg.curl, "curl", "", "the `path` of the curl (7.66 or later, for --parallel) to run beside fetchpipe in S2, S3 and S6; by default curl on the PATH; none to leave it out")
	fs.StringVar(&cfg.vegeta, "vegeta", "", "the `path` of the vegeta to run beside fetchpipe in S2, S3 and S6; by default vegeta on the PATH, else one built with go install "+vegetaModule+"@"+vegetaVersion+" into the bench's temporary directory; none to leave it out")
	fs.BoolVar(&cfg.progress, "progress", true, "say on stderr what is running and how long each run took")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./examples/bench [flags]\n\nScenarios:")
		for _, s := range allScenarios {
			optIn := ""
			switch {
			case s.id == loadScenario:
				optIn = " (only when named, or with -load)"
			case s.optIn:
				optIn = " (only when named)"
			}
			fmt.Fprintf(fs.Output(), "  %-3s %s%s\n", s.id, s.title, optIn)
		}
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	fail := func(err error) (*config, error) {
		fmt.Fprintln(stderr, "bench:", err)
		return nil, err
	}
	if fs.NArg() > 0 {
		return fail(fmt.Errorf("unexpected argument %q: the bench takes flags only", fs.Arg(0)))
	}
	if load {
		scenarios += "," + loadScenario
	}
	ids, err := parseScenarios(scenarios)
	if err != nil {
		return fail(err)
	}
	cfg.scenarios = ids
	if cfg.s5n, err = parseInts(s5n); err != nil {
		return fail(fmt.Errorf("-s5n: %w", err))
	}
	if cfg.sample < 1 || cfg.repeat < 1 {
		return fail(errors.New("-sample and -repeat must be at least 1"))
	}
	cfg.args = args
	cfg.scale = 1
	if cfg.quick {
		cfg.scale = 0.1
	}
	return &cfg, nil
}

// parseScenarios accepts IDs in any case and order and returns them in the
// order the bench runs them.
func parseScenarios(s string) ([]string, error) {
	want := map[string]bool{}
	for _, id := range strings.Split(s, ",") {
		id = strings.ToUpper(strings.TrimSpace(id))
		if id == "" {
			continue
		}
		if !slices.Contains(scenarioIDs(), id) {
			return nil, fmt.Errorf("no scenario %q: pick from %s", id, strings.Join(scenarioIDs(), ","))
		}
		want[id] = true
	}
	if len(want) == 0 {
		return nil, errors.New("-scenarios names no scenario")
	}
	var ids []string
	for _, id := range scenarioIDs() {
		if want[id] {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func parseInts(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive whole number", f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// n scales a scenario's N for -quick and -tiny, never below 1.
func (c *config) n(full int) int {
	if c.tiny {
		return min(full, 50)
	}
	return max(int(float64(full)*c.scale), 1)
}

// smallN is the flag that scaled every N down, "-tiny" or "-quick", or ""
// for a run at the scenarios' own N: only such a run is held to the
// project's targets.
func (c *config) smallN() string {
	switch {
	case c.tiny:
		return "-tiny"
	case c.quick:
		return "-quick"
	}
	return ""
}

// sampleSize is how many URLs a sequential run fetches out of n.
func (c *config) sampleSize(n int) int {
	if c.full {
		return n
	}
	s := c.sample
	if c.tiny {
		s = min(s, 5)
	}
	return min(s, n)
}

// loadSizes are the N of S8, the load run: 10⁴, 10⁵ and 10⁶ URLs, the
// records after which it reads fetchpipe's peak RSS, the last being the
// run's N. -quick scales them down 100×, not 10×: a million is minutes.
func (c *config) loadSizes() []int {
	switch {
	case c.tiny:
		return []int{10, 100, 1000}
	case c.quick:
		return []int{100, 1000, 10000}
	}
	return []int{10000, 100000, 1000000}
}

// s5Sizes are the N of S5, scaled like every other N.
func (c *config) s5Sizes() []int {
	ns := make([]int, len(c.s5n))
	for i, n := range c.s5n {
		ns[i] = c.n(n)
		if c.tiny {
			ns[i] = 200 * (i + 1) // distinct sizes, so the growth ratio means something
		}
	}
	return ns
}
