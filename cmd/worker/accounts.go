package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/ordersync/ordersync/internal/config"
	"github.com/ordersync/ordersync/internal/consumer"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/merchants"
	"github.com/ordersync/ordersync/internal/metrics"
)

// accountLog records the merchant router's changes as metrics and as one
// log line per change of an account's pause.
type accountLog struct {
	*metrics.Metrics
	*metrics.Accounts
	log    zerolog.Logger
	paused *sync.Map // account name → struct{} while paused
}

func newAccountLog(m *metrics.Metrics, log zerolog.Logger) accountLog {
	return accountLog{Metrics: m, Accounts: m.Accounts(), log: log, paused: &sync.Map{}}
}

// AccountPaused implements merchants.Observer.
func (a accountLog) AccountPaused(account string, paused bool, reason string) {
	a.Accounts.AccountPaused(account, paused, reason)
	if paused {
		a.paused.Store(account, struct{}{})
		a.log.Warn().Str("account", account).Str("reason", reason).
			Msg("uploads of the merchant account paused; probing the API until it answers (other accounts go on)")
		return
	}
	if _, was := a.paused.LoadAndDelete(account); !was {
		return // a new account starts unpaused
	}
	a.log.Info().Str("account", account).Msg("uploads of the merchant account resumed")
}

// Paused implements merchants.Observer: every account paused, or no longer.
func (a accountLog) Paused(paused bool, reason string) {
	a.Metrics.Paused(paused, reason)
	if paused {
		a.log.Warn().Str("reason", reason).Msg("uploads paused; probing the API until it answers")
		return
	}
	a.log.Info().Msg("uploads resumed")
}

var _ merchants.Observer = accountLog{}

// eventUploader is the consumer's uploader of a mapped event: its
// account's, behind its sub-merchant's hold.
func eventUploader(r *merchants.Router, res mapper.Result) consumer.Uploader {
	if up := r.Uploader(res); up != nil {
		return up
	}
	return nil
}

// watchRegistry reloads ORDERSYNC_MERCHANTS_FILE on SIGHUP and on change
// until ctx ends or the returned stop is called; stop waits for it. Without
// a registry file SIGHUP releases every held sub-merchant (README "Serving
// many restaurants"), the reload of a single-account deployment.
func watchRegistry(ctx context.Context, cfg *config.Config, r *merchants.Router) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if cfg.MerchantsFile == "" {
		wg.Go(func() { r.ReleaseOnSignal(ctx, hup) })
	} else {
		wg.Go(func() { r.Watch(ctx, cfg.MerchantsFile, hup, merchants.WatchInterval) })
	}
	return func() {
		cancel()
		wg.Wait()
		signal.Stop(hup)
	}
}
