package consumer

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/dlq"
)

const (
	// dlqUnwritableAfter is how many dead-letter writes in a row must fail
	// before Ready reports the topic unwritable.
	dlqUnwritableAfter = 5
	// dlqReportInterval spaces the aggregated warn lines about failing
	// dead-letter writes.
	dlqReportInterval = 10 * time.Second
	// dlqCreateInterval spaces the attempts to create a missing
	// dead-letter topic.
	dlqCreateInterval = 10 * time.Second
	// dlqCreateTimeout bounds one attempt to create it.
	dlqCreateTimeout = 10 * time.Second
)

// dlqHealth follows the outcome of dead-letter writes across partitions: it
// aggregates failures into one warn line per dlqReportInterval, tells Ready
// when writes keep failing, and creates the topic when it is missing.
type dlqHealth struct {
	mu         sync.Mutex
	failing    int       // failed writes since the last success
	unreported int       // failed writes not yet in a warn line
	lastReport time.Time // of the last warn line
	lastErr    error
	lastCreate time.Time
	creating   bool
}

// dlqFailed records a failed dead-letter write. A write refused because the
// topic does not exist creates it (at most once per dlqCreateInterval,
// the writer never lets the broker auto-create it with its defaults).
func (c *Consumer) dlqFailed(ctx context.Context, err error) {
	h := &c.dlqHealth
	now := time.Now()
	h.mu.Lock()
	h.failing++
	h.unreported++
	h.lastErr = err
	var report int
	if now.Sub(h.lastReport) >= dlqReportInterval {
		report, h.unreported, h.lastReport = h.unreported, 0, now
	}
	failing := h.failing
	create := errors.Is(err, kafka.UnknownTopicOrPartition) && !h.creating && now.Sub(h.lastCreate) >= dlqCreateInterval
	if create {
		h.creating, h.lastCreate = true, now
	}
	h.mu.Unlock()

	c.obs.DeadLetterWriteFailed()
	if report > 0 {
		c.log.Warn().Err(err).Str("dlq_topic", c.cfg.DLQTopic).Int("failed_writes", report).Int("failing_in_a_row", failing).
			Dur("interval", dlqReportInterval).
			Msg("dead-letter writes failing; retrying, nothing committed past the events waiting for one")
	}
	if create {
		c.createDLQ(ctx)
	}
}

// createDLQ creates the missing dead-letter topic like the first source topic.
func (c *Consumer) createDLQ(ctx context.Context) {
	defer func() {
		c.dlqHealth.mu.Lock()
		c.dlqHealth.creating = false
		c.dlqHealth.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(ctx, dlqCreateTimeout)
	defer cancel()
	created, err := dlq.EnsureTopic(ctx, c.cfg.Dialer, c.cfg.Transport, c.cfg.Brokers, c.cfg.DLQTopic, c.cfg.Topics[0])
	switch {
	case err != nil:
		c.log.Warn().Err(err).Str("dlq_topic", c.cfg.DLQTopic).Msg("cannot create the missing dead-letter topic; trying again later")
	case created:
		c.log.Warn().Str("dlq_topic", c.cfg.DLQTopic).Str("like", c.cfg.Topics[0]).
			Msg("created the missing dead-letter topic (it was deleted, or never created)")
	}
}

// dlqWritten records a successful dead-letter write.
func (c *Consumer) dlqWritten() {
	h := &c.dlqHealth
	h.mu.Lock()
	failing := h.failing
	h.failing, h.unreported, h.lastReport = 0, 0, time.Time{}
	h.mu.Unlock()
	if failing > 0 {
		c.log.Info().Str("dlq_topic", c.cfg.DLQTopic).Int("failed_before", failing).Msg("dead-letter writes succeed again")
	}
}

// dlqProblem returns the short reason the dead-letter topic counts as
// unwritable, or "" (the full error is in the warn lines).
func (c *Consumer) dlqProblem() string {
	h := &c.dlqHealth
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing < dlqUnwritableAfter {
		return ""
	}
	return "dead-letter topic unwritable: " + shortReason(h.lastErr)
}

// shortReason is the innermost error of err: the broker's error code rather
// than the whole chain of addresses and offsets.
func shortReason(err error) string {
	for {
		var kerr kafka.Error
		if errors.As(err, &kerr) {
			return kerr.Title()
		}
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
