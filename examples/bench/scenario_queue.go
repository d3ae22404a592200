package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// s10 is fetchpipe across machines, on one: a list loaded into a NATS
// JetStream work queue with "fetchpipe enqueue", then fetched by two
// workers at once ("fetchpipe --from … --until-empty --to …"), each its
// own process, against the fake API, with a real nats-server (built from
// the version the module requires) as a third process. It reports the
// time and CPU of the enqueue, of each worker and of nats-server while
// the workers ran, the CPU per message of each, the redeliveries, and
// whether the results stream holds exactly one record per item.
func (b *bench) s10(ctx context.Context) (*scenarioResult, error) {
	n, k := b.cfg.n(100000), 100
	latency := "20ms"
	if b.cfg.tiny {
		k = 10
	}
	server, err := b.natsServer(ctx)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	ns, err := startNATS(ctx, server, filepath.Join(b.tmp, "jetstream"), port)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cpu, ok := ns.stop(); ok {
			b.childCPU += cpu
		}
	}()
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", port)
	res := &scenarioResult{
		Setup: fmt.Sprintf("N=%d URLs http://HOST:PORT/r/nameI.json, enqueued with fetchpipe enqueue %s/work (max ack pending 1,000, ack wait 1m, max deliver 5), then two workers at once, each fetchpipe --from %s/work --until-empty --to %s/results -c %d; server: fetchpipe serve-fake --latency %s; nats-server %s -js, its own process",
			n, natsURL, natsURL, natsURL, k, latency, natsVersion),
		Columns: []string{"pulled", "redelivered"},
	}
	err = b.withServerSpecs(ctx, []serverSpec{{addr: "127.0.0.1:0", flags: serverFlags(latency, 0)}}, func(srvs []*fakeServer) error {
		urls := oneServer(srvs[0].url, n)
		enq, err := b.queueChild(ctx, "fetchpipe enqueue", &urlReader{urls: urls}, "enqueue", natsURL+"/work")
		if err != nil {
			return err
		}
		b.childCPU += time.Duration(enq.CPUS * float64(time.Second))
		enq.N, enq.Measured = n, n
		enq.derive()
		res.Rows = append(res.Rows, enq)

		before, _ := procCPU(ns.pid)
		start := time.Now()
		var (
			wg      sync.WaitGroup
			workers [2]*measurement
			errs    [2]error
		)
		for i := range workers {
			wg.Go(func() {
				workers[i], errs[i] = b.queueChild(ctx, fmt.Sprintf("worker %d", i+1), nil,
					"--from", natsURL+"/work", "--until-empty", "--to", natsURL+"/results", "-c", strconv.Itoa(k), "--summary", "always")
			})
		}
		wg.Wait()
		wall := time.Since(start)
		after, _ := procCPU(ns.pid)
		for i, err := range errs {
			if err != nil {
				return err
			}
			b.childCPU += time.Duration(workers[i].CPUS * float64(time.Second)) // after both: they ran at once
		}
		var pulled, redelivered int64
		var cpu float64
		for _, w := range workers {
			w.K = k
			w.Measured = int(w.Pulled - w.Redelivered)
			w.N = w.Measured
			if w.Pulled > 0 {
				w.CPUPerReqUS = w.CPUS / float64(w.Pulled) * 1e6
				w.ReqPerS = float64(w.Pulled) / w.WallS
			}
			pulled += w.Pulled
			redelivered += w.Redelivered
			cpu += w.CPUS
			res.Rows = append(res.Rows, w)
		}
		both := &measurement{Strategy: "both workers", Label: "both workers (RSS: the larger)", N: n, K: k, Measured: n, Runs: 1,
			WallS: wall.Seconds(), CPUS: cpu, CPUPerReqUS: cpu / float64(n) * 1e6, ReqPerS: float64(n) / wall.Seconds(),
			Pulled: pulled, Redelivered: redelivered, FirstRecordS: -1, Lines: -1}
		server := &measurement{Strategy: "nats-server", Label: "nats-server, while the workers ran", N: n, Measured: n, Runs: 1,
			WallS: wall.Seconds(), CPUS: (after - before).Seconds(), FirstRecordS: -1, Lines: -1}
		server.CPUPerReqUS = server.CPUS / float64(n) * 1e6
		server.PeakRSSMB = float64(procStatusBytes(ns.pid, "VmHWM")) / 1e6
		both.PeakRSSMB = max(workers[0].PeakRSSMB, workers[1].PeakRSSMB)
		noServerFigures(both)
		noServerFigures(server)
		stored, err := streamMessages(ctx, natsURL, "FETCHPIPE_RESULTS")
		if err != nil {
			return err
		}
		if stored != int64(n) {
			both.Problem = fmt.Sprintf("the results stream holds %d records for %d items", stored, n)
		}
		res.Rows = append(res.Rows, both, server)
		res.addIdeal(fmt.Sprintf("%d URLs at %s, 2 × %d in flight", n, latency, k), time.Duration(float64(n)/float64(2*k)*float64(20*time.Millisecond)))
		res.notef("the results stream holds %d records for %d items: %s", stored, n, map[bool]string{true: "one each, none lost, none twice", false: "NOT one each"}[stored == int64(n)])
		res.notef("redelivered: deliveries after the first of their message (workers' summaries); with nothing failing, 0 is right")
		res.notef("CPU per message: a worker's CPU over the messages it pulled (fetch, decode, record, publish, acks); nats-server's CPU while the workers ran, /proc/PID/stat, over N (each item is a message in, its delivery, its ack and its result stored)")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// noServerFigures marks m's fake-server columns as not counted: S10 asks
// the fake API nothing.
func noServerFigures(m *measurement) {
	m.ServerRequests, m.ServerOK, m.ServerRefused, m.ServerPeakInFlight = -1, -1, -1, -1
}

// natsVersion is the nats-server the bench builds: the one go.mod requires.
const natsVersion = "v2.15.2"

// natsServer returns a nats-server binary: on the PATH, or else built
// into the bench's directory from the module's own requirement.
func (b *bench) natsServer(ctx context.Context) (string, error) {
	if path, err := exec.LookPath("nats-server"); err == nil {
		return path, nil
	}
	bin := filepath.Join(b.tmp, "nats-server")
	b.logf("  building nats-server %s (once; about 30 s) ...\n", natsVersion)
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	cmd := goCommand(ctx, "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("no nats-server on the PATH, and go build github.com/nats-io/nats-server/v2 failed: %v: %s", err, lastLine(stderr.String()))
	}
	return bin, nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// natsProcess is a nats-server the bench started.
type natsProcess struct {
	cmd *exec.Cmd
	pid int
}

// startNATS starts nats-server with JetStream stored in dir, and returns
// once it accepts connections.
func startNATS(ctx context.Context, bin, dir string, port int) (*natsProcess, error) {
	cmd := exec.CommandContext(ctx, bin, "-js", "-sd", dir, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	log := &tail{max: 2048}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting nats-server: %w", err)
	}
	p := &natsProcess{cmd: cmd, pid: cmd.Process.Pid}
	deadline := time.Now().Add(serverStart)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", port)); err == nil {
			nc.Close()
			return p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("nats-server did not accept connections within %v: %s", serverStart, log.String())
}

// stop interrupts the server, waits for it, and returns the CPU it used.
func (p *natsProcess) stop() (time.Duration, bool) {
	p.cmd.Process.Signal(os.Interrupt)
	p.cmd.Wait()
	user, sys, _, ok := usage(p.cmd.ProcessState)
	return user + sys, ok
}

// summaryQueue is the line of a worker's summary on what became of the
// messages.
var summaryQueue = regexp.MustCompile(`queue \S+: ([\d,]+) pulled \(([\d,]+) redelivered\)`)

// queueChild runs fetchpipe with args, stdin as its input, and measures it.
// Two run at once: it leaves the bench's own counts to its caller.
func (b *bench) queueChild(ctx context.Context, label string, stdin *urlReader, args ...string) (*measurement, error) {
	rctx, cancel := context.WithTimeout(ctx, runLimit)
	defer cancel()
	cmd := exec.CommandContext(rctx, b.bin, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	stderr := &tail{max: 8192}
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second
	b.logf("  %s ...\n", label)
	start := time.Now()
	if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
		return nil, fmt.Errorf("running %s: %w", label, err)
	}
	wall := time.Since(start)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	user, sys, rss, _ := usage(cmd.ProcessState)
	m := &measurement{Strategy: label, Label: label, Runs: 1, WallS: wall.Seconds(), UserS: user.Seconds(), SysS: sys.Seconds(),
		CPUS: (user + sys).Seconds(), PeakRSSMB: float64(rss) / 1e6, FirstRecordS: -1, Lines: -1, ExitCode: cmd.ProcessState.ExitCode()}
	noServerFigures(m)
	if m.ExitCode != 0 {
		m.Problem = fmt.Sprintf("exit status %d: %s", m.ExitCode, lastLine(stderr.String()))
	}
	if f := summaryQueue.FindStringSubmatch(stderr.String()); f != nil {
		m.Pulled, _ = strconv.ParseInt(strings.ReplaceAll(f[1], ",", ""), 10, 64)
		m.Redelivered, _ = strconv.ParseInt(strings.ReplaceAll(f[2], ",", ""), 10, 64)
	}
	b.logf("  %s: %.3f s, CPU %.2f s\n", label, wall.Seconds(), m.CPUS)
	return m, nil
}

// streamMessages returns how many messages stream holds.
func streamMessages(ctx context.Context, url, stream string) (int64, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("the results stream %s: %w", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int64(info.State.Msgs), nil
}
