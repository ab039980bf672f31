package consumer

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/ordersync/ordersync/internal/ledger"
	"github.com/ordersync/ordersync/internal/uploader"
)

// Ledger is the delivery ledger (internal/ledger, README "Delivery
// ledger"). It must be safe for concurrent use.
type Ledger interface {
	// Restore loads the delivered states of source partition partition; it
	// is called, and must succeed, before any upload from that partition.
	Restore(ctx context.Context, partition int) (records int, err error)
	// Check returns why ev is not to be uploaded, or "".
	Check(ev ledger.Event) string
	// Write records a delivery of an event of source partition partition
	// and returns nil once it is acknowledged by all replicas; it does not
	// retry.
	Write(ctx context.Context, partition int, r ledger.Record) error
}

// guarded reports whether ev is one the ledger knows how to guard: mapped
// to a body, naming its sub-merchant and order.
func guarded(ev *event) bool {
	return ev.mapErr == nil && !ev.result.Skipped && ev.result.SubMchID != "" && ev.result.OrderNo != ""
}

// guard returns the reason the ledger skips ev, or "" (also when the ledger
// is off).
func (c *Consumer) guard(ev *event) string {
	if c.cfg.Ledger == nil || !guarded(ev) {
		return ""
	}
	return c.cfg.Ledger.Check(ledger.Event{SubMchID: ev.result.SubMchID, OutOrderNo: ev.result.OrderNo,
		Status: ev.result.Status, ActionTime: ev.result.OccurredAt, Body: ev.result.Body})
}

// recordDelivery writes ev's delivery to the ledger, retrying with backoff
// until it is acknowledged (true) or ctx is cancelled (false: ev is left
// unfinished, nothing is committed past it, and it is uploaded again by
// whoever fetches it next — at least once holds).
func (c *Consumer) recordDelivery(ctx context.Context, p *partition, ev *event, out uploader.Outcome) bool {
	if c.cfg.Ledger == nil || !guarded(ev) {
		return true
	}
	amount := ev.result.UserAmount
	account := ledger.DefaultAccount
	if ev.result.Account != nil {
		account = ev.result.Account.Name
	}
	rec := ledger.Record{
		SubMchID: ev.result.SubMchID, OutOrderNo: ev.result.OrderNo, Status: ev.result.Status,
		ActionTime: ev.result.OccurredAt, EventID: ev.result.EventID, BodySHA256: ledger.BodySum(ev.result.Body),
		DeliveredAt: time.Now(), RequestID: out.RequestID, Account: account,
		Source: ledger.Source{Topic: p.topic, Partition: p.id, Offset: ev.msg.Offset},
	}
	if rec.Status == ledger.StatusPaySuccess {
		rec.TransactionID, rec.UserAmount = ev.result.TransactionID, &amount
	}
	write := func() error { return c.cfg.Ledger.Write(ctx, p.id, rec) }
	return retryUntilDone(ctx, ledgerBackoff, write, func(err error, attempt int) {
		c.eventLog(p, ev, zerolog.WarnLevel).Err(err).Int("attempt", attempt).
			Msg("ledger write failed after the upload's 204; retrying, nothing committed past this event")
	})
}

// restore loads p's ledger state, retrying with backoff until it succeeds
// (true) or ctx is done (false): nothing of p is fetched before.
func (c *Consumer) restore(ctx context.Context, p *partition) bool {
	if c.cfg.Ledger == nil {
		return true
	}
	start := time.Now()
	n := 0
	load := func() error {
		var err error
		start = time.Now()
		n, err = c.cfg.Ledger.Restore(ctx, p.id)
		return err
	}
	if !retryUntilDone(ctx, ledgerBackoff, load, func(err error, attempt int) {
		p.log.Warn().Err(err).Int("attempt", attempt).Msg("restoring the ledger state failed; retrying, nothing of this partition is uploaded before")
	}) {
		return false
	}
	p.log.Info().Int("records", n).Dur("took", time.Since(start)).Msg("ledger state restored")
	return true
}
