package pipeline

import (
	"slices"
	"testing"
	"time"
)

// TestJudgeEarly drives one adapter's window of 32 (its items 17 to 48)
// by hand: a window more than half of whose items took longer than the
// limit may grow at is judged on the least of those, a bound below its
// median, before its last item ends; and such a judgement neither ends a
// slowdown nor teaches a usual time. Timeouts count at their timeout, a
// bound below their own time, and more than half of the window timed
// out is slow past 1.25 times the usual time: they are lost.
func TestJudgeEarly(t *testing.T) {
	const usual = 0.1
	tests := []struct {
		name      string
		times     []float64 // of the window's first items, in seconds
		judged    bool
		recent    float64 // the bound judged on, if judged
		slow      bool
		keepsSlow bool // a slowdown under way is still remembered
		timedOut  bool // the times are of timeouts
	}{
		{"seventeen slow of 32", append([]float64{0.35}, slices.Repeat([]float64{0.3}, 16)...), true, 0.3, true, true, false},
		{"sixteen slow of 32", slices.Repeat([]float64{0.3}, 16), false, 0, false, true, false},
		{"one of seventeen fast", append([]float64{0.11}, slices.Repeat([]float64{0.3}, 16)...), false, 0, false, true, false},
		{"seventeen a little slower", slices.Repeat([]float64{0.13}, 17), true, 0.13, false, true, false},
		{"seventeen timed out at 1.5 times usual", slices.Repeat([]float64{0.15}, 17), true, 0.15, true, true, true},
		{"seventeen timed out at 1.2 times usual", slices.Repeat([]float64{0.12}, 17), false, 0, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdapter(&Adaptive{Start: 2, Tolerance: 2}, 64)
			a.limit, a.started, a.usual, a.recent, a.recentWindow = 32, 64, usual, usual, 1
			a.slowing = &slowdown{from: 40, baseLimit: 32}
			var slow bool
			for i, took := range tt.times {
				slow = a.slowed(int64(17+i), took, true, tt.timedOut, 8)
			}
			if judged := a.recentWindow == 2; judged != tt.judged || judged && (a.recent != float64(float32(tt.recent)) || slow != tt.slow) {
				t.Errorf("judged %v, recent %v, slow %v; want %v, %v, %v", judged, a.recent, slow, tt.judged, tt.recent, tt.slow)
			}
			if a.usual != usual || (a.slowing != nil) != tt.keepsSlow {
				t.Errorf("usual %v, slowdown %+v: want %v and one remembered", a.usual, a.slowing, usual)
			}
		})
	}
}

