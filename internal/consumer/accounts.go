package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/merchants"
	"github.com/ordersync/ordersync/internal/uploader"
)

// uploaderOf returns the uploader of a mapped event: Config.Route's choice
// (the event's merchant account), else the Uploader given to New; nil when
// neither serves it.
func (c *Consumer) uploaderOf(ev *event) Uploader {
	if c.cfg.Route != nil {
		if up := c.cfg.Route(ev.result); up != nil {
			return up
		}
	}
	return c.uploader
}

// heldFailure marks the dead letter of a held sub-merchant's event (see
// merchants.ErrHeld): rejected without a call, with its last answer.
func heldFailure(f dlq.Failure, out uploader.Outcome) dlq.Failure {
	f.MerchantHeld = errors.Is(out.Err, merchants.ErrHeld)
	return f
}

func noAccountFailure() dlq.Failure {
	return dlq.Failure{Class: dlq.ClassRejected, Message: "no merchant account uploads this event's sub-merchant"}
}

// prober is an Uploader that may answer uploader.Paused: WaitProbe returns
// when an upload could send again (see uploader.Config.YieldWhilePaused).
type prober interface {
	WaitProbe(ctx context.Context) error
}

// waitProbe waits, holding no in-flight slot, until up could send again;
// false when ctx ended.
func waitProbe(ctx context.Context, up Uploader) bool {
	if pr, ok := up.(prober); ok {
		return pr.WaitProbe(ctx) == nil
	}
	select { // an Uploader that pauses without saying when it resumes
	case <-ctx.Done():
		return false
	case <-time.After(time.Second):
		return true
	}
}
