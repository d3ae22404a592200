package stages

import "testing"

// TestRefusedIsOverload: what Fetch tells an adaptive budget is a refusal
// for overload: a 429 or a 503, a connection refused or broken; not a
// failure of the request itself.
func TestRefusedIsOverload(t *testing.T) {
	for _, tt := range []struct {
		name   string
		rec    Record
		refuse bool
	}{
		{"ok", Record{Status: 200}, false},
		{"429", Record{Status: 429, Err: newError(KindHTTPStatus, "")}, true},
		{"503", Record{Status: 503, Err: newError(KindHTTPStatus, "")}, true},
		{"500", Record{Status: 500, Err: newError(KindHTTPStatus, "")}, false},
		{"404", Record{Status: 404, Err: newError(KindHTTPStatus, "")}, false},
		{"connection refused", Record{Err: newError(KindConnect, "")}, true},
		{"reset", Record{Err: newError(KindNetwork, "")}, true},
		{"timeout", Record{Err: newError(KindTimeout, "")}, false},
		{"not JSON", Record{Status: 200, Err: newError(KindDecode, "")}, false},
	} {
		if got := refused(&tt.rec); got != tt.refuse {
			t.Errorf("%s: refused %v, want %v", tt.name, got, tt.refuse)
		}
	}
}
