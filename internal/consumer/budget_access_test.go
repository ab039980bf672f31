package consumer

// What the tests read of the byte budget and a partition reader.

// inUse returns the bytes held, pending and ahead.
func (b *byteBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pending + b.ahead
}

// readAhead returns the read-ahead bytes held.
func (b *byteBudget) readAhead() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ahead
}

// waiting returns how many grow and reserve calls are waiting.
func (b *byteBudget) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiters
}

// readAhead returns the bytes pr fetched and has not handed over.
func (pr *partitionReader) readAhead() int64 {
	return pr.ahead.Load()
}
