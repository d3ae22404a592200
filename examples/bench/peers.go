package main

import "slices"

// A peer is a tool other than fetchpipe that does the same job, run beside
// it against the same fake API with the same N and K: curl's --parallel
// and vegeta. The bench never depends on one: a peer that is not at hand
// is left out of its rows, and each table says why in a note.
type peer struct {
	name string
	path string // the executable; "" when the peer is left out
	note string // its version and where it came from, or why it is left out
}

// peerScenarios are the scenarios with peer rows.
var peerScenarios = []string{"S2", "S3", "S6"}

// peersRun reports whether scenario id has peer rows.
func peersRun(id string) bool { return slices.Contains(peerScenarios, id) }

// peers are the peers at hand, in the order their rows come.
func (b *bench) peers() []string {
	var names []string
	for _, p := range []peer{b.curl, b.vegeta} {
		if p.path != "" {
			names = append(names, p.name)
		}
	}
	return names
}

// notePeers says in res's notes what each peer did with the bodies, and
// which were left out and why. fetchpipe's row is the one to set them
// against: it checks every body and embeds it in a record.
func (b *bench) notePeers(res *scenarioResult, k int) {
	if b.curl.path != "" {
		res.notef("curl is %s: %s; it reads every body and writes it to /dev/null, and writes only a status line per URL, through stdio's buffer (so no first-record time)", b.curl.note, curlCommandLine(k))
	} else {
		res.notef("curl is left out: %s", b.curl.note)
	}
	if b.vegeta.path != "" {
		res.notef("vegeta is %s: %s; it reads every body and discards it (-max-body 0 keeps no byte of it in its results), and gob-encodes a result per request to /dev/null, which is part of its CPU; no vegeta report runs. -lazy makes it stop at the end of the list instead of going round it again; a worker that finds the list at its end adds a result that says so",
			b.vegeta.note, vegetaCommandLine(k))
	} else {
		res.notef("vegeta is left out: %s", b.vegeta.note)
	}
	res.notef("fetchpipe checks every body and embeds it, on one line, in an NDJSON record on stdout, which the bench reads and counts")
}
