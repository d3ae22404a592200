package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// median combines several runs of one strategy into one row: each figure
// is the median of that figure over the runs, so one unlucky run (a
// scheduler hiccup on two shared cores) moves nothing. Problems of any run
// are kept.
func median(runs []*measurement) *measurement {
	if len(runs) == 1 {
		return runs[0]
	}
	m := *runs[len(runs)/2]
	pick := func(get func(*measurement) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = get(r)
		}
		return medianOf(v)
	}
	m.WallS = pick(func(r *measurement) float64 { return r.WallS })
	m.FirstRecordS = pick(func(r *measurement) float64 { return r.FirstRecordS })
	m.UserS = pick(func(r *measurement) float64 { return r.UserS })
	m.SysS = pick(func(r *measurement) float64 { return r.SysS })
	m.CPUS = pick(func(r *measurement) float64 { return r.CPUS })
	m.CPUPerReqUS = pick(func(r *measurement) float64 { return r.CPUPerReqUS })
	m.ReqPerS = pick(func(r *measurement) float64 { return r.ReqPerS })
	m.PeakRSSMB = pick(func(r *measurement) float64 { return r.PeakRSSMB })
	m.Runs = len(runs)
	m.Label = fmt.Sprintf("%s (median of %d)", m.Strategy, len(runs))
	m.keepEach(runs)
	return &m
}

// least combines several runs of one strategy into the one that used the
// least CPU, whole: on a shared machine other processes only ever add to a
// run's CPU time (caches, migrations), so the least is the one they
// disturbed least. Problems of any run are kept.
func least(runs []*measurement) *measurement {
	if len(runs) == 1 {
		return runs[0]
	}
	m := *slices.MinFunc(runs, func(a, b *measurement) int { return cmp.Compare(a.CPUS, b.CPUS) })
	m.Runs = len(runs)
	m.Label = fmt.Sprintf("%s (least CPU of %d)", m.Strategy, len(runs))
	m.keepEach(runs)
	return &m
}

// keepEach records each run's wall, first record and CPU, and every run's
// problem, in the row that stands for them.
func (m *measurement) keepEach(runs []*measurement) {
	m.EachWallS, m.EachFirstS, m.EachCPUS = nil, nil, nil
	var problems []string
	for _, r := range runs {
		m.EachWallS = append(m.EachWallS, r.WallS)
		m.EachFirstS = append(m.EachFirstS, r.FirstRecordS)
		m.EachCPUS = append(m.EachCPUS, r.CPUS)
		if r.Problem != "" {
			problems = append(problems, r.Problem)
		}
	}
	m.Problem = strings.Join(problems, "; ")
}

// medianOf returns the middle value, or the mean of the two middle ones.
func medianOf(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
