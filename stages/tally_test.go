package stages_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fetchpipe/fetchpipe/stages"
)

// TestTallyCountsWhatTheRecordsSay: a summary's counts are the records'
// own, and its latency quantiles are within 1% of the exact ones on a
// known distribution, from a histogram of fixed memory.
func TestTallyCountsWhatTheRecordsSay(t *testing.T) {
	tally := stages.NewTally()
	var latencies []float64
	for i := range 10000 {
		r := stages.Record{Status: 200, Attempts: 1, Bytes: 100, Elapsed: time.Duration(i+1) * time.Millisecond}
		switch {
		case i%10 == 0:
			r.Status, r.Attempts = 503, 3
			r.Err = &stages.Error{Kind: stages.KindHTTPStatus}
		case i%25 == 1:
			r.Status, r.Bytes = 0, 0
			r.Err = &stages.Error{Kind: stages.KindTimeout}
		}
		tally.Add(&r)
		latencies = append(latencies, float64(i+1))
	}
	invalid := stages.Record{Err: &stages.Error{Kind: stages.KindInvalidInput}} // never sent: no latency
	tally.Add(&invalid)
	s := tally.Summary()
	if s.Items != 10001 || s.OK != 10001-1000-400-1 || s.Failed != 1401 ||
		s.Kinds[stages.KindHTTPStatus] != 1000 || s.Kinds[stages.KindTimeout] != 400 || s.Kinds[stages.KindInvalidInput] != 1 ||
		s.Statuses[200] != 8600 || s.Statuses[503] != 1000 || s.Attempts != 12000 || s.Retries != 2000 || s.Bytes != 100*9600 {
		t.Errorf("summary %+v", s)
	}
	slices.Sort(latencies)
	for _, q := range []struct {
		p   float64
		got float64
	}{{0.50, s.P50MS}, {0.90, s.P90MS}, {0.99, s.P99MS}, {1, s.MaxMS}} {
		exact := latencies[int(math.Ceil(q.p*float64(len(latencies))))-1]
		if math.Abs(q.got-exact)/exact > 0.01 {
			t.Errorf("p%v = %v ms, exact %v ms: more than 1%% off", q.p*100, q.got, exact)
		}
	}
	text := s.String()
	for _, want := range []string{"10,001 items", "8,600 ok", "1,401 failed (http_status 1,000, timeout 400, invalid_input 1)", "statuses  200 8,600, 503 1,000", "attempts  12,000 (2,000 retries)", "p50 5"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary text lacks %q:\n%s", want, text)
		}
	}
}
