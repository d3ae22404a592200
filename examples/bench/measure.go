package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/fetchpipe/fetchpipe/internal/fakeapi"
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
	PeakRSSMB    float64 `json:"peak_rss_mb"` // MB, 10⁶ bytes
	// Lines is how many lines the child wrote on its standard output; -1
	// for a child that writes none per URL (vegeta).
	Lines int64 `json:"lines"`
	// ServerRequests, ServerOK (answered 200), ServerRefused (answered 429
	// at once for its --capacity) and ServerPeakInFlight are what the fake
	// API saw during the run (for a median, during the median run; with
	// several servers, their sum); -1 for a reading taken while the run
	// went on (S8), as the servers are asked only at its end.
	ServerRequests     int64 `json:"server_requests"`
	ServerOK           int64 `json:"server_ok"`
	ServerRefused      int64 `json:"server_refused"`
	ServerPeakInFlight int64 `json:"server_peak_in_flight"`
	// NofileSoft is the child's open-file soft limit, read from /proc once
	// it was running (0: not known).
	NofileSoft int64     `json:"nofile_soft,omitempty"`
	ExitCode   int       `json:"exit_code"`
	Problem    string    `json:"problem,omitempty"` // why the figures may not be what they seem
	EachWallS  []float64 `json:"each_wall_s,omitempty"`
	EachFirstS []float64 `json:"each_first_record_s,omitempty"`
	EachCPUS   []float64 `json:"each_cpu_s,omitempty"`
	// PeakFDs and ErrorRecords are what a watch saw (S8): the most
	// descriptors the child had open at once, sampled from /proc/PID/fd,
	// and the records on its output whose "error" was not null.
	PeakFDs      int    `json:"peak_fds,omitempty"`
	ErrorRecords *int64 `json:"error_records,omitempty"`
	// Section is the part of its scenario the row belongs to, which the
	// table shows as a heading above the first row of each part ("": none).
	Section string `json:"section,omitempty"`
	// LatencyP50S and Hosts are what fetchpipe's summary said of the run
	// (S9): the median time of an item, retries and their waits included,
	// and each server's figures beside the in-flight limit --auto-throttle
	// ended at for its host.
	LatencyP50S float64       `json:"latency_p50_s,omitempty"`
	Hosts       []hostFigures `json:"hosts,omitempty"`
	// Pulled and Redelivered are what a worker of a queue said of its
	// messages (S10): deliveries pulled, and of them those after the
	// first of their message.
	Pulled      int64 `json:"pulled,omitempty"`
	Redelivered int64 `json:"redelivered,omitempty"`
}

// runLimit is how long one run may take before the bench gives up on it:
// far more than any run needs (a sequential run of S2 with -full takes
// about 9 minutes), so that only a hang reaches it.
const runLimit = 30 * time.Minute

// runSpec is one child process to measure: a strategy on a set of URLs,
// against one fake API or several.
type runSpec struct {
	strategy string
	servers  []*fakeServer
	urls     urlSet // what the child fetches: urls.n URLs, all it is measured on
	n        int    // the N the run stands for; above urls.n the figures are extrapolated
	k        int
	// watch, when set, follows the child while it runs: its descriptors,
	// its memory as its records come, the records that failed (S8).
	watch *watch
	// stderr, when set, is given the child's standard error as it comes,
	// besides the tail the bench keeps of it for messages.
	stderr io.Writer
}

// child is a strategy's process, and how the bench feeds and reads it.
type child struct {
	cmd *exec.Cmd
	// stdin: the child reads its URLs on its standard input; else it reads
	// a file the bench wrote.
	stdin bool
	// lines: the child writes a line per URL on its standard output.
	lines bool
	// buffered: it writes them through a buffer, so that the first line
	// says nothing of when the first result was in (curl's -w).
	buffered bool
}

// command is the child process for a strategy: the real fetchpipe binary,
// with its defaults (JSON bodies embedded, records to stdout, as completed)
// and any flags the strategy names after it ("fetchpipe -d none"); curl or
// vegeta, whose URL lists it writes; the aiohttp client; or this binary as
// one of the seed's clients.
func (b *bench) command(ctx context.Context, r runSpec) (child, error) {
	k := strconv.Itoa(r.k)
	switch {
	case r.strategy == "fetchpipe" || strings.HasPrefix(r.strategy, "fetchpipe "):
		args := append([]string{"-c", k}, strings.Fields(r.strategy)[1:]...)
		return child{cmd: exec.CommandContext(ctx, b.bin, args...), stdin: true, lines: true}, nil
	case r.strategy == "curl":
		cmd, err := b.curlCommand(ctx, r.urls, r.k)
		return child{cmd: cmd, lines: true, buffered: true}, err
	case r.strategy == "vegeta":
		cmd, err := b.vegetaCommand(ctx, r.urls, r.k)
		return child{cmd: cmd}, err
	case r.strategy == "aiohttp":
		return child{cmd: exec.CommandContext(ctx, b.python, b.aiohttpScript, k), stdin: true, lines: true}, nil
	}
	return child{cmd: exec.CommandContext(ctx, b.self, "-client", r.strategy, "-c", k), stdin: true, lines: true}, nil
}

// measure runs strategy once against srv on the first m of the URLs, with
// at most k in flight, and reports it as a run on n URLs (extrapolated
// linearly when m < n).
func (b *bench) measure(ctx context.Context, srv *fakeServer, strategy string, n, m, k int) (*measurement, error) {
	return b.measureRun(ctx, runSpec{strategy: strategy, servers: []*fakeServer{srv}, urls: oneServer(srv.url, m), n: n, k: k})
}

