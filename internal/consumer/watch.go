package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// watchPartitions ends the generation — the group then rebalances and the
// new partitions are assigned — once the source topics hold a different
// number of partitions than when the generation started: partitions added
// to a topic, or a topic created after the worker started. Without it
// kafka-go notices new partitions only at the next rebalance, and its own
// watcher (WatchPartitionChanges) ends every generation at once while a
// topic is missing, a rejoin storm. A missing topic counts 0 partitions; a
// failed read is tried again at the next tick. It also ends the generation
// when a partition's fetch position is past the partition's end (the topic
// was recreated or truncated under a reader that keeps waiting there); the
// next generation restarts it (see checkStart).
func (c *Consumer) watchPartitions(ctx context.Context, gen int32, parts []*partition) {
	warned := map[string]bool{} // missing topics already logged in this generation
	count := func() (int, error) {
		n, missing, err := c.partitionCount(ctx)
		for _, t := range missing {
			if !warned[t] {
				warned[t] = true
				c.log.Warn().Str("topic", t).Msg("source topic does not exist; its events are consumed once it is created")
			}
		}
		return n, err
	}
	base, err := count()
	if err != nil {
		base = -1 // unknown: the first successful read sets it
	}
	t := time.NewTicker(c.cfg.PartitionWatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if p := c.pastEndPartition(ctx, parts); p != nil {
			p.log.Warn().Int32("generation", gen).Int64("position", p.pos.Load()).
				Msg("fetch position is past the partition's end (topic recreated or truncated); rebalancing to restart it")
			return
		}
		n, err := count()
		switch {
		case err != nil:
			c.log.Debug().Err(err).Msg("reading the source topics' partitions failed; trying again")
		case base < 0:
			base = n
		case n != base:
			c.log.Info().Int32("generation", gen).Int("partitions_before", base).Int("partitions_now", n).
				Msg("source topics' partitions changed; rebalancing to assign them")
			return
		}
	}
}

// partitionCount returns the number of partitions of the source topics and
// the topics that do not exist (they count 0).
func (c *Consumer) partitionCount(ctx context.Context) (n int, missing []string, err error) {
	md, err := c.client.Metadata(ctx, &kafka.MetadataRequest{Topics: c.cfg.Topics})
	if err != nil {
		return 0, nil, fmt.Errorf("metadata of %v: %w", c.cfg.Topics, err)
	}
	for _, t := range md.Topics {
		switch {
		case errors.Is(t.Error, kafka.UnknownTopicOrPartition):
			missing = append(missing, t.Name)
		case t.Error != nil:
			return 0, nil, fmt.Errorf("metadata of %s: %w", t.Name, t.Error)
		default:
			n += len(t.Partitions)
		}
	}
	return n, missing, nil
}

// pastEndPartition returns a partition of parts whose fetch position is past
// its end offset, or nil (also when the offsets cannot be read).
func (c *Consumer) pastEndPartition(ctx context.Context, parts []*partition) *partition {
	for _, p := range parts {
		if p.pos.Load() < 0 {
			continue
		}
		_, end, err := c.partitionOffsets(ctx, p.topic, p.id)
		if err == nil && p.pastEnd(end) {
			return p
		}
	}
	return nil
}
