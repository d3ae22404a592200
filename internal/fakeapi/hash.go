package fakeapi

// The hashes here must give the same answer in every process, which rules out
// hash/maphash. FNV-1a is stable and cheap; splitmix64 spreads its output so
// that low bits are as good as high ones when picking from small tables.

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashKey mixes the seed into the hash of s, so different seeds give unrelated
// streams for the same path or name.
func hashKey(seed uint64, s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < 8; i++ {
		h ^= (seed >> (8 * i)) & 0xff
		h *= fnvPrime
	}
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return mix(h)
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// rng is splitmix64: one add and a finaliser per draw, no allocation, and a
// stream fully determined by its starting value.
type rng uint64

func (r *rng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	return mix(uint64(*r))
}

// intn returns a value in [0, n); n must be positive. The modulo bias is far
// below anything a fake API could notice.
func (r *rng) intn(n int) int {
	return int(r.next() % uint64(n))
}

// float returns a value in [0, 1).
func (r *rng) float() float64 {
	return float64(r.next()>>11) / (1 << 53)
}
