package stages

import "testing"

// TestUntimed: what Fetch tells an adaptive budget says nothing of how
// fast its host answers: a try that failed for reasons of its own, but
// not one that timed out, nor one whose body was answered in full.
func TestUntimed(t *testing.T) {
	for _, tt := range []struct {
		name    string
		rec     Record
		untimed bool
	}{
		{"ok", Record{Status: 200}, false},
		{"404", Record{Status: 404, Err: newError(KindHTTPStatus, "")}, true},
		{"500", Record{Status: 500, Err: newError(KindHTTPStatus, "")}, false},
		{"504", Record{Status: 504, Err: newError(KindHTTPStatus, "")}, false},
		{"502", Record{Status: 502, Err: newError(KindHTTPStatus, "")}, true},
		{"408", Record{Status: 408, Err: newError(KindHTTPStatus, "")}, false},
		{"never sent", Record{Err: newError(KindInvalidInput, "")}, true},
		{"reset in the body", Record{Status: 200, Err: newError(KindNetwork, "")}, true},
		{"too large", Record{Status: 200, Err: newError(KindTooLarge, "")}, true},
		{"timeout", Record{Err: newError(KindTimeout, "")}, false},
		{"not JSON", Record{Status: 200, Err: newError(KindDecode, "")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := untimed(&tt.rec); got != tt.untimed {
				t.Errorf("untimed %v, want %v", got, tt.untimed)
			}
		})
	}
}

// TestTimedOut: what Fetch tells an adaptive budget went nowhere in its
// time: a timeout, before a status or in a body that trickles.
func TestTimedOut(t *testing.T) {
	for _, tt := range []struct {
		name     string
		rec      Record
		timedOut bool
	}{
		{"ok", Record{Status: 200}, false},
		{"no answer", Record{Err: newError(KindTimeout, "")}, true},
		{"in the body", Record{Status: 200, Err: newError(KindTimeout, "")}, true},
		{"connection refused", Record{Err: newError(KindConnect, "")}, false},
		{"504", Record{Status: 504, Err: newError(KindHTTPStatus, "")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := timedOut(&tt.rec); got != tt.timedOut {
				t.Errorf("timedOut %v, want %v", got, tt.timedOut)
			}
		})
	}
}

// TestRefusedIsOverload: what Fetch tells an adaptive budget is a refusal
// for overload: a 429 or a 503 on any try, a connection refused or broken
// on an item's first try; not a failure of the request itself, nor the
// connection failures of an item's retries, which say more of the item.
func TestRefusedIsOverload(t *testing.T) {
	for _, tt := range []struct {
		name   string
		rec    Record
		try    int
		refuse bool
	}{
		{"ok", Record{Status: 200}, 1, false},
		{"429", Record{Status: 429, Err: newError(KindHTTPStatus, "")}, 1, true},
		{"429 on a retry", Record{Status: 429, Err: newError(KindHTTPStatus, "")}, 3, true},
		{"503", Record{Status: 503, Err: newError(KindHTTPStatus, "")}, 1, true},
		{"500", Record{Status: 500, Err: newError(KindHTTPStatus, "")}, 1, false},
		{"502", Record{Status: 502, Err: newError(KindHTTPStatus, "")}, 1, true},
		{"504", Record{Status: 504, Err: newError(KindHTTPStatus, "")}, 1, true},
		{"502 on a retry", Record{Status: 502, Err: newError(KindHTTPStatus, "")}, 2, false},
		{"404", Record{Status: 404, Err: newError(KindHTTPStatus, "")}, 1, false},
		{"connection refused", Record{Err: newError(KindConnect, "")}, 1, true},
		{"reset", Record{Err: newError(KindNetwork, "")}, 1, true},
		{"reset on a retry", Record{Err: newError(KindNetwork, "")}, 2, false},
		{"reset in the body", Record{Status: 200, Err: newError(KindNetwork, "")}, 1, false},
		{"refused on a retry", Record{Err: newError(KindConnect, "")}, 2, false},
		{"timeout", Record{Err: newError(KindTimeout, "")}, 1, false},
		{"not JSON", Record{Status: 200, Err: newError(KindDecode, "")}, 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := refused(&tt.rec, tt.try); got != tt.refuse {
				t.Errorf("refused %v, want %v", got, tt.refuse)
			}
		})
	}
}
