package stages

import "fmt"

// WithShard makes a source pass on only the items of shard i of n (i
// counted from 0, as a Kubernetes Indexed Job counts its pods), so that n
// processes given the same input split it with no overlap and no gap. An
// item's shard is a stable hash of its identity (Request.Item, see
// ItemOf), not of its line number: an item stays on its shard when lines
// are added to or removed from the input, and a list of a million specs
// that POST to one URL with different bodies spreads over every shard.
// Requests keep their position in the whole input as Seq.
//
// The hash is jump consistent hashing of the identity, the same on every
// machine and in every version: growing n to n+1 moves only the items
// that the new shard takes, 1/(n+1) of them. Blank and comment lines are
// not items, and belong to no shard; every overlong line (see MaxLine)
// has one identity, and so one shard.
//
// Panics unless 0 ≤ i < n.
func WithShard(i, n int) Option {
	if n < 1 || i < 0 || i >= n {
		panic(fmt.Sprintf("stages.WithShard: %d/%d is not a shard: i must be from 0 to n-1", i, n))
	}
	return set(optShard, func(s *settings) { s.shard = shard{i: i, n: n} })
}

// A shard is the part of the input a source passes on; the zero shard is
// the whole input.
type shard struct{ i, n int }

// has reports whether the item with identity item is in the shard.
func (sh shard) has(item string) bool {
	return sh.n <= 1 || jumpHash(itemKey(item), sh.n) == sh.i
}

// jumpHash maps key to one of n buckets such that going from n to n+1
// buckets moves only the keys the new bucket takes (Lamping and Veach,
// "A Fast, Minimal Memory, Consistent Hash Algorithm", 2014). It needs no
// table, and its cost, about ln n steps, is nothing beside a request.
func jumpHash(key uint64, n int) int {
	b, j := int64(-1), int64(0)
	for j < int64(n) {
		b = j
		key = key*2862933555777941757 + 1
		// The conversions round each step to float64, so that no
		// platform fuses them differently: the shard of an item must be
		// the same everywhere.
		j = int64(float64(b+1) * float64(float64(1<<31)/float64((key>>33)+1)))
	}
	return int(b)
}
