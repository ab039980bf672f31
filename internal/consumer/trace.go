package consumer

import (
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/uploader"
)

// Tracer traces events (internal/tracing implements it); Config.Tracer nil
// traces nothing. Calls are synchronous and must be cheap.
type Tracer interface {
	// StartEvent begins the trace of one event as it is fetched; msg's
	// headers may name a parent (W3C traceparent).
	StartEvent(msg kafka.Message) EventTrace
}

// EventTrace records the steps of one event, each with its start time and
// ending when it is reported. It is used by one goroutine at a time.
type EventTrace interface {
	Mapped(start time.Time, res mapper.Result, err error)
	// Attempted is told of each attempt of an upload while it runs (see
	// uploader.WithAttemptFunc), before Uploaded reports the upload.
	Attempted(a uploader.Attempt)
	Uploaded(start time.Time, out uploader.Outcome)
	DeadLetterWritten(start time.Time, class string, err error)
	// End closes the trace: finished is false when the event was left
	// unfinished (shutdown or rebalance) and will be redelivered.
	End(finished bool)
}

type nopTracer struct{}

func (nopTracer) StartEvent(kafka.Message) EventTrace { return nopTrace{} }

type nopTrace struct{}

func (nopTrace) Mapped(time.Time, mapper.Result, error)     {}
func (nopTrace) Attempted(uploader.Attempt)                 {}
func (nopTrace) Uploaded(time.Time, uploader.Outcome)       {}
func (nopTrace) DeadLetterWritten(time.Time, string, error) {}
func (nopTrace) End(bool)                                   {}
