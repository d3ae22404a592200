package optset_test

import (
	"testing"

	"github.com/fetchpipe/fetchpipe/internal/optset"
)

func TestNames(t *testing.T) {
	names := []string{"WithA", "WithB", "WithC"}
	tests := []struct {
		set  uint16
		want string
	}{
		{0, "no options"},
		{1, "WithA"},
		{0b101, "WithA, WithC"},
		{0b110, "WithB, WithC"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := optset.Names(tt.set, names); got != tt.want {
				t.Errorf("Names(%b) = %q, want %q", tt.set, got, tt.want)
			}
		})
	}
}
