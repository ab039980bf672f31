package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/uploader"
)

// handle takes ev to a finished state — delivered, skipped or durably
// dead-lettered — and returns true, or returns false when ctx was
// cancelled: ev is then left unfinished and will be redelivered.
func (c *Consumer) handle(ctx context.Context, p *partition, ev *event) bool {
	if ev.mapErr != nil {
		return c.deadLetter(ctx, p, ev, invalidFailure(ev.mapErr))
	}
	if ev.result.Skipped {
		c.obs.EventDone(OutcomeSkipped, SkipListed)
		c.eventLog(p, ev, zerolog.DebugLevel).Str("reason", ev.result.SkipReason).Msg("event skipped")
		return true
	}
	if reason := c.guard(ev); reason != "" {
		c.obs.EventDone(OutcomeSkipped, reason)
		c.eventLog(p, ev, zerolog.DebugLevel).Str("reason", reason).Str("status", ev.result.Status).Msg("event skipped by the ledger")
		return true
	}
	earlier := 0 // attempts of uploads that ended Paused
	for {
		c.eventLog(p, ev, zerolog.DebugLevel).Msg("uploading")
		up := c.uploaderOf(ev)
		if up == nil {
			return c.deadLetter(ctx, p, ev, noAccountFailure())
		}
		start := time.Now()
		out, slot, ok := c.upload(uploader.WithAttemptFunc(ctx, ev.trace.Attempted), up, ev.result.Body)
		if !ok {
			return false
		}
		if out.Class != uploader.Delivered {
			slot.release()
		}
		ev.trace.Uploaded(start, out)
		out.Attempts += earlier
		if out.Class == uploader.Paused {
			// The event's account is paused: wait without an in-flight slot.
			earlier = out.Attempts
			if !waitProbe(ctx, up) {
				return false
			}
			continue
		}
		switch out.Class {
		case uploader.Delivered:
			recorded := c.recordDelivery(ctx, p, ev, out)
			slot.release() // the slot is held until the ledger has the delivery
			if !recorded {
				return false
			}
			c.obs.EventDone(OutcomeDelivered, "")
			if !ev.msg.Time.IsZero() {
				c.obs.EndToEnd(time.Since(ev.msg.Time))
			}
			c.eventLog(p, ev, zerolog.DebugLevel).Int("attempts", out.Attempts).Msg("delivered")
			return true
		case uploader.Rejected:
			return c.deadLetter(ctx, p, ev, heldFailure(uploadFailure(dlq.ClassRejected, out), out))
		case uploader.RetriesExhausted:
			return c.deadLetter(ctx, p, ev, uploadFailure(dlq.ClassRetriesExhausted, out))
		}
		// Cancelled.
		if ctx.Err() != nil {
			return false
		}
		// The uploader promises Cancelled only once ctx is done; never
		// drop an event on a broken promise: try again shortly.
		c.eventLog(p, ev, zerolog.ErrorLevel).Msg("upload cancelled with a live context; retrying")
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
	}
}

func invalidFailure(err error) dlq.Failure {
	f := dlq.Failure{Class: dlq.ClassInvalidEvent, Message: err.Error()}
	var ie *mapper.InvalidEventError
	if errors.As(err, &ie) && len(ie.Violations) > 0 {
		f.Field = ie.Violations[0].Field
	}
	return f
}

func uploadFailure(class string, out uploader.Outcome) dlq.Failure {
	f := dlq.Failure{
		Class:      class,
		Message:    out.Message,
		Field:      out.Field,
		Code:       out.Code,
		HTTPStatus: out.HTTPStatus,
		RequestID:  out.RequestID,
		Attempts:   out.Attempts,
	}
	if out.Err != nil {
		f.Message = out.Err.Error()
	}
	if f.Message == "" {
		f.Message = class
	}
	return f
}

// deadLetter writes ev to the dead-letter topic, retrying with backoff until
// the write is acknowledged (true) or ctx is cancelled (false: not finished,
// nothing committed past it). A record the topic refuses as too large is
// written without the original (dlq.Record.WithoutOriginal) rather than
// holding back every later event of the partition for ever.
func (c *Consumer) deadLetter(ctx context.Context, p *partition, ev *event, f dlq.Failure) bool {
	f.SubMchID = ev.result.SubMchID
	if ev.result.Account != nil {
		f.Account = ev.result.Account.Name
	}
	rec := dlq.Record{
		Topic:     ev.msg.Topic,
		Partition: ev.msg.Partition,
		Offset:    ev.msg.Offset,
		Timestamp: ev.msg.Time,
		Key:       ev.msg.Key,
		Value:     ev.msg.Value,
		Headers:   ev.msg.Headers,
		Failure:   f,
	}
	rec.Failure.Mapped = ev.mapped
	if rec.Topic == "" {
		rec.Topic, rec.Partition = p.topic, p.id
	}
	write := func() error {
		for {
			rec.FailedAt = time.Now()
			err := c.dlq.Write(ctx, rec)
			ev.trace.DeadLetterWritten(rec.FailedAt, f.Class, err)
			if err == nil || !errors.Is(err, dlq.ErrTooLarge) || rec.Omitted > 0 || ctx.Err() != nil {
				return err
			}
			rec = rec.WithoutOriginal()
			c.eventLog(p, ev, zerolog.WarnLevel).Err(err).Int("omitted_bytes", rec.Omitted).
				Msg("dead-letter topic refused the record whole; writing it without the original value and headers, which stay at the source offset until retention")
		}
	}
	if !retryUntilDone(ctx, deadLetterBackoff, write, func(err error, attempt int) {
		c.dlqFailed(ctx, err)
		c.eventLog(p, ev, zerolog.DebugLevel).Err(err).Int("attempt", attempt).
			Msg("dead-letter write failed; retrying, nothing committed past this event")
	}) {
		return false
	}
	c.dlqWritten()
	c.obs.EventDone(OutcomeDeadLettered, f.Class)
	c.eventLog(p, ev, zerolog.WarnLevel).Str("class", f.Class).Str("code", f.Code).Str("field", f.Field).
		Int("http_status", f.HTTPStatus).Int("attempts", f.Attempts).Str("reason", dlq.OneLine(f.Message)).
		Msg("event dead-lettered")
	return true
}

// eventLog starts a log line at level naming the event — never its value.
// Below the logger's level it returns nil (a line that writes nothing) and
// allocates nothing.
func (c *Consumer) eventLog(p *partition, ev *event, level zerolog.Level) *zerolog.Event {
	e := p.log.WithLevel(level)
	if e == nil {
		return nil
	}
	e = e.Int64("offset", ev.msg.Offset)
	eventID, orderNo := ev.result.EventID, ev.result.OrderNo
	if ev.mapErr != nil {
		var ie *mapper.InvalidEventError
		if errors.As(ev.mapErr, &ie) {
			eventID, orderNo = ie.EventID, ie.OrderNo
		}
	}
	if eventID != "" {
		e = e.Str("event_id", eventID)
	}
	if orderNo != "" {
		e = e.Str("order_no", orderNo)
	}
	if ev.result.SubMchID != "" {
		e = e.Str("sub_mchid", ev.result.SubMchID)
	}
	if ev.result.Account != nil {
		e = e.Str("account", ev.result.Account.Name)
	}
	return e
}
