package main

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// watch follows a child while it runs, for the load run (S8), where the
// end of the run is not all there is to know: how many descriptors it held
// at most, what its peak RSS and CPU time were when its output passed
// given numbers of records, and how many of its records failed, counted as
// they stream past and never stored.
type watch struct {
	marks []int64       // numbers of records at which to take a reading
	every time.Duration // how often to count the child's descriptors
	start time.Time     // when the child was started; set by measureRun

	mu       sync.Mutex
	readings []reading // one per mark passed, in order
	peakFDs  int
	scan     recordScanner
}

// reading is the child's state when its output had passed a mark.
type reading struct {
	Records int64         // the mark
	At      time.Duration // since the child was started
	HWMB    int64         // peak RSS so far (VmHWM), in bytes
	CPU     time.Duration // user+sys so far; 0 when /proc could not say
}

// output is the writer the child's standard output goes through: it
// counts records and failed ones, and takes a reading at each mark.
func (w *watch) output(pid func() int) io.Writer {
	w.scan.onRecord = func(n int64) {
		if len(w.readings) < len(w.marks) && n == w.marks[len(w.readings)] {
			p := pid()
			r := reading{Records: n, At: time.Since(w.start), HWMB: procStatusBytes(p, "VmHWM")}
			r.CPU, _ = procCPU(p)
			w.mu.Lock()
			w.readings = append(w.readings, r)
			w.mu.Unlock()
		}
	}
	return &w.scan
}

// sample counts the descriptors of process pid every w.every until the
// returned function is called, which waits for the sampler to end.
func (w *watch) sample(pid int) (stop func()) {
	every := w.every
	if every <= 0 {
		every = 20 * time.Millisecond
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if n := countFDs(pid); n > 0 {
				w.mu.Lock()
				w.peakFDs = max(w.peakFDs, n)
				w.mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// countFDs is how many descriptors process pid has open, from
// /proc/PID/fd; 0 when that cannot be read (not Linux, or it has ended).
func countFDs(pid int) int {
	d, err := os.Open("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	return len(names)
}

// procStatusBytes reads a "Key:   123 kB" line of /proc/PID/status, in
// bytes; 0 when it cannot.
func procStatusBytes(pid int, key string) int64 {
	v := procField("/proc/"+strconv.Itoa(pid)+"/status", key)
	kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
	if err != nil {
		return 0
	}
	return kb << 10
}

// procCPU is the user+sys time of process pid so far, from the 14th and
// 15th fields of /proc/PID/stat, in USER_HZ ticks (100 a second on Linux).
func procCPU(pid int) (time.Duration, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:])) // from field 3, the state
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}
