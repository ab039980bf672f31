package mapping

import (
	"context"
	"errors"
)

// errSteps is the error of a run that used up its step budget.
var errSteps = errors.New("step limit exceeded")

// closed is a channel that is always ready.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// budget is the context one run sees: done when its parent is, or once the
// program has taken more than limit steps — gojq asks Done once before each
// operation. It is used by the one goroutine that runs the program.
type budget struct {
	context.Context
	steps, limit int
}

func (b *budget) Done() <-chan struct{} {
	b.steps++
	if b.steps > b.limit {
		return closed
	}
	return b.Context.Done()
}

func (b *budget) Err() error {
	if b.steps > b.limit {
		return errSteps
	}
	return b.Context.Err()
}
