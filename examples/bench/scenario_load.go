package main

import (
	"context"
	"fmt"
	"net"
)

// s8 is the load run, opt-in as it takes minutes: a million URLs at
// -c 1000, spread in turn over four fake APIs on 127.0.0.1 to 127.0.0.4, so
// that no one server is the limit and connections go to several hosts. One
// run is followed from the outside while it goes on: its peak RSS (VmHWM)
// and CPU time as its output passes 10⁴ and 10⁵ records, its descriptors
// every 20 ms, and the records whose "error" is not null, counted as they
// stream past; the run's end gives the figures at 10⁶. Memory that stayed
// flat, descriptors near K and no error record are what a user running a
// large job needs to see.
func (b *bench) s8(ctx context.Context) (*scenarioResult, error) {
	const latency = "0"
	marks := b.cfg.loadSizes()
	n, k := marks[len(marks)-1], 1000
	if b.cfg.tiny {
		k = 100 // within any open-file limit a test machine has
	}
	addrs, shared := loadAddrs()
	res := &scenarioResult{Setup: fmt.Sprintf("N=%d URLs http://127.0.0.X:PORT/r/nameI.json on stdin, X = 1 to 4 in turn, K=%d; servers: four fetchpipe serve-fake --latency %s, each its own process",
		n, k, latency)}
	if shared {
		res.notef("127.0.0.2 cannot be listened on here: the four servers all listen on 127.0.0.1, on ports of their own")
	}
	w := &watch{marks: int64s(marks[:len(marks)-1])}
	var full *measurement
	err := b.withServers(ctx, addrs, latency, 0, func(srvs []*fakeServer) error {
		bases := make([]string, len(srvs))
		for i, srv := range srvs {
			bases[i] = srv.url
		}
		var err error
		full, err = b.measureRun(ctx, runSpec{strategy: "fetchpipe", servers: srvs, urls: urlSet{bases: bases, n: n}, n: n, k: k, watch: w})
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, rd := range w.readings {
		res.Rows = append(res.Rows, rd.row(full))
	}
	full.Label = fmt.Sprintf("fetchpipe, all %d records", n)
	full.PeakFDs = w.peakFDs
	errs := w.scan.errors
	full.ErrorRecords = &errs
	if w.scan.records != int64(n) && full.Problem == "" {
		full.Problem = fmt.Sprintf("%d records for %d URLs", w.scan.records, n)
	}
	if errs > 0 {
		full.Problem = joinProblems(full.Problem, fmt.Sprintf("%d error records", errs))
	}
	res.Rows = append(res.Rows, full)

	if first := res.Rows[0]; first != full {
		res.addRatio(fmt.Sprintf("peak RSS after %d records / after %d", n, first.Measured), full.PeakRSSMB, first.PeakRSSMB, 0)
		if first.Measured < heapWarm {
			res.notef("after only %d records the heap is still growing to its working size, so the peak RSS ratio above is warm-up, not growth over a long run: a full run compares 10⁶ records with 10⁴", first.Measured)
		}
	}
	res.notef("the rows before the last are one run as it stood when its output passed that many records, read from /proc/PID/status (VmHWM: the peak RSS so far) and /proc/PID/stat (CPU, to 10 ms); the last row is the whole run, from wait4")
	res.notef("records whose \"error\" is not null: %d of %d (must be 0), counted as the output streamed past, not stored", errs, w.scan.records)
	res.notef("open descriptors of fetchpipe, sampled every 20 ms from /proc/PID/fd: at most %d, for K=%d requests in flight", w.peakFDs, k)
	res.notef("the srv peak column of the last row is the sum of the four servers' peaks, a bound of how many were in flight at once; the rows before it have none (—), as the servers are asked only at the run's end")
	return res, nil
}

// heapWarm is how many records a run takes before fetchpipe's heap has
// grown to its working size, near enough for a peak RSS to compare with a
// later one's.
const heapWarm = 10000

// row is a reading as a row of the table: the run as it stood when its
// output had passed rd.Records records.
func (rd reading) row(full *measurement) *measurement {
	r := &measurement{
		Strategy:     full.Strategy,
		Label:        fmt.Sprintf("fetchpipe, after %d records", rd.Records),
		N:            int(rd.Records),
		K:            full.K,
		Measured:     int(rd.Records),
		Runs:         1,
		WallS:        rd.At.Seconds(),
		FirstRecordS: full.FirstRecordS,
		PeakRSSMB:    float64(rd.HWMB) / 1e6,
		Lines:        rd.Records,
		UserS:        rd.CPU.Seconds(), // /proc/PID/stat has both; the table shows their sum
		// The servers are asked what they saw only at the run's end.
		ServerRequests:     -1,
		ServerOK:           -1,
		ServerRefused:      -1,
		ServerPeakInFlight: -1,
	}
	r.derive()
	return r
}

// loadAddrs are the four servers' addresses: 127.0.0.1 to 127.0.0.4, all
// of loopback on Linux, or four ports on 127.0.0.1 where the others cannot
// be listened on (macOS has only 127.0.0.1 unless told otherwise).
func loadAddrs() (addrs []string, shared bool) {
	for i := 1; i <= 4; i++ {
		addrs = append(addrs, fmt.Sprintf("127.0.0.%d:0", i))
	}
	ln, err := net.Listen("tcp", addrs[1])
	if err != nil {
		return []string{"127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"}, true
	}
	ln.Close()
	return addrs, false
}

func int64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func joinProblems(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
