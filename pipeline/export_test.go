package pipeline

// RememberedKeys returns how many keys b holds, for tests of forgetting.
func RememberedKeys(b *Budget) int { return b.remembered() }
