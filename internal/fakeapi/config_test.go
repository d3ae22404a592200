package fakeapi

import (
	"strconv"
	"testing"
	"time"
)

func TestLatencyDraw(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	tests := []struct {
		name     string
		lat      Latency
		lo, hi   time.Duration // every draw within [lo, hi]
		tailRate float64       // expected fraction of draws above base hi
	}{
		{"zero", Latency{}, 0, 0, 0},
		{"fixed", Latency{Min: 50 * ms, Max: 50 * ms}, 50 * ms, 50 * ms, 0},
		{"max below min is fixed", Latency{Min: 50 * ms, Max: 10 * ms}, 50 * ms, 50 * ms, 0},
		{"only max", Latency{Max: 20 * ms}, 0, 20 * ms, 0},
		{"uniform", Latency{Min: 10 * ms, Max: 20 * ms}, 10 * ms, 20 * ms, 0},
		{"tail", Latency{Min: 10 * ms, Max: 20 * ms, TailRate: 0.1, TailFactor: 5}, 10 * ms, 100 * ms, 0.1},
		{"tail default factor", Latency{Min: 10 * ms, Max: 10 * ms, TailRate: 0.2}, 10 * ms, 100 * ms, 0.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const paths = 10000
			base := max(tt.lat.Max, tt.lat.Min)
			tail := 0
			for i := range paths {
				path := "/r/" + strconv.Itoa(i) + ".json"
				d := tt.lat.draw(3, path)
				if d < tt.lo || d > tt.hi {
					t.Fatalf("%s drew %v, want within [%v, %v]", path, d, tt.lo, tt.hi)
				}
				if d != tt.lat.draw(3, path) {
					t.Fatalf("%s drew differently twice", path)
				}
				if d > base {
					tail++
				}
			}
			// Generous: the hash is not a perfect coin, only a good one.
			if got := float64(tail) / paths; got < tt.tailRate*0.8 || got > tt.tailRate*1.2 {
				t.Errorf("tail fraction %.3f, want about %.2f", got, tt.tailRate)
			}
		})
	}
}

func TestConfigPosts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want int }{{0, defaultPosts}, {-3, defaultPosts}, {1, 1}, {40, 40}} {
		t.Run(strconv.Itoa(tt.in), func(t *testing.T) {
			if got := (Config{Posts: tt.in}).posts(); got != tt.want {
				t.Errorf("posts() = %d, want %d", got, tt.want)
			}
		})
	}
}
