package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/ordersync/ordersync/internal/config"
	"github.com/ordersync/ordersync/internal/consumer"
	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/health"
	"github.com/ordersync/ordersync/internal/ledger"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/metrics"
	"github.com/ordersync/ordersync/internal/uploader"
)

// httpShutdownTimeout bounds the stop of the /metrics server after the consumer returned.
const httpShutdownTimeout = 2 * time.Second

func cmdRun(ctx context.Context, stop func(), args []string, stderr io.Writer) int {
	s := newSettings("run", stderr)
	cfg, warnings, code, ok := s.load(args, config.NeedKafka|config.NeedTopics|config.NeedWechat, stderr)
	if !ok {
		return code
	}
	if !s.noArgs(stderr) {
		return exitUsage
	}
	mp, err := newMapper(cfg)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", programName, err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: invalid setting ORDERSYNC_HTTP_ADDR (--http-addr): cannot listen on %s: %v\n", programName, cfg.HTTPAddr, unwrapAll(err))
		return exitUsage
	}
	log := newLogger(cfg, stderr)
	for _, w := range warnings {
		log.Warn().Msg(w)
	}
	if err := runWorker(ctx, stop, cfg, mp, ln, log); err != nil {
		if errors.Is(err, dlq.ErrCompacted) {
			_, _ = fmt.Fprintf(stderr, "%s: invalid setting ORDERSYNC_DLQ_TOPIC (--dlq-topic): %v\n", programName, err)
			return exitUsage
		}
		if errors.Is(err, ledger.ErrNotCompacted) {
			_, _ = fmt.Fprintf(stderr, "%s: invalid setting ORDERSYNC_LEDGER_TOPIC (--ledger-topic): %v\n", programName, err)
			return exitUsage
		}
		log.Error().Err(err).Msg("worker failed")
		return exitFailed
	}
	return exitOK
}

// runWorker wires the mapper, uploader and consumer, serves the operational
// endpoints on ln, and runs until ctx is done and the consumer has drained.
func runWorker(ctx context.Context, stop func(), cfg *config.Config, mp *mapper.Mapper, ln net.Listener, log zerolog.Logger) error {
	m := metrics.New(buildVersion())
	up, err := uploader.New(uploader.Config{
		BaseURL:              cfg.BaseURL,
		MchID:                cfg.MchID,
		MchCertSerial:        cfg.MchCertSerial,
		MchPrivateKey:        cfg.MchPrivateKey,
		WechatPayPublicKey:   cfg.WechatPayPublicKey,
		WechatPayPublicKeyID: cfg.WechatPayPublicKeyID,
		WechatPayCert:        cfg.WechatPayCert,
		MaxInFlight:          cfg.MaxInFlight,
		RateLimit:            cfg.RateLimit,
		Retry: uploader.RetryPolicy{
			InitialInterval: cfg.RetryInitialInterval,
			MaxInterval:     cfg.RetryMaxInterval,
			MaxElapsed:      cfg.RetryMaxElapsed,
		},
		RequestTimeout: cfg.RequestTimeout,
		Observer:       pauseLog{Metrics: m, log: log},
	})
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("build uploader: %w", err)
	}
	// The ledger and its guard; off (nil) with ORDERSYNC_LEDGER=off.
	var led *ledger.Ledger
	var consLedger consumer.Ledger
	var healthLedger health.Ledger
	if cfg.Ledger {
		if led, err = startLedger(ctx, cfg, m, log); err != nil {
			_ = ln.Close()
			return err
		}
		defer func() { _ = led.Close() }()
		consLedger, healthLedger = led, led
	}
	cons, err := consumer.New(consumer.Config{
		Brokers:          cfg.Brokers,
		Topics:           cfg.Topics,
		GroupID:          cfg.GroupID,
		DLQTopic:         cfg.DLQTopic,
		MaxInFlight:      cfg.MaxInFlight,
		SessionTimeout:   cfg.SessionTimeout,
		RebalanceTimeout: cfg.RebalanceTimeout,
		ShutdownTimeout:  cfg.ShutdownTimeout,
		Dialer:           cfg.Kafka.Dialer(),
		Transport:        cfg.Kafka.Transport(),
		Logger:           log,
		Observer:         m,
		Ledger:           consLedger,
	}, mp, up)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("build consumer: %w", err)
	}
	m.OldestInFlight(cons.OldestInFlight)

	srv := &http.Server{
		Handler: health.Handler(health.Checks{
			Consumer:   cons,
			Uploader:   up,
			Ledger:     healthLedger,
			StallAfter: stallAfter(cfg),
		}, m.Registry()),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	log.Info().
		Str("version", buildVersion()).
		Strs("topics", cfg.Topics).
		Str("group_id", cfg.GroupID).
		Str("dlq_topic", cfg.DLQTopic).
		Bool("ledger", cfg.Ledger).
		Str("ledger_topic", cfg.LedgerTopic).
		Str("mode", cfg.Mode).
		Int("max_in_flight", cfg.MaxInFlight).
		Str("http_addr", ln.Addr().String()).
		Msg("started")

	if err := ensureDLQ(ctx, cfg, log); err != nil {
		_ = srv.Close()
		<-served
		return err
	}

	// After the first signal a second one ends the process at once.
	go func() { <-ctx.Done(); stop() }()
	runErr := cons.Run(ctx)

	shutdownCtx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn().Err(err).Msg("metrics server stopped")
	}
	if runErr != nil {
		return fmt.Errorf("consume: %w", runErr)
	}
	log.Info().Msg("stopped")
	return nil
}

