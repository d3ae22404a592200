package stages

import (
	"fmt"
	"testing"
)

// TestJumpHash checks jumpHash against values of the published algorithm,
// and its promise: from n to n+1 buckets, a key stays or moves to the new
// bucket.
func TestJumpHash(t *testing.T) {
	for _, tc := range []struct {
		key     uint64
		n, want int
	}{
		{1, 1, 0},
		{42, 57, 43},
		{0xDEAD10CC, 1, 0},
		{0xDEAD10CC, 666, 361},
		{256, 1024, 520},
	} {
		t.Run(fmt.Sprintf("%d/%d", tc.key, tc.n), func(t *testing.T) {
			if got := jumpHash(tc.key, tc.n); got != tc.want {
				t.Errorf("jumpHash(%d, %d) = %d, want %d", tc.key, tc.n, got, tc.want)
			}
		})
	}
	for n := 1; n < 20; n++ {
		moved := 0
		for k := range uint64(10000) {
			key := fnv64(fmt.Sprint(k))
			was, is := jumpHash(key, n), jumpHash(key, n+1)
			switch {
			case is == was:
			case is == n:
				moved++
			default:
				t.Fatalf("key %d moved from %d to %d of %d buckets", k, was, is, n+1)
			}
		}
		if want := 10000 / (n + 1); moved < want*8/10 || moved > want*12/10 {
			t.Errorf("%d → %d buckets moved %d keys, want about %d", n, n+1, moved, want)
		}
	}
}
