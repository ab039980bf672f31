package consumer

import (
	"context"
	"errors"

	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/mapping"
)

// Mapping rewrites a message into the order event the Mapper reads
// (implemented by *mapping.Program). It must be safe for concurrent use. It
// returns mapping.ErrNothing when the message holds no event (skipped), an
// error wrapping ctx's once ctx is done (the event is left for redelivery),
// and any other error for a message it cannot rewrite (an invalid event,
// dead-lettered with that message and no field).
type Mapping interface {
	Apply(ctx context.Context, in mapping.Input) ([]byte, error)
}

// mapEvent fills ev's result — through Config.Mapping first when one is
// set — and returns false only when ctx ended before ev was judged. The
// rewritten event is mapped without the message's headers: the program's
// output is the whole event (it reads headers through $headers).
func (c *Consumer) mapEvent(ctx context.Context, p *partition, ev *event) bool {
	headers := mapperHeaders(ev.msg.Headers)
	if c.cfg.Mapping == nil {
		ev.result, ev.mapErr = c.mapper.Map(ev.msg.Value, headers)
		return true
	}
	value, err := c.cfg.Mapping.Apply(ctx, mapping.Input{
		Value:     ev.msg.Value,
		Key:       ev.msg.Key,
		Headers:   headers,
		Topic:     p.topic,
		Partition: p.id,
		Offset:    ev.msg.Offset,
		Timestamp: ev.msg.Time,
	})
	switch {
	case errors.Is(err, mapping.ErrNothing):
		ev.result = mapper.Result{Skipped: true, SkipReason: mapping.ErrNothing.Error()}
	case err != nil && ctx.Err() != nil:
		return false
	case err != nil:
		ev.mapErr = err
	default:
		ev.mapped = true
		ev.result, ev.mapErr = c.mapper.Map(value, nil)
	}
	return true
}
