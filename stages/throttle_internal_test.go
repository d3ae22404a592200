package stages

import "testing"

// TestHowATryIsHeard: what Fetch tells an adaptive budget of a try.
// Untimed: its time says nothing of how fast its host answers, as it
// failed for reasons of its own, but not one that timed out, nor one whose
// body was answered in full. Timed out: it went nowhere in its time, before
// a status or in a body that trickles.
func TestHowATryIsHeard(t *testing.T) {
	for _, tt := range []struct {
		name              string
		rec               Record
		untimed, timedOut bool
	}{
		{"ok", Record{Status: 200}, false, false},
		{"404", Record{Status: 404, Err: newError(KindHTTPStatus, "")}, true, false},
		{"500", Record{Status: 500, Err: newError(KindHTTPStatus, "")}, false, false},
		{"504", Record{Status: 504, Err: newError(KindHTTPStatus, "")}, false, false},
		{"502", Record{Status: 502, Err: newError(KindHTTPStatus, "")}, true, false},
		{"408", Record{Status: 408, Err: newError(KindHTTPStatus, "")}, false, false},
		{"never sent", Record{Err: newError(KindInvalidInput, "")}, true, false},
		{"reset in the body", Record{Status: 200, Err: newError(KindNetwork, "")}, true, false},
		{"too large", Record{Status: 200, Err: newError(KindTooLarge, "")}, true, false},
		{"connection refused", Record{Err: newError(KindConnect, "")}, true, false},
		{"timeout", Record{Err: newError(KindTimeout, "")}, false, true},
		{"timeout in the body", Record{Status: 200, Err: newError(KindTimeout, "")}, false, true},
		{"not JSON", Record{Status: 200, Err: newError(KindDecode, "")}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := untimed(&tt.rec); got != tt.untimed {
				t.Errorf("untimed %v, want %v", got, tt.untimed)
			}
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
