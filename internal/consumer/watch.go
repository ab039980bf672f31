package consumer

import (
	"context"
	"time"
)

// watchPartitions ends the generation — the group then rebalances and the
// new partitions are assigned — once the source topics hold a different
// number of partitions than when the generation started: partitions added
// to a topic, or a topic created after the worker started. A missing topic
// counts 0 partitions; a failed read is tried again at the next tick. It
// also ends the generation when a partition's fetch position is past the
// partition's end (the topic was recreated or truncated); the next
// generation restarts it (see checkStart). It ends the generation, too,
// when a source topic's id differs from the one last seen (the topic was
// deleted and created again, whatever its offsets): the next generation
// restarts that topic's partitions from the earliest offset.
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
		if topics := c.changedTopicIDs(ctx); len(topics) > 0 {
			c.log.Warn().Int32("generation", gen).Strs("topics", topics).
				Msg("source topic's id changed (deleted and recreated); rebalancing to restart its partitions")
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

// changedTopicIDs returns the source topics whose id changed since last
// recorded, without recording it (the next generation does, see
// recreatedTopics); none when the ids cannot be read.
func (c *Consumer) changedTopicIDs(ctx context.Context) []string {
	ids, err := c.readTopicIDs(ctx)
	if err != nil {
		c.log.Debug().Err(err).Msg("reading the source topics' ids failed; trying again")
		return nil
	}
	return c.topicIDs.changed(ids, false)
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
