package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/ordersync/ordersync/internal/config"
	"github.com/ordersync/ordersync/internal/ledger"
)

// startLedger creates the ledger topic like the first source topic when it
// does not exist, checks that it compacts (an error wrapping
// ledger.ErrNotCompacted otherwise), and returns the ledger. A failure to
// check (no broker yet) is only logged: restores and writes retry until the
// topic can be used, and nothing is uploaded or committed before.
func startLedger(ctx context.Context, cfg *config.Config, obs ledger.Observer, log zerolog.Logger) (*ledger.Ledger, error) {
	checkCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tr := cfg.Kafka.Transport()
	defer tr.CloseIdleConnections()
	created, err := ledger.EnsureTopic(checkCtx, tr, cfg.Brokers, cfg.LedgerTopic, cfg.Topics[0], cfg.LedgerRetention)
	if err == nil {
		err = ledger.CheckTopic(checkCtx, tr, cfg.Brokers, cfg.LedgerTopic)
	}
	switch {
	case errors.Is(err, ledger.ErrNotCompacted):
		return nil, err
	case err != nil:
		log.Warn().Err(err).Str("ledger_topic", cfg.LedgerTopic).
			Msg("cannot check the ledger topic; create it compacted, restores and ledger writes retry until it exists")
	case created:
		log.Info().Str("ledger_topic", cfg.LedgerTopic).Str("like", cfg.Topics[0]).Msg("created the ledger topic")
	}
	l, err := ledger.New(ledger.Config{Brokers: cfg.Brokers, Topic: cfg.LedgerTopic, Retention: cfg.LedgerRetention,
		Dialer: cfg.Kafka.Dialer(), Transport: cfg.Kafka.Transport(), Observer: obs})
	if err != nil {
		return nil, fmt.Errorf("build ledger: %w", err)
	}
	return l, nil
}
