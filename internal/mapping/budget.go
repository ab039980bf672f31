package mapping

import (
	"context"
	"errors"
	"time"
)

// Errors of a run stopped by its budget.
var (
	errSteps    = errors.New("step limit exceeded")
	errDeadline = errors.New("time limit exceeded")
)

// closed is a channel that is always ready.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// checkEvery is how many steps pass between looks at the clock and at the
// parent context: gojq asks Done before every operation, and a nil channel
// (never ready) costs it nothing, where a real one costs a channel receive.
const checkEvery = 256

// budget is the context one run sees. gojq asks Done once before each
// operation; Done is ready (and Err says why) once the run has taken more
// than limit steps, passed its deadline, or its parent is done. It is used
// by the one goroutine that runs the program.
type budget struct {
	context.Context
	steps, limit int
	deadline     time.Time
	err          error
}

func (b *budget) Done() <-chan struct{} {
	if b.err != nil {
		return closed
	}
	b.steps++
	switch {
	case b.steps > b.limit:
		b.err = errSteps
	case b.steps%checkEvery != 0:
		return nil
	case b.Context.Err() != nil:
		b.err = b.Context.Err()
	case !time.Now().Before(b.deadline):
		b.err = errDeadline
	default:
		return nil
	}
	return closed
}

func (b *budget) Err() error { return b.err }