// measureRun runs r once. The clock starts just before the process does,
// so the wall and first-record times include its start-up and exit, as a
// user at a shell would see them; a URL file a peer reads is written
// before.
func (b *bench) measureRun(ctx context.Context, r runSpec) (*measurement, error) {
	for _, srv := range r.servers {
		if err := srv.reset(ctx); err != nil {
			return nil, err
		}
	}
	m := r.urls.n
	rctx, cancel := context.WithTimeout(ctx, runLimit)
	defer cancel()
	ch, err := b.command(rctx, r)
	if err != nil {
		return nil, err
	}
	cmd := ch.cmd
	if ch.stdin {
		cmd.Stdin = &urlReader{urls: r.urls}
	}
	out := &lineCounter{}
	var nofile int64
	pid := func() int { return cmd.Process.Pid } // set by Start before any output is copied
	out.onFirst = func() { nofile = openFileLimit(pid()) }
	cmd.Stdout = out
	if r.watch != nil {
		cmd.Stdout = io.MultiWriter(out, r.watch.output(pid))
	}
	stderr := &tail{max: 2048}
	cmd.Stderr = stderr
	if r.stderr != nil {
		cmd.Stderr = io.MultiWriter(stderr, r.stderr)
	}
	cmd.WaitDelay = 5 * time.Second

	if m == 0 {
		b.logf("  %s -c %d with no input (start-up and exit) ... ", r.strategy, r.k)
	} else {
		b.logf("  %s -c %d, %d URLs ... ", r.strategy, r.k, m)
	}
	out.start = time.Now()
	if r.watch != nil {
		r.watch.start = out.start
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", r.strategy, err)
	}
	stopSampling := func() {}
	if r.watch != nil {
		stopSampling = r.watch.sample(cmd.Process.Pid)
	}
	err = cmd.Wait()
	wall := time.Since(out.start)
	stopSampling()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("running %s: %w", r.strategy, err)
	}
	if ctx.Err() != nil {
		b.logf("interrupted\n") // ends the progress line above
		return nil, ctx.Err()
	}
	if rctx.Err() != nil {
		return nil, fmt.Errorf("%s on %d URLs did not end within %v", r.strategy, m, runLimit)
	}
	var st fakeapi.Stats
	for _, srv := range r.servers {
		s, err := srv.stats(ctx)
		if err != nil {
			return nil, err
		}
		st.Requests += s.Requests
		st.Refused += s.Refused
		st.PeakInFlight += s.PeakInFlight // with several servers, a bound of the whole's peak
		st.ByStatus = mergeStatuses(st.ByStatus, s.ByStatus)
	}
	user, sys, rss, _ := usage(cmd.ProcessState)
	b.childCPU += user + sys

	res := &measurement{
		Strategy:           r.strategy,
		Label:              r.strategy,
		N:                  r.n,
		K:                  r.k,
		Measured:           m,
		Runs:               1,
		WallS:              wall.Seconds(),
		FirstRecordS:       -1,
		UserS:              user.Seconds(),
		SysS:               sys.Seconds(),
		PeakRSSMB:          float64(rss) / 1e6,
		Lines:              -1,
		ServerRequests:     st.Requests,
		ServerOK:           st.ByStatus[200],
		ServerRefused:      st.Refused,
		ServerPeakInFlight: st.PeakInFlight,
		NofileSoft:         nofile,
		ExitCode:           cmd.ProcessState.ExitCode(),
	}
	if ch.lines {
		res.Lines = out.lines
		if out.lines > 0 && !ch.buffered {
			res.FirstRecordS = out.first.Seconds()
		}
	}
	res.Problem = problem(res, stderr.String())
	res.derive()
	if m < r.n {
		res.extrapolate()
	}
	note := ""
	if res.Problem != "" {
		note = " (" + res.Problem + ")"
	}
	b.logf("%.3f s, CPU %.2f s, RSS %.1f MB%s\n", wall.Seconds(), user.Seconds()+sys.Seconds(), res.PeakRSSMB, note)
	return res, nil
}

func mergeStatuses(into, from map[int]int64) map[int]int64 {
	if into == nil {
		into = map[int]int64{}
	}
	for code, n := range from {
		into[code] += n
	}
	return into
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
// lines, a server that did not serve every URL once (a request it refused
// for its --capacity is not served, and its retry may be) or did not
// answer each with 200.
func problem(r *measurement, stderr string) string {
	var msg string
	switch {
	case r.ExitCode != 0:
		msg = fmt.Sprintf("exit status %d", r.ExitCode)
	case r.Lines >= 0 && r.Lines != int64(r.Measured):
		msg = fmt.Sprintf("%d lines for %d URLs", r.Lines, r.Measured)
	case r.ServerRequests-r.ServerRefused != int64(r.Measured) && r.ServerRefused > 0:
		msg = fmt.Sprintf("the server saw %d requests, %d of them refused, for %d URLs", r.ServerRequests, r.ServerRefused, r.Measured)
	case r.ServerRequests-r.ServerRefused != int64(r.Measured):
		msg = fmt.Sprintf("the server saw %d requests for %d URLs", r.ServerRequests, r.Measured)
	case r.ServerOK != int64(r.Measured):
		msg = fmt.Sprintf("the server answered %d of %d requests with 200", r.ServerOK, r.Measured)
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
