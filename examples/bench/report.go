package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// report is everything one bench run measured; -json prints it as is.
type report struct {
	Command   string            `json:"command"`
	Machine   machine           `json:"machine"`
	Started   time.Time         `json:"started"`
	TookS     float64           `json:"took_s"`
	Scenarios []*scenarioResult `json:"scenarios"`
	// ClientOpenFiles and ServerOpenFiles are the lowest open-file soft
	// limits that the clients and the servers ran with, read from
	// /proc/PID/limits while they ran (0: not known). Go raises the soft
	// limit to the hard one at start-up; these show that it did.
	ClientOpenFiles int64 `json:"client_open_files_soft,omitempty"`
	ServerOpenFiles int64 `json:"server_open_files_soft,omitempty"`
	// Interrupted is the ID of the scenario an interrupt stopped, whose
	// figures are not in Scenarios, nor those of the scenarios after it;
	// "" when the run was not interrupted.
	Interrupted string `json:"interrupted,omitempty"`
}

// noteLimit lowers *min to n, when n is known.
func noteLimit(min *int64, n int64) {
	if n > 0 && (*min == 0 || n < *min) {
		*min = n
	}
}

// scenarioResult is one scenario's table: the strategies measured, the
// ideal times it is held against, and the ratios the project sets targets on.
type scenarioResult struct {
	ID     string         `json:"id"`
	Title  string         `json:"title"`
	Setup  string         `json:"setup"` // the server and the input, in words
	Ideals []ideal        `json:"ideals,omitempty"`
	Rows   []*measurement `json:"rows"`
	Ratios []ratio        `json:"ratios,omitempty"`
	Notes  []string       `json:"notes,omitempty"`
	// Columns names the columns the table shows after the usual ones, of
	// those extraColumns knows (S9: attempts, refusals, latency, limits).
	Columns []string `json:"columns,omitempty"`
	// OtherCPUS is the CPU time that processes other than the bench and
	// its children used while the scenario ran, of CapacityCPUS (wall time
	// × CPUs). Much of it means the figures were disturbed.
	OtherCPUS    float64 `json:"other_cpu_s"`
	CapacityCPUS float64 `json:"capacity_cpu_s"`
}

// ideal is a physical limit: the time a run cannot beat at its concurrency
// however little the client costs.
type ideal struct {
	Label string  `json:"label"`
	WallS float64 `json:"wall_s"`
}

// ratio is a comparison the project asks for, with its target where it
// sets one. Ratios are what carry over between machines; absolute times do
// not.
type ratio struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	// Max and Min are the project's target: the ratio should be at most
	// Max and at least Min (0: no bound on that side; both 0: no target).
	// The scenario's first note says what the target is for.
	Max float64 `json:"target_max,omitempty"`
	Min float64 `json:"target_min,omitempty"`
	// Met says whether Value is within the target. It is absent where
	// there is no target, and where the target was not judged.
	Met *bool `json:"met,omitempty"`
	// NotJudged is the flag (-quick, -tiny) that scaled the run's N down
	// and so left the target unjudged: at N that small, start-up and a
	// heap still growing weigh more than what the targets are about.
	NotJudged string `json:"not_judged,omitempty"`
}

func (s *scenarioResult) addIdeal(label string, wall time.Duration) {
	s.Ideals = append(s.Ideals, ideal{label, wall.Seconds()})
}

// addRatio records a/b under name, with target max (0: none), to be
// judged once the scenario has run. A ratio of figures that were not
// measured is left out.
func (s *scenarioResult) addRatio(name string, a, b, max float64) {
	s.addRatioIn(name, a, b, 0, max)
}

// addRatioIn is addRatio with a target of at least min and at most max
// (0: no bound on that side).
func (s *scenarioResult) addRatioIn(name string, a, b, min, max float64) {
	if a <= 0 || b <= 0 {
		return
	}
	s.Ratios = append(s.Ratios, ratio{Name: name, Value: a / b, Min: min, Max: max})
}

// addShare records part/whole under name, with target max (0: none): a
// share, such as the refused attempts of all attempts, which may be 0 as
// a ratio of two measured figures may not. Without a whole it is left out.
func (s *scenarioResult) addShare(name string, part, whole int64, max float64) {
	if whole <= 0 || part < 0 {
		return
	}
	s.Ratios = append(s.Ratios, ratio{Name: name, Value: float64(part) / float64(whole), Max: max})
}

// judge holds every ratio that has a target to it; when smallN names the
// flag that scaled the run's N down, it marks them not judged instead.
func (s *scenarioResult) judge(smallN string) {
	for i := range s.Ratios {
		r := &s.Ratios[i]
		switch {
		case r.Max <= 0 && r.Min <= 0:
		case smallN != "":
			r.NotJudged = smallN
		default:
			met := (r.Max <= 0 || r.Value <= r.Max) && r.Value >= r.Min
			r.Met = &met
		}
	}
}

func (s *scenarioResult) notef(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

// noteTargets says in plain words what the scenario's targets are for. It
// comes first among the notes, right under the ratios it explains.
func (s *scenarioResult) noteTargets(format string, args ...any) {
	s.Notes = slices.Insert(s.Notes, 0, fmt.Sprintf(format, args...))
}

// row returns the row of strategy, or nil.
func (s *scenarioResult) row(strategy string) *measurement {
	for _, r := range s.Rows {
		if r.Strategy == strategy {
			return r
		}
	}
	return nil
}

func (rep *report) write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.writeTables(w)
}