// TestSlowCut: the first cut of a slowdown is by a fifth; the next ones go
// to where the recent window's load and time say the items would take
// 1.25 times their usual time, by half at most, and by a fifth where the
// window says no such thing.
func TestSlowCut(t *testing.T) {
	tests := []struct {
		name       string
		slowing    bool // a slowdown is under way: not its first cut
		load       float64
		recent     float64 // times the usual time
		unanswered bool
		want       float64
	}{
		{"the first", false, 32, 8, false, slowCut},
		{"slow", true, 32, 2.1, false, 32 * 1.25 / 2.1 / 32},
		{"far past the queue", true, 32, 8, false, 0.5},
		{"slow at more than the limit", true, 64, 2.1, false, slowCut},
		{"timeouts: a bound", true, 32, 8, true, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdapter(&Adaptive{Start: 2, Tolerance: 2}, 64)
			a.limit, a.cutAt, a.usual = 32, 1, 0.1
			if tt.slowing {
				a.slowing = &slowdown{from: 40, baseLimit: 32}
			}
			a.recent, a.recentLoad, a.recentUnanswered = 0.1*tt.recent, tt.load, tt.unanswered
			if got := a.slowCut(); got < tt.want-1e-9 || got > tt.want+1e-9 {
				t.Errorf("slowCut() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSettleSteps: a key whose server queues grows toward where its
// window says its items would take 1.25 times their usual time, and one
// more than the window had at least; holds where they take a little
// longer than usual; and steps down past 1.5 times it by more than twice
// the error of the window's median, to 2 at least.
func TestSettleSteps(t *testing.T) {
	tests := []struct {
		name       string
		limit      float64
		recent, se float64 // times the usual time
		want       []int   // the limit after each of 3 rounds of tries
	}{
		{"well below the queue: a quarter more", 8, 1.0, 0, []int{9, 10, 10}},
		{"near it: one more", 8, 1.2, 0, []int{9, 9, 9}},
		{"a little slower: held", 8, 1.4, 0, []int{8, 8, 8}},
		{"slower: a step down, then judged", 8, 1.6, 0, []int{6, 6, 6}},
		{"slower, by less than twice its error: held", 8, 1.6, 0.06, []int{8, 8, 8}},
		{"slower, by more than twice its error", 8, 1.8, 0.1, []int{5, 5, 5}},
		{"never below 2", 2, 1.9, 0, []int{2, 2, 2}},
		{"from 3, to 2", 3, 1.9, 0, []int{2, 2, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdapter(&Adaptive{Start: 2, Tolerance: 2}, 64)
			now := time.Now()
			a.limit, a.queues, a.cutAt, a.started, a.lastUsed = tt.limit, true, 1, 100, now
			a.usual, a.recent, a.recentSE, a.recentLoad, a.recentWindow = 0.1, 0.1*tt.recent, 0.1*tt.se, tt.limit, 3
			var got []int
			for range tt.want {
				for range int(a.limit) + 1 { // a round, and one for the fractions
					a.started++
					a.done(try{round: a.started, took: 100 * time.Millisecond, timed: true, running: int(a.limit)}, now)
				}
				got = append(got, a.inFlight())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("limits %v, want %v", got, tt.want)
			}
		})
	}
}

// TestTriedWith: a server that refuses a share of what it is sent at any
// load is told from one that refuses what is past what it takes, by the
// refusals of the tries that ran with fewest in flight.
func TestTriedWith(t *testing.T) {
	loads := []int{3, 4, 5, 6, 7, 8} // a limit's sawtooth
	tests := []struct {
		name    string
		refused func(i, load int) bool
		want    bool
	}{
		{"one in twenty at any load", func(i, _ int) bool { return i%20 == 19 }, true},
		{"what is past 6 at once", func(_, load int) bool { return load > 6 }, false},
		{"one in five past 6", func(i, load int) bool { return load > 6 && i%5 == 0 }, false},
		{"most of it at any load", func(i, _ int) bool { return i%5 != 0 }, false},
		{"none", func(int, int) bool { return false }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdapter(&Adaptive{Start: 2, Tolerance: 2}, 64)
			a.started = 100
			got := false
			for i := range 2 * refusalTries {
				load := loads[(i/7)%len(loads)]
				got = a.triedWith(load, 0, tt.refused(i, load)) || got
			}
			if got != tt.want || got != (a.ownRefused > 0) {
				t.Errorf("refused anyway: %v (share %v), want %v", got, a.ownRefused, tt.want)
			}
		})
	}
}

// TestSlowdownQueues: a cut for slow items takes the key's server for one
// that queues (settle) only where the load explains the slowdown, or it
// is the second cut of a slowdown: one slow window alone may be the
// items' own spread, or a pause of the server's.
func TestSlowdownQueues(t *testing.T) {
	tests := []struct {
		name       string
		prevRecent float64 // times the usual time, of the window before
		prevLoad   float64
		second     bool // a slowdown is under way
		want       bool
		wantLimit  int
	}{
		{"one slow window", 1, 32, false, false, 25},
		{"more at once, as much slower", 1, 8, false, true, 10},
		{"more at once, far slower", 0.5, 30, false, false, 25},
		{"the second cut", 1, 32, true, true, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdapter(&Adaptive{Start: 2, Tolerance: 2}, 64)
			a.limit, a.cutAt, a.started, a.usual = 32, 1, 100, 0.1
			a.recent, a.recentLoad = 0.4, 32
			a.prevRecent, a.prevLoad = 0.1*tt.prevRecent, tt.prevLoad
			if tt.second {
				a.slowing = &slowdown{from: 40, baseLimit: 32}
			}
			a.slowdown(a.started)
			if a.queues != tt.want || a.inFlight() != tt.wantLimit {
				t.Errorf("queues %v at %d; want %v at %d", a.queues, a.inFlight(), tt.want, tt.wantLimit)
			}
		})
	}
}

// TestTriedWithFewItems: a key of a few items keeps none of its tries,
// refused or not: a list of a million hosts, one URL each, would keep a
// kilobyte for each host the budget remembers.
func TestTriedWithFewItems(t *testing.T) {
	a := newAdapter(&Adaptive{Start: 2, Tolerance: 2}, 64)
	a.started = 3
	for range 3 {
		a.triedWith(1, 0, true)
	}
	if a.tries != nil {
		t.Errorf("a key of 3 items keeps its tries")
	}
}

// TestRefusedMore: once a key's server is found to refuse a share of what
// it is sent whatever the load, its refusals are taken for the load's
// again only where its last 128 tries had fifteen in a hundred more
// refused: seven of 32 in a row, which one in twenty reaches by chance
// about once a thousand windows, do not, nor does a share that grows by
// as much slowly (retries of URLs refused every time, in bursts); a server
// refusing two in five from then on does, within 128 tries.
func TestRefusedMore(t *testing.T) {
	for _, tt := range []struct {
		name    string
		refused func(i int) bool // of the tries after the judging
		tries   int
		undone  bool
	}{
		{"seven of 32", func(i int) bool { return i < 7 }, 32, false},
		{"one in twenty", func(i int) bool { return i%20 == 0 }, 1000, false},
		{"two in five", func(i int) bool { return i%5 < 2 }, 128, true},
		{"one in twenty, slowly to one in four", func(i int) bool { return i%20 == 0 || i%100 < i/200 }, 4000, false},
		{"one in twenty, then one in four", func(i int) bool { return i%20 == 0 || i%4 == 0 }, 128, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdapter(&Adaptive{Start: 2, Tolerance: 2}, 64)
			a.started, a.limit = 200, 20
			for i := range refusalTries {
				a.triedWith(3+i%6, 0, i%20 == 0) // refused alike at every load
			}
			if a.ownRefused == 0 {
				a.triedWith(3, 0, true)
			}
			if a.ownRefused == 0 {
				t.Fatal("a server refusing one in twenty at every load was not found to")
			}
			a.undoneFrom = 10
			for i := range tt.tries {
				a.triedWith(3+i%6, 0, tt.refused(i))
			}
			if a.refusesForLoad != tt.undone || tt.undone && a.limit != 10 {
				t.Errorf("refusals the load's: %v, want %v (limit %v)", a.refusesForLoad, tt.undone, a.limit)
			}
		})
	}
}

// TestLoadSince: an item's load is the key's items in flight over its
// life, on average, whatever starts and ends while it runs: not the count
// at its end, which in a slow start is twice what it ran under.
func TestLoadSince(t *testing.T) {
	a := newAdapter(&Adaptive{}, 64)
	at := func(s float64) time.Time { return time.Unix(0, 0).Add(time.Duration(s * float64(time.Second))) }
	a.start(at(0), 0) // A starts alone
	flownA := a.flown
	a.start(at(1), 1) // B beside it from 1s
	flownB := a.flown
	a.start(at(1.5), 2) // C, for a second
	if got := a.loadSince(flownA, 2*time.Second, at(2), 3); got != 1.75 {
		// 1 for a second, 2 for half of one, 3 for the other half.
		t.Errorf("A's load %v, want 1.75", got)
	}
	a.fly(at(2.5), 2) // C ends
	if got := a.loadSince(flownB, 2*time.Second, at(3), 1); got != 2 {
		// 2 from 1s to 1.5s, 3 to 2s, 2 to 2.5s, 1 to 3s.
		t.Errorf("B's load %v, want 2", got)
	}
	if got := a.loadSince(a.flown, 0, at(3), 4); got != 4 {
		t.Errorf("an item of no time: load %v, want those in flight, 4", got)
	}
}

// TestSlowStartHeld: a slow start holds its limit while its last window
// took over 1.25 times the usual time by about as much as it had more in
// flight than the one before; a window as slow at the same load (an
// answer's own spread, a pause of the server's), or one once the key was
// cut, does not hold it.
func TestSlowStartHeld(t *testing.T) {
	tests := []struct {
		name             string
		prevLoad, load   float64
		prevTime, recent float64 // times the usual time
		cut              bool
		want             bool
	}{
		{"twice as many, half as slow again", 10, 20, 1, 1.5, false, true},
		{"twice as many, as slow", 10, 20, 1, 1.1, false, false},
		{"as many, slower", 10, 10.5, 1, 1.5, false, false},
		{"twice as many, five times as slow", 10, 20, 1, 5, false, false},
		{"cut once", 10, 20, 1, 1.5, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdapter(&Adaptive{Start: 2, Tolerance: 2}, 64)
			a.limit, a.started, a.usual = 30, 60, 0.1
			a.prevRecent, a.prevLoad, a.recent, a.recentLoad = 0.1*tt.prevTime, tt.prevLoad, 0.1*tt.recent, tt.load
			if tt.cut {
				a.cutAt = 40
			}
			if got := a.slowStartHeld(); got != tt.want {
				t.Fatalf("slowStartHeld() = %v, want %v", got, tt.want)
			}
			a.done(try{round: 60, took: 100 * time.Millisecond, timed: true, running: 30, load: 30}, time.Now())
			if grew := a.limit > 30; grew == tt.want {
				t.Errorf("limit %v after an item that went well, held %v", a.limit, tt.want)
			}
		})
	}
}

// TestCutJudgedAfter: a cut is judged on the first window whose items all
// started after as many again as the new limit, not the old: cut from 35
// to 13 at the 85th item, the 98th and on find what 13 at once do.
func TestCutJudgedAfter(t *testing.T) {
	a := newAdapter(&Adaptive{Start: 2, Tolerance: 2}, 64)
	a.limit, a.started = 35, 85
	a.cut(80, 13.0/35, LimitSlowed)
	if want := windowAfter(85 + 13); a.inFlight() != 13 || a.judgeFrom != want {
		t.Errorf("limit %d judged from window %d, want 13 from %d", a.inFlight(), a.judgeFrom, want)
	}
}

// TestUsualFromWindowsThatSayIt: a window's median becomes the usual time
// only where its standard error is a quarter of it at most: 8 answers of
// 10 to 500ms may have a median of half their own, and against it the
// next window took twice as long.
func TestUsualFromWindowsThatSayIt(t *testing.T) {
	// n answers evenly spread from lo to hi seconds
	evenly := func(n int, lo, hi float32) []float32 {
		times := make([]float32, n)
		for i := range times {
			times[i] = lo + (hi-lo)*float32(i)/float32(n-1)
		}
		return times
	}
	for _, tt := range []struct {
		name  string
		times []float32
		usual bool
	}{
		{"8 of 10 to 500ms", evenly(8, 0.01, 0.5), false},
		{"32 of 10 to 500ms", evenly(32, 0.01, 0.5), true},
		{"8 of 50 to 150ms", evenly(8, 0.05, 0.15), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, se := medianSpread(tt.times)
			a := newAdapter(&Adaptive{Start: 2, Tolerance: 2}, 64)
			if a.judge(0, m, se, 2, false, false); (a.usual > 0) != tt.usual || a.slow {
				t.Errorf("median %v, error %v: usual %v, slow %v; want a usual time %v", m, se, a.usual, a.slow, tt.usual)
			}
		})
	}
}

