package main

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/rs/zerolog"

	"github.com/ordersync/ordersync/internal/config"
	"github.com/ordersync/ordersync/internal/dlq"
)

// recheckDLQ repeats the start-up check of the dead-letter topic (ensureDLQ),
// with backoff, until it can be made or ctx is done. A compacted topic stops
// the worker: stop is called with the error, which run reports as the bad
// ORDERSYNC_DLQ_TOPIC.
func recheckDLQ(ctx context.Context, stop context.CancelCauseFunc, cfg *config.Config, log zerolog.Logger) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.MaxElapsedTime = time.Second, time.Minute, 0
	t := time.NewTimer(bo.NextBackOff())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		checked, err := ensureDLQ(ctx, cfg, log)
		if errors.Is(err, dlq.ErrCompacted) {
			log.Error().Err(err).Str("dlq_topic", cfg.DLQTopic).Msg("the dead-letter topic would lose dead letters; stopping")
			stop(err)
			return
		}
		if checked {
			log.Info().Str("dlq_topic", cfg.DLQTopic).Msg("dead-letter topic checked")
			return
		}
		t.Reset(bo.NextBackOff())
	}
}