// ensureDLQ creates the dead-letter topic like the first source topic when
// it does not exist, and returns an error wrapping dlq.ErrCompacted when it
// compacts by key, which would lose dead letters. A failure to check (no
// broker yet, no permission) is only logged: dead-letter writes retry until
// the topic can be written, and nothing is committed past an event waiting
// for one.
func ensureDLQ(ctx context.Context, cfg *config.Config, log zerolog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tr := cfg.Kafka.Transport()
	defer tr.CloseIdleConnections()
	created, err := dlq.EnsureTopic(ctx, cfg.Kafka.Dialer(), tr, cfg.Brokers, cfg.DLQTopic, cfg.Topics[0])
	if err == nil {
		err = dlq.CheckTopic(ctx, tr, cfg.Brokers, cfg.DLQTopic)
	}
	switch {
	case errors.Is(err, dlq.ErrCompacted):
		return err
	case err != nil:
		log.Warn().Err(err).Str("dlq_topic", cfg.DLQTopic).
			Msg("cannot check the dead-letter topic; create it, dead-letter writes retry until it exists")
	case created:
		log.Info().Str("dlq_topic", cfg.DLQTopic).Str("like", cfg.Topics[0]).Msg("created the dead-letter topic")
	}
	return nil
}

// pauseLog records pauses of the uploader as metrics and as one log line per
// change: paused (with the reason) and resumed.
type pauseLog struct {
	*metrics.Metrics
	log zerolog.Logger
}

// Paused implements uploader.Observer.
func (p pauseLog) Paused(paused bool, reason string) {
	p.Metrics.Paused(paused, reason)
	if paused {
		p.log.Warn().Str("reason", reason).Msg("uploads paused; probing the API until it answers")
		return
	}
	p.log.Info().Msg("uploads resumed")
}

// stallAfter is how long pending work may go without a commit before /healthz
// fails: longer than one event may legitimately hold back its partition's
// commits while it spends its retry budget.
func stallAfter(cfg *config.Config) time.Duration {
	return max(5*time.Minute, cfg.RetryMaxElapsed+2*cfg.RetryMaxInterval+cfg.RequestTimeout)
}

func newLogger(cfg *config.Config, w io.Writer) zerolog.Logger {
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	return zerolog.New(w).Level(cfg.LogLevel).With().Timestamp().Str("service", "ordersync").Logger()
}

// unwrapAll returns the innermost error, e.g. "address already in use"
// rather than the whole net.OpError chain.
func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