// TestCleanRound: a refusal after a whole round of tries at the limit,
// each with the limit full and none refused, says the load was not why;
// one in the first round at a limit, as a server that takes one fewer
// refuses, or after tries that ran with fewer in flight, does not.
func TestCleanRound(t *testing.T) {
	for _, tt := range []struct {
		name  string
		clean int // tries at the limit, with it full, before the refusal
		load  int // in flight at each of them
		want  bool
	}{
		{"after a round", 5, 5, true},
		{"in the first round", 3, 5, false},
		{"after tries with fewer in flight", 8, 4, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdapter(&Adaptive{Start: 2, Tolerance: 2}, 64)
			a.limit, a.started = 5, 100
			for i := range refusalTries / 4 {
				a.triedWith(5, 0, i%20 == 0) // a ring of tries to judge by
			}
			var got bool
			for range tt.clean {
				a.started++
				got = a.triedWith(tt.load, a.started, false) || got
			}
			a.started++
			got = a.triedWith(5, a.started, true) || got
			if got != tt.want || (a.ownRefused > 0) != tt.want {
				t.Errorf("refuses anyway: %v (share %v), want %v", got, a.ownRefused, tt.want)
			}
		})
	}
}

// TestRetriesNotJudged: the refusals of items' retries are no part of the
// last tries a key judges refusals by: a URL refused every time is
// refused on each, and at the end of a list such retries are all that is
// left.
func TestRetriesNotJudged(t *testing.T) {
	a := newAdapter(&Adaptive{Start: 2, Tolerance: 2}, 64)
	a.limit, a.started = 16, 200
	now := time.Now()
	for i := range 300 {
		a.started++
		a.done(try{round: a.started, took: 20 * time.Millisecond, timed: i%2 == 0, refused: i%2 == 1, retry: i%2 == 1, running: 16, all: 16}, now)
	}
	if a.tries != nil {
		t.Errorf("%d retries' refusals judged", a.tries.refused)
	}
}
