package fakeapi

import "sync"

// attempts counts requests per fail= id. It is the Handler's only lock, and
// only requests that ask for fail= take it.
type attempts struct {
	mu sync.Mutex
	n  map[string]int
}

// next records one more attempt for id and returns how many there have been,
// this one included.
func (a *attempts) next(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = make(map[string]int)
	}
	a.n[id]++
	return a.n[id]
}

func (a *attempts) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.n)
}
