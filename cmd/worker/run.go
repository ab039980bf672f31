package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ordersync/ordersync/internal/buildcrypto"
	"github.com/ordersync/ordersync/internal/config"
	"github.com/ordersync/ordersync/internal/consumer"
	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/health"
	"github.com/ordersync/ordersync/internal/ledger"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/mapping"
	"github.com/ordersync/ordersync/internal/merchants"
	"github.com/ordersync/ordersync/internal/metrics"
	"github.com/ordersync/ordersync/internal/uploader"
)

// httpShutdownTimeout bounds the stop of the /metrics server after the consumer returned.
const httpShutdownTimeout = 2 * time.Second

func cmdRun(ctx context.Context, stop func(), args []string, stderr io.Writer) error {
	s := newSettings("run", stderr)
	cfg, warnings, err := s.load(args, config.NeedKafka|config.NeedTopics|config.NeedWechat)
	if err == nil {
		err = s.noArgs()
	}
	if err != nil {
		return err
	}
	if cfg.MerchantsFile == "" {
		// The single-account payload defaults, checked one by one.
		if _, err := newMapper(cfg); err != nil {
			return usageError(programName, err)
		}
	}
	prog, err := loadMapping(cfg)
	if err != nil {
		return err
	}
	if err := checkTracing(); err != nil {
		return usageError(programName, fmt.Errorf("invalid setting %w", err))
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return &config.Error{Setting: cfg.Settings.HTTPAddr.Label(), Reason: fmt.Sprintf("cannot listen on %s: %v", cfg.HTTPAddr, unwrapAll(err))}
	}
	log := newLogger(cfg, stderr)
	for _, w := range warnings {
		log.Warn().Msg(w)
	}
	if err := runWorker(ctx, stop, cfg, prog, ln, log); err != nil {
		for _, refused := range []struct {
			err     error
			setting string
		}{
			{dlq.ErrCompacted, cfg.Settings.DLQTopic.Label()},
			{consumer.ErrAuthentication, cfg.Settings.KafkaUsername.Label() + " or " + cfg.Settings.KafkaPassword.Label()},
			{consumer.ErrSessionTimeout, cfg.Settings.SessionTimeout.Label()},
			{ledger.ErrNotCompacted, cfg.Settings.LedgerTopic.Label()},
		} {
			if errors.Is(err, refused.err) {
				return &config.Error{Setting: refused.setting, Reason: err.Error()}
			}
		}
		log.Error().Err(err).Msg("worker failed")
		return status(exitFailed)
	}
	return nil
}

