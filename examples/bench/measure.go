package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// measurement is one strategy's figures in one scenario: one run, the
// median of several, or a sample scaled up to N.
type measurement struct {
	Strategy string `json:"strategy"`
	Label    string `json:"label"` // as the table shows it
	N        int    `json:"n"`
	K        int    `json:"k"`
	// Measured is how many URLs the runs fetched; it is less than N when
	// the figures are extrapolated from a sample.
	Measured     int     `json:"measured_n"`
	Extrapolated bool    `json:"extrapolated,omitempty"`
	Runs         int     `json:"runs"` // more than 1: every figure is the median of that many runs
	WallS        float64 `json:"wall_s"`
	FirstRecordS float64 `json:"first_record_s"` // from process start; -1 when no line came
	UserS        float64 `json:"user_s"`
	SysS         float64 `json:"sys_s"`
	CPUS         float64 `json:"cpu_s"`
	CPUPerReqUS  float64 `json:"cpu_us_per_req"`
	ReqPerS      float64 `json:"req_per_s"`
	PeakRSSMB    float64 `json:"peak_rss_mb"` // MiB
	Lines        int64   `json:"lines"`
	// ServerRequests and ServerPeakInFlight are what the fake API saw
	// during the run (for a median, during the median run).
	ServerRequests     int64 `json:"server_requests"`
	ServerPeakInFlight int64 `json:"server_peak_in_flight"`
	// NofileSoft is the child's open-file soft limit, read from /proc once
	// it was running (0: not known).
	NofileSoft int64     `json:"nofile_soft,omitempty"`
	ExitCode   int       `json:"exit_code"`
	Problem    string    `json:"problem,omitempty"` // why the figures may not be what they seem
	EachWallS  []float64 `json:"each_wall_s,omitempty"`
	EachFirstS []float64 `json:"each_first_record_s,omitempty"`
}

// runLimit is how long one run may take before the bench gives up on it:
// far more than any run needs (a sequential run of S2 with -full takes
// about 9 minutes), so that only a hang reaches it.
const runLimit = 30 * time.Minute

// command is the child process for a strategy: the real fetchpipe binary,
// with its defaults (JSON bodies embedded, records to stdout, as completed),
// the aiohttp client, or this binary as one of the seed's clients.
func (b *bench) command(ctx context.Context, strategy string, k int) *exec.Cmd {
	switch strategy {
	case "fetchpipe":
		return exec.CommandContext(ctx, b.bin, "-c", strconv.Itoa(k))
	case "aiohttp":
		return exec.CommandContext(ctx, b.python, b.aiohttpScript, strconv.Itoa(k))
	}
	return exec.CommandContext(ctx, b.self, "-client", strategy, "-c", strconv.Itoa(k))
}

// measure runs strategy once against srv on the first m of the URLs, with
// at most k in flight, and reports it as a run on n URLs (extrapolated
// linearly when m < n). The clock starts just before the process does, so
// the wall and first-record times include its start-up and exit, as a user
// at a shell would see them.
func (b *bench) measure(ctx context.Context, srv *fakeServer, strategy string, n, m, k int) (*measurement, error) {
	if err := srv.reset(ctx); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, runLimit)
	defer cancel()
	cmd := b.command(rctx, strategy, k)
	cmd.Stdin = &urlReader{base: srv.url, n: m}
	out := &lineCounter{}
	var nofile int64
	out.onFirst = func() { nofile = openFileLimit(cmd.Process.Pid) }
	cmd.Stdout = out
	stderr := &tail{max: 2048}
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second

	b.logf("  %s -c %d, %d URLs ... ", strategy, k, m)
	out.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", strategy, err)
	}
	err := cmd.Wait()
	wall := time.Since(out.start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("running %s: %w", strategy, err)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if rctx.Err() != nil {
		return nil, fmt.Errorf("%s on %d URLs did not end within %v", strategy, m, runLimit)
	}
	st, err := srv.stats(ctx)
	if err != nil {
		return nil, err
	}
	user, sys, rss, _ := usage(cmd.ProcessState)
	b.childCPU += user + sys

	r := &measurement{
		Strategy:           strategy,
		Label:              strategy,
		N:                  n,
		K:                  k,
		Measured:           m,
		Runs:               1,
		WallS:              wall.Seconds(),
		FirstRecordS:       -1,
		UserS:              user.Seconds(),
		SysS:               sys.Seconds(),
		PeakRSSMB:          float64(rss) / (1 << 20),
		Lines:              out.lines,
		ServerRequests:     st.Requests,
		ServerPeakInFlight: st.PeakInFlight,
		NofileSoft:         nofile,
		ExitCode:           cmd.ProcessState.ExitCode(),
	}
	if out.lines > 0 {
		r.FirstRecordS = out.first.Seconds()
	}
	r.Problem = problem(r, stderr.String())
	r.derive()
	if m < n {
		r.extrapolate()
	}
	note := ""
	if r.Problem != "" {
		note = " (" + r.Problem + ")"
	}
	b.logf("%.3f s, CPU %.2f s, RSS %.1f MB%s\n", wall.Seconds(), user.Seconds()+sys.Seconds(), r.PeakRSSMB, note)
	return r, nil
}

// derive fills the figures computed from the measured ones.
func (r *measurement) derive() {
	r.CPUS = r.UserS + r.SysS
	if r.Measured > 0 {
		r.CPUPerReqUS = r.CPUS / float64(r.Measured) * 1e6
		if r.WallS > 0 {
			r.ReqPerS = float64(r.Measured) / r.WallS
		}
	}
}

// extrapolate turns a sample's figures into the run on N they stand for:
// times scale with the number of URLs, which holds for a strategy that
// makes one request at a time against a server of steady latency. The rate,
// the CPU per request, the first record and the peak RSS are the sample's.
func (r *measurement) extrapolate() {
	f := float64(r.N) / float64(r.Measured)
	r.WallS *= f
	r.UserS *= f
	r.SysS *= f
	r.CPUS *= f
	r.Extrapolated = true
	r.Label = fmt.Sprintf("%s (extrapolated from %d)", r.Strategy, r.Measured)
}

// problem says what makes a run's figures suspect: failed requests, lost
// lines, a server that did not see every request.
func problem(r *measurement, stderr string) string {
	var msg string
	switch {
	case r.ExitCode != 0:
		msg = fmt.Sprintf("exit status %d", r.ExitCode)
	case r.Lines != int64(r.Measured):
		msg = fmt.Sprintf("%d lines for %d URLs", r.Lines, r.Measured)
	case r.ServerRequests != int64(r.Measured):
		msg = fmt.Sprintf("the server saw %d requests for %d URLs", r.ServerRequests, r.Measured)
	default:
		return ""
	}
	if stderr != "" {
		msg += ": " + lastLine(stderr)
	}
	return msg
}

// openFileLimit reads a process's open-file soft limit from /proc, to check
// rather than assume that Go raised it to the hard limit at start-up.
func openFileLimit(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return 0
	}
	return parseOpenFiles(string(data))
}
