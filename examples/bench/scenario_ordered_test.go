package main

import (
	"testing"
	"time"
)

// TestSumLatency checks the sum behind S7's ideal.
func TestSumLatency(t *testing.T) {
	t.Parallel()
	u := urlSet{n: 600, slowEvery: 50}
	for _, tt := range []struct {
		name string
		m    int
		want time.Duration
	}{
		{"all 600: 588 fast, 12 slow", 600, 588*50*time.Millisecond + 12*2*time.Second},
		{"the first 599: 588 fast, 11 slow", 599, 588*50*time.Millisecond + 11*2*time.Second},
		{"before the first slow one: 49 fast", 49, 49 * 50 * time.Millisecond},
		{"none", 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := sumLatency(u, tt.m, 2*time.Second); got != tt.want {
				t.Errorf("sumLatency(first %d) = %v, want %v", tt.m, got, tt.want)
			}
		})
	}
}

// TestInOrderEnd checks the schedule behind S7's note: K slots, the URLs
// started in input order as slots free.
func TestInOrderEnd(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	for _, tt := range []struct {
		name string
		u    urlSet
		k    int
		want time.Duration
	}{
		{"one slot: the sum", urlSet{n: 4, slowEvery: 2}, 1, 50*ms + 2000*ms + 50*ms + 2000*ms},
		{"a slot each: the slowest", urlSet{n: 4, slowEvery: 2}, 10, 2000 * ms},
		{"no slow URL", urlSet{n: 100}, 50, 100 * ms},
		{"S7 at -quick, N=60: the tail fits beside the slow URL", urlSet{n: 60, slowEvery: 50}, 50, 2000 * ms},
		{"S7 at -quick, N=300", urlSet{n: 300, slowEvery: 50}, 50, 2300 * ms},
		{"S7, N=600: the last URL is slow and starts late", urlSet{n: 600, slowEvery: 50}, 50, 2650 * ms},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := inOrderEnd(tt.u, tt.k, 2*time.Second); got != tt.want {
				t.Errorf("inOrderEnd(N=%d, K=%d) = %v, want %v", tt.u.n, tt.k, got, tt.want)
			}
		})
	}
}
