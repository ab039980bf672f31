package consumer

import (
	"context"
	"time"
)

// gapCheckInterval spaces the offset reads made when fetched offsets skip
// some (compaction leaves gaps on every fetch; retention only at the log start).
const gapCheckInterval = time.Second

// checkStart compares p's start with the partition's offsets before it is
// fetched. A start past the end means the topic was recreated or truncated:
// the partition restarts from its first offset, with everything behind the
// old position forgotten. A start before the first offset means retention
// removed events never processed: they are counted lost (the reader would
// move to the first offset without a word). Both are error lines: events
// were, or may have been, missed. A failed read leaves p's start as it is.
// A partition of a topic recreated since its id was last read
// (p.recreated) restarts from its first offset whatever its start.
func (c *Consumer) checkStart(ctx context.Context, p *partition) {
	if p.recreated {
		c.restartRecreated(ctx, p)
		return
	}
	if p.start < 0 {
		return // nothing committed: the reader starts at the first offset
	}
	first, end, err := c.partitionOffsets(ctx, p.topic, p.id)
	if err != nil {
		p.log.Debug().Err(err).Msg("cannot check the start offset; fetching from it")
		return
	}
	switch {
	case p.start > end:
		p.log.Error().Int64("position", p.start).Int64("end_offset", end).Int64("first_offset", first).
			Msg("position is past the end of the partition (topic recreated or truncated); restarting from the earliest offset")
		c.obs.PartitionReset(p.topic)
		p.start = first
		p.tracker.restart(first)
	case p.start < first:
		c.lostToRetention(p, p.start, first)
		p.start = first
	}
	p.pos.Store(p.start)
}

// restartRecreated restarts p, whose topic was deleted and recreated (its id
// changed), from its first offset, as for a start past the end: the old
// position means nothing in the new topic, even where it is below its end.
// If the first offset cannot be read, the reader finds it.
func (c *Consumer) restartRecreated(ctx context.Context, p *partition) {
	first, end, err := c.partitionOffsets(ctx, p.topic, p.id)
	if err != nil {
		p.log.Debug().Err(err).Msg("cannot read the recreated partition's first offset; the reader finds it")
		first, end = -1, -1
	}
	p.log.Error().Int64("position", p.start).Int64("end_offset", end).Int64("first_offset", first).
		Msg("topic recreated (new topic id); restarting from the earliest offset")
	c.obs.PartitionReset(p.topic)
	p.start = first
	p.tracker.restart(first)
	p.pos.Store(first)
}

// lostToRetention logs and counts the offsets from..to-1, removed from the
// partition before they were fetched.
func (c *Consumer) lostToRetention(p *partition, from, to int64) {
	p.log.Error().Int64("from", from).Int64("first_offset", to).Int64("lost", to-from).
		Msg("events removed by retention before they were processed; they are lost")
	c.obs.LostToRetention(p.topic, to-from)
}

// checkGap runs when a fetched offset is above the one expected next: the
// offsets in between were compacted away, or removed by retention (the
// reader moves to the log start when it fell behind it, see partitionReader). Retention
// is told apart by the partition's first offset; the check runs at most once
// per gapCheckInterval, so a compacted topic costs little.
func (c *Consumer) checkGap(ctx context.Context, p *partition, expected, got int64, last *time.Time) {
	if time.Since(*last) < gapCheckInterval {
		return
	}
	*last = time.Now()
	first, _, err := c.partitionOffsets(ctx, p.topic, p.id)
	if err != nil {
		p.log.Debug().Err(err).Msg("cannot tell a gap in the fetched offsets from retention")
		return
	}
	if first > expected {
		c.lostToRetention(p, expected, min(first, got))
	}
}

// pastEnd reports, for the partition watcher, whether p's fetch position is
// above end: the topic was recreated or truncated under a running reader.
func (p *partition) pastEnd(end int64) bool {
	pos := p.pos.Load()
	return pos >= 0 && end >= 0 && pos > end
}