// runWorker wires the merchant router (mapper and one uploader per
// account) and the consumer, serves the operational endpoints on ln, and
// runs until ctx is done and the consumer has drained.
func runWorker(ctx context.Context, stop func(), cfg *config.Config, prog *mapping.Program, ln net.Listener, log zerolog.Logger) error {
	// After the first signal a second one ends the process at once, whatever
	// the worker is waiting on.
	defer context.AfterFunc(ctx, stop)()
	m := metrics.New(buildVersion())
	// The endpoints answer from here: while the topics are checked /readyz
	// says starting, then the worker's checks take over.
	checking := "checking the dead-letter topic"
	if cfg.Ledger {
		checking = "checking the ledger and dead-letter topics"
	}
	endpoints := newHandlerSwitch(health.Starting(checking, m.Registry()))
	srv := &http.Server{Handler: endpoints}
	limitHTTP(srv)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			_ = srv.Close()
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn().Err(err).Msg("metrics server stopped")
		}
	}()
	router, err := merchants.NewRouter(cfg.Registry, merchants.RouterConfig{
		Uploader: uploader.Config{
			BaseURL:     cfg.BaseURL,
			MaxInFlight: cfg.MaxInFlight,
			Retry: uploader.RetryPolicy{
				InitialInterval: cfg.RetryInitialInterval,
				MaxInterval:     cfg.RetryMaxInterval,
				MaxElapsed:      cfg.RetryMaxElapsed,
			},
			RequestTimeout: cfg.RequestTimeout,
		},
		SkipTypes: cfg.SkipTypes,
		Hold:      cfg.MerchantHold,
		Observer:  newAccountLog(m, log),
		Logger:    log.With().Str("component", "merchants").Logger(),
	})
	if err != nil {
		return fmt.Errorf("build uploaders: %w", err)
	}
	defer router.Close()
	tracer, stopTracing, err := startTracing(ctx, log)
	if err != nil {
		return fmt.Errorf("start tracing: %w", err)
	}
	defer stopTracing()
	// The ledger and its guard; off (nil) with ORDERSYNC_LEDGER=off.
	var led *ledger.Ledger
	var consLedger consumer.Ledger
	var healthLedger health.Ledger
	if cfg.Ledger {
		if led, err = startLedger(ctx, cfg, m, log); err != nil {
			return err
		}
		defer func() { _ = led.Close() }()
		consLedger, healthLedger = led, led
	}
	kafkaTransport := cfg.Kafka.Transport() // closed by deadLetters.Close
	deadLetters, err := dlq.NewWriter(dlq.WriterConfig{Brokers: cfg.Brokers, Topic: cfg.DLQTopic, Transport: kafkaTransport})
	if err != nil {
		return fmt.Errorf("build dead-letter writer: %w", err)
	}
	defer func() {
		if err := deadLetters.Close(); err != nil {
			log.Warn().Err(err).Msg("closing dead-letter writer")
		}
	}()
	cons, err := consumer.New(consumer.Config{
		Brokers:          cfg.Brokers,
		Topics:           cfg.Topics,
		GroupID:          cfg.GroupID,
		DLQTopic:         cfg.DLQTopic,
		MaxInFlight:      cfg.MaxInFlight,
		MaxPendingBytes:  cfg.MaxPendingBytes,
		SessionTimeout:   cfg.SessionTimeout,
		RebalanceTimeout: cfg.RebalanceTimeout,
		ShutdownTimeout:  cfg.ShutdownTimeout,
		Dialer:           cfg.Kafka.Dialer(),
		Transport:        kafkaTransport,
		KgoOpts:          cfg.Kafka.KgoOpts(),
		DeadLetters:      deadLetters,
		Logger:           log,
		Observer:         m,
		Mapping:          consumerMapping(prog),
		Tracer:           tracer,
		Ledger:           consLedger,
		Route:            func(res mapper.Result) consumer.Uploader { return eventUploader(router, res) },
	}, router, nil)
	if err != nil {
		return fmt.Errorf("build consumer: %w", err)
	}
	m.OldestInFlight(cons.OldestInFlight)
	m.Partitions(cons.PartitionStates)
	m.GroupJoined(cons.Joined)

	log.Info().
		Str("version", buildVersion()).
		Str("crypto", buildcrypto.Name()).
		Strs("topics", cfg.Topics).
		Str("group_id", cfg.GroupID).
		Str("dlq_topic", cfg.DLQTopic).
		Strs("accounts", cfg.Registry.Names()).
		Bool("ledger", cfg.Ledger).
		Str("ledger_topic", cfg.LedgerTopic).
		Int("max_in_flight", cfg.MaxInFlight).
		Str("http_addr", ln.Addr().String()).
		Msg("started")

	checked, err := ensureDLQ(ctx, cfg, log)
	if err != nil {
		return err
	}
	endpoints.set(health.Handler(health.Checks{
		Consumer:       cons,
		Uploader:       router,
		StallAfter:     stallAfter(cfg),
		Group:          cons,
		NotJoinedAfter: notJoinedAfter(cfg),
		Ledger:         healthLedger,
	}, m.Registry()))
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	var recheck sync.WaitGroup
	if !checked {
		recheck.Go(func() { recheckDLQ(runCtx, stopRun, cfg, log) })
	}
	stopWatch := watchRegistry(ctx, cfg, router)
	runErr := cons.Run(runCtx)
	stopWatch()
	stopRun(nil)
	recheck.Wait()
	if cause := context.Cause(runCtx); errors.Is(cause, dlq.ErrCompacted) && runErr == nil {
		runErr = cause
	}

	if errors.Is(runErr, dlq.ErrCompacted) || errors.Is(runErr, consumer.ErrAuthentication) || errors.Is(runErr, consumer.ErrSessionTimeout) {
		return runErr
	}
	if runErr != nil {
		return fmt.Errorf("consume: %w", runErr)
	}
	log.Info().Msg("stopped")
	return nil
}

// ensureDLQ creates the dead-letter topic like the first source topic when
// it does not exist, and returns an error wrapping dlq.ErrCompacted when it
// compacts by key, which would lose dead letters. checked is false when the
// check could not be made (no broker yet, no permission): it is only
// logged, and retried in the background (recheckDLQ); dead-letter writes
// retry until the topic can be written, and nothing is committed past an
// event waiting for one.
func ensureDLQ(ctx context.Context, cfg *config.Config, log zerolog.Logger) (checked bool, err error) {
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
		return true, err
	case err != nil:
		log.Warn().Err(err).Str("dlq_topic", cfg.DLQTopic).
			Msg("cannot check the dead-letter topic; checking again in the background, dead-letter writes retry until it exists")
		return false, nil
	case created:
		log.Info().Str("dlq_topic", cfg.DLQTopic).Str("like", cfg.Topics[0]).Msg("created the dead-letter topic")
	}
	return true, nil
}

// stallAfter is how long pending work may go without a commit before /healthz
// fails: longer than one event may legitimately hold back its partition's
// commits while it spends its retry budget.
func stallAfter(cfg *config.Config) time.Duration {
	return max(5*time.Minute, cfg.RetryMaxElapsed+2*cfg.RetryMaxInterval+cfg.RequestTimeout)
}

// notJoinedAfter is how long the consumer may be out of its group before
// /healthz fails: longer than a join through a rebalance takes.
func notJoinedAfter(cfg *config.Config) time.Duration {
	return max(2*time.Minute, 4*(cfg.SessionTimeout+cfg.RebalanceTimeout))
}

func newLogger(cfg *config.Config, w io.Writer) zerolog.Logger {
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: logTimeFormat}
	}
	return zerolog.New(w).Level(cfg.LogLevel).Hook(msTimestamp{}).With().Str("service", "ordersync").Logger()
}

// logTimeFormat is RFC 3339 with milliseconds, the resolution a log index sorts by.
const logTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// msTimestamp adds the "time" field in logTimeFormat to every line. A hook rather than
// zerolog's global TimeFieldFormat, which every logger in the process reads.
type msTimestamp struct{}

func (msTimestamp) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str(zerolog.TimestampFieldName, time.Now().Format(logTimeFormat))
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
