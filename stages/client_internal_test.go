package stages

import "testing"

// TestReadBufferShrinksWithThousandsOfConnections: the read buffer of
// every open connection is memory that thousands of them multiply.
func TestReadBufferShrinksWithThousandsOfConnections(t *testing.T) {
	for _, tt := range []struct{ concurrency, want int }{
		{1, 4096}, {64, 4096}, {1024, 4096}, {1025, 1024}, {10000, 1024},
	} {
		if got := readBuffer(tt.concurrency); got != tt.want {
			t.Errorf("readBuffer(%d) = %d, want %d", tt.concurrency, got, tt.want)
		}
	}
}
