package consumer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// startGeneration runs one group generation: a fetcher per assigned
// partition and a committer, all started through gen.Start so that the
// generation — and the group's next join — waits for them. When the
// generation ends (rebalance or shutdown) the fetchers drain within their
// bound, then the committer makes the final commit in this same generation
// and returns. runCtx is Run's context: done means shutdown.
func (c *Consumer) startGeneration(runCtx context.Context, gen *kafka.Generation) {
	var parts []*partition
	topics := make([]string, 0, len(gen.Assignments))
	for t := range gen.Assignments {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, t := range topics {
		for _, pa := range gen.Assignments[t] {
			p := c.newPartition(t, pa.ID, pa.Offset)
			c.resume(p, gen.ID)
			parts = append(parts, p)
		}
	}
	c.obs.Rebalanced()
	c.mu.Lock()
	c.gen, c.parts = gen, parts
	c.mu.Unlock()
	why := fmt.Sprintf("generation %d, %d partitions assigned", gen.ID, len(parts))
	if len(parts) == 0 {
		why = fmt.Sprintf("generation %d, no partitions assigned (more members than partitions, or no source topic exists yet)", gen.ID)
	}
	c.setReady(true, why)
	ev := c.log.Info().Int32("generation", gen.ID).Str("member", gen.MemberID)
	for _, p := range parts {
		ev = ev.Str(fmt.Sprintf("%s/%d", p.topic, p.id), offsetString(p.start))
	}
	ev.Int("partitions", len(parts)).Msg("partitions assigned")

	var fetchers sync.WaitGroup
	fetchers.Add(len(parts))
	for _, p := range parts {
		gen.Start(func(genCtx context.Context) {
			defer fetchers.Done()
			c.runPartition(runCtx, genCtx, p)
		})
	}
	gen.Start(func(genCtx context.Context) {
		c.commitLoop(runCtx, genCtx, gen, parts, &fetchers)
	})
	gen.Start(func(genCtx context.Context) {
		c.watchPartitions(genCtx, gen.ID)
	})
}

// commitLoop commits finished offsets every commitInterval while the
// generation lasts, then waits for the fetchers to drain and commits once
// more.
func (c *Consumer) commitLoop(runCtx, genCtx context.Context, gen *kafka.Generation, parts []*partition, fetchers *sync.WaitGroup) {
	t := time.NewTicker(commitInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.commit(gen, parts)
		case <-genCtx.Done():
			if runCtx.Err() == nil {
				c.setReady(false, "rebalancing")
				c.log.Info().Int32("generation", gen.ID).Msg("rebalance: draining partitions")
			}
			fetchers.Wait()
			c.commit(gen, parts)
			for _, p := range parts {
				c.remember(p, gen.ID)
			}
			c.mu.Lock()
			if c.gen == gen {
				c.gen, c.parts = nil, nil
			}
			c.mu.Unlock()
			return
		}
	}
}

// commit sends the committable offset of every partition that moved since
// its last commit. A refused commit (a rebalance fenced this generation) is
// not retried in a later generation: the events are redelivered.
func (c *Consumer) commit(gen *kafka.Generation, parts []*partition) {
	offsets := map[string]map[int]int64{}
	var moved []*partition
	for _, p := range parts {
		off, ok := p.tracker.committable()
		if !ok {
			continue
		}
		if offsets[p.topic] == nil {
			offsets[p.topic] = map[int]int64{}
		}
		offsets[p.topic][p.id] = off
		moved = append(moved, p)
	}
	if len(moved) == 0 {
		return
	}
	if err := gen.CommitOffsets(offsets); err != nil {
		ev := c.log.Warn()
		if errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.IllegalGeneration) || errors.Is(err, kafka.UnknownMemberId) {
			ev = c.log.Info()
		}
		ev.Err(err).Int32("generation", gen.ID).Msg("offset commit refused; uncommitted events will be redelivered")
		return
	}
	now := time.Now()
	c.mu.Lock()
	c.lastCommit = now
	c.mu.Unlock()
	for _, p := range moved {
		off := offsets[p.topic][p.id]
		lag := p.tracker.committed(off)
		c.obs.Committed(p.topic, p.id, off)
		c.obs.Lag(p.topic, p.id, lag)
	}
}

// progress is what this process finished of one partition in earlier
// generations: every offset below below, and the offsets in above (finished
// behind an unfinished one); landed is the last offset it committed that
// the broker acknowledged (-1 none), gen the generation that last held it.
type progress struct {
	below, landed int64
	gen           int32
	above         map[int64]bool
}

// remember keeps what p finished in generation gen, for a later generation
// of this process; p's fetcher has returned.
func (c *Consumer) remember(p *partition, gen int32) {
	below, landed, above := p.tracker.finished()
	for off := range p.skip { // finished earlier, not fetched again yet
		if above == nil {
			above = map[int64]bool{}
		}
		above[off] = true
	}
	if below < 0 && len(above) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished[topicPartition{p.topic, p.id}] = progress{below: below, landed: landed, gen: gen, above: above}
}

// resume starts p, assigned in generation gen, past what this process
// already finished in an earlier generation whose commit did not land (the
// broker was down, a rebalance fenced it): re-uploading those events would
// send older states of their orders after newer ones. Finished offsets are
// skipped — at least once still holds, they were delivered, skipped or
// dead-lettered — and committed with the next commit. This holds only when
// no other member can have owned the partition in between: the previous
// generation held it, or the group's committed offset is still the last one
// this process landed. Otherwise another member may have uploaded older
// states since, and the partition starts from the committed offset as usual.
func (c *Consumer) resume(p *partition, gen int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tp := topicPartition{p.topic, p.id}
	prev, ok := c.finished[tp]
	if !ok {
		return
	}
	delete(c.finished, tp)
	sameCommit := p.start == prev.landed || (p.start < 0 && prev.landed < 0)
	if gen != prev.gen+1 && !sameCommit {
		return
	}
	if committed := p.start; prev.below > committed {
		p.start = prev.below
		p.tracker.resume(prev.below, max(prev.landed, committed))
	}
	for off := range prev.above {
		if off >= p.start {
			p.skip[off] = true
		}
	}
}

// topicPartition names one partition.
type topicPartition struct {
	topic     string
	partition int
}

func offsetString(off int64) string {
	switch off {
	case kafka.FirstOffset:
		return "first"
	case kafka.LastOffset:
		return "last"
	}
	return fmt.Sprint(off)
}
