package main

import (
	"context"
	"os"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/consumer"
	"github.com/ordersync/ordersync/internal/tracing"
)

// traceShutdownTimeout bounds the export of the spans still queued at exit.
const traceShutdownTimeout = 5 * time.Second

// checkTracing reports an OTEL_* setting this build cannot honour (run exits 2 naming it).
func checkTracing() error {
	_, err := tracing.Enabled(os.Getenv)
	return err
}

// startTracing returns the consumer's tracer — nil, tracing off, unless the OTEL_* variables name an
// OTLP endpoint — and the func that flushes and stops it.
func startTracing(ctx context.Context, log zerolog.Logger) (consumer.Tracer, func(), error) {
	if on, err := tracing.Enabled(os.Getenv); err != nil || !on {
		return nil, func() {}, err
	}
	p, err := tracing.Start(ctx, buildVersion())
	if err != nil {
		return nil, nil, err
	}
	log.Info().Msg("tracing on: spans exported over OTLP/HTTP as the OTEL_* variables say")
	return eventTracer{p.Tracer()}, func() {
		ctx, cancel := context.WithTimeout(context.Background(), traceShutdownTimeout)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			log.Warn().Err(err).Msg("exporting the last spans failed")
		}
	}, nil
}

// eventTracer adapts *tracing.Tracer to consumer.Tracer.
type eventTracer struct{ t *tracing.Tracer }

func (e eventTracer) StartEvent(m kafka.Message) consumer.EventTrace { return e.t.StartEvent(m) }
