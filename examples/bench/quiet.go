package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Client and server share the machine's cores, so anything else running
// (a build, another test suite) slows both and inflates every figure. A
// scenario therefore says how much CPU the rest of the machine used while
// it ran: the machine's busy time from /proc/stat, less what the bench,
// its servers and its clients used by their own accounts.

// cpuMeter takes the machine's and the bench's CPU readings at the start
// of a scenario.
type cpuMeter struct {
	start       time.Time
	busy, self  time.Duration
	ownChildren time.Duration
	ok          bool
}

func (b *bench) startMeter() cpuMeter {
	busy, ok := machineBusy()
	return cpuMeter{start: time.Now(), busy: busy, self: selfCPU(), ownChildren: b.childCPU, ok: ok}
}

// stop reports the CPU seconds that processes other than the bench's used
// since start, and the CPU seconds the machine had in that time.
func (m cpuMeter) stop(b *bench) (other, capacity float64, ok bool) {
	busy, ok := machineBusy()
	if !ok || !m.ok {
		return 0, 0, false
	}
	own := (selfCPU() - m.self) + (b.childCPU - m.ownChildren)
	other = max((busy - m.busy - own).Seconds(), 0)
	capacity = time.Since(m.start).Seconds() * float64(runtime.NumCPU())
	return other, capacity, true
}

// machineBusy is the time all CPUs have spent not idle since boot, from
// the first line of /proc/stat (in USER_HZ ticks, 100 a second on Linux).
func machineBusy() (time.Duration, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		// Fields: user nice system idle iowait irq softirq steal guest
		// guest_nice. Guest time is already counted in user.
		switch i {
		case 3, 4, 8, 9: // idle, iowait, guest, guest_nice
		default:
			busy += n
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond, true
}
