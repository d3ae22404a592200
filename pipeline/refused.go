package pipeline

import "slices"

// A key's server may refuse more the more it is sent (one that takes C at
// once refuses what finds C in flight), or refuse a share of what it is
// sent whatever the load: a flaky backend's 503s, a rate of random 429s.
// Cut for each refusal of the second kind, a key was held near 5 in
// flight by a server that refused one try in twenty at any load, and took
// 37 s for what 64 at once did in 3.4 s. The limit's own cuts and growth
// vary how many of the key's tries are in flight; the refusals of the
// tries that ran with fewest tell the two apart: the first kind refuses
// none of those, the second as many as of the others.

// refusalTries is how many of its last tries a key judges its refusals
// on, once it has had one (items' first tries only: see try.retry): half
// of them those with fewest in flight. At one refusal in twenty, each
// half has three on average; a server that refuses for the load has none
// in the half of fewest.
const refusalTries = 128

// A triedAt is one try of a key: how many of the key's tries were in
// flight as it ended, and whether it was refused.
type triedAt struct {
	load    int32
	refused bool
}

// A lastTries is a key's last refusalTries tries, oldest overwritten
// first: 1 KB, for a key that has had a refusal.
type lastTries struct {
	at      [refusalTries]triedAt
	next    int // where the next goes
	n       int // how many there are, up to refusalTries
	refused int // how many of them were refused
}

func (l *lastTries) add(t triedAt) {
	if l.n == refusalTries && l.at[l.next].refused {
		l.refused--
	}
	if t.refused {
		l.refused++
	}
	l.at[l.next] = t
	l.next = (l.next + 1) % refusalTries
	l.n = min(l.n+1, refusalTries)
}

const (
	// asRefused is how much smaller than the share refused of the tries
	// with most in flight that of the tries with fewest may be, and still
	// say the server refuses as much whatever it is sent.
	asRefused = 0.75
	// mostlyRefused is the share of tries refused at which refusals are
	// taken for the load's however they went: a server that takes C at
	// once refuses more than half of what is sent past 2C.
	mostlyRefused = 0.5
	// moreRefused is how much larger than the share a server refuses
	// anyway that of the key's last tries must be to say it refuses for
	// the load after all: fifteen in a hundred more, which 128 tries never
	// reach by chance at one in twenty (seven standard errors). A window
	// of 32 reached it about once in a thousand, so in one run in seven of
	// 5,000 items, and the run was cut as if the server were full.
	moreRefused = 0.15
)

// triedWith takes in a try that ended with load of the key's tries in
// flight, refused or not, and reports whether the key's server has now
// shown that it refuses a share of what it is sent whatever the load:
// over the last refusalTries tries, those with fewest in flight had as
// large a share refused as the others (and at most mostlyRefused), where
// a server that refuses for the load refuses none with fewest. Refusals
// then cut nothing (ownRefused), until the last tries have many more
// than that share (see refusedMore).
func (a *adapter) triedWith(load int, round int64, refused bool) bool {
	if a.refusesForLoad {
		return false
	}
	clean := a.cleanRound(load, round, refused)
	if a.tries == nil {
		if !refused || a.started < refusalTries/4 {
			// None refused yet, nothing to tell apart; or a key of a few
			// items, as most of a list of a million hosts are, which the
			// budget remembers for a minute: 1 KB each would add up.
			return false
		}
		a.tries = new(lastTries)
	}
	a.tries.add(triedAt{load: int32(load), refused: refused})
	if a.ownRefused > 0 {
		a.refusedMore()
		return false
	}
	if refused && clean && a.tries.n >= refusalTries/4 {
		a.ownRefused = max(float64(a.tries.refused)/float64(a.tries.n), 1/float64(a.tries.n))
		return true
	}
	if !refused || a.tries.n < refusalTries {
		return false
	}
	fewest, most, ok := splitByLoad(a.tries.at[:])
	if !ok || fewest.share() < asRefused*most.share() ||
		fewest.refused+most.refused > int(mostlyRefused*float64(fewest.n+most.n)) {
		return false
	}
	a.ownRefused = float64(fewest.refused+most.refused) / float64(fewest.n+most.n)
	return true
}

// cleanRound takes in a try that started in round and ended with load of
// the key's tries in flight, and reports whether it is a refusal that
// came after a whole round of tries at the key's limit, each with as many
// in flight as the limit allows or more, and none refused: the load was
// not why. Refusals that come evenly spaced (every twentieth URL answers
// 503 whatever the load) cut the limit, it grew back until the next, and
// so came always at the top of its sawtooth, as a full server's do: the
// tries with fewest in flight were never refused, and a run that -c 64
// did in 3.3 s took 21 to 27 s at 1 in flight. A server that takes C
// refuses the first try past C at once, in the first round at C + 1.
func (a *adapter) cleanRound(load int, round int64, refused bool) bool {
	level := a.inFlight()
	if level != a.level {
		a.level, a.levelFrom, a.clean = level, a.started, 0
	}
	if round <= a.levelFrom || load < level {
		return false
	}
	if !refused {
		a.clean++
		return false
	}
	clean := a.clean >= level
	a.clean = 0
	return clean
}

// A count is of tries, and of those of them refused.
type count struct{ refused, n int }

func (c count) share() float64 { return float64(c.refused) / float64(max(c.n, 1)) }

// splitByLoad counts tries in two parts, those with fewer in flight and
// those with more, split at their median load (the side of the median
// that leaves the parts nearest in size), and reports whether the smaller
// has a quarter of them at least: a limit that stood still says nothing
// of what fewer at once do.
func splitByLoad(tries []triedAt) (fewest, most count, ok bool) {
	var loads [refusalTries]int32
	for i, t := range tries {
		loads[i] = t.load
	}
	slices.Sort(loads[:len(tries)])
	m := loads[len(tries)/2]
	var below, at, above count // load < m, == m, > m
	for _, t := range tries {
		c := &above
		switch {
		case t.load < m:
			c = &below
		case t.load == m:
			c = &at
		}
		c.n++
		if t.refused {
			c.refused++
		}
	}
	all := count{below.refused + at.refused + above.refused, len(tries)}
	upTo := count{below.refused + at.refused, below.n + at.n} // load <= m
	fewest = below
	if min(upTo.n, all.n-upTo.n) > min(below.n, all.n-below.n) {
		fewest = upTo
	}
	most = count{all.refused - fewest.refused, all.n - fewest.n}
	return fewest, most, 4*min(fewest.n, most.n) >= all.n
}

// refusedMore judges the last tries of a key whose server was found to
// refuse anyway: many more refused than then say it refuses for the load
// after all, as a server whose capacity others share, or whose capacity
// dropped, does. The undo is undone, and the key's refusals are taken for
// the load's from then on, while it is remembered: judged again, such a
// server was taken for one that refuses anyway two to four times a run,
// each time with a burst of refusals (three to five times as many as
// without the judging).
func (a *adapter) refusedMore() {
	share := float64(a.tries.refused) / float64(a.tries.n)
	if share <= a.ownRefused+moreRefused {
		// The share it refuses anyway follows its last tries, slowly:
		// judged early, with few retries yet of the URLs it refuses
		// every time, it was one in ten, and their retries, coming in
		// bursts, took it past one in four for good.
		a.ownRefused += (share - a.ownRefused) / (4 * refusalTries)
		return
	}
	a.ownRefused, a.tries, a.refusesForLoad = 0, nil, true
	if a.undoneFrom > 0 {
		a.limit = min(a.limit, a.undoneFrom)
		a.why = LimitRefused
	}
	a.undoneFrom = 0
}
