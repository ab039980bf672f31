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
	ahead := c.finishedAhead(runCtx, gen)
	recreated := c.recreatedTopics(runCtx, gen.ID)
	var passOver int64
	for _, t := range topics {
		for _, pa := range gen.Assignments[t] {
			p := c.newPartition(t, pa.ID, pa.Offset)
			p.recreated = recreated[t]
			passOver += c.resume(p, gen.ID, ahead[topicPartition{t, pa.ID}])
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
	c.setJoined(true)
	// assigned: one list field ("orders/3@1200": topic, partition, start offset),
	// so a log index maps one field whatever the partition count.
	assigned := make([]string, len(parts))
	for i, p := range parts {
		assigned[i] = fmt.Sprintf("%s/%d@%s", p.topic, p.id, offsetString(p.start))
	}
	// finished_ahead: offsets above the starts already finished (by the last
	// committer or this process), passed over when fetched.
	c.log.Info().Int32("generation", gen.ID).Str("member", gen.MemberID).Strs("assigned", assigned).
		Int("partitions", len(parts)).Int64("finished_ahead", passOver).Msg("partitions assigned")

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
		c.watchPartitions(genCtx, gen.ID, parts)
	})
}

// commitLoop commits finished offsets every commitInterval while the
// generation lasts, then waits for the fetchers to drain — heartbeating
// meanwhile, which the ended generation no longer does — and commits once
// more.
func (c *Consumer) commitLoop(runCtx, genCtx context.Context, gen *kafka.Generation, parts []*partition, fetchers *sync.WaitGroup) {
	t := time.NewTicker(commitInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.commit(gen, parts)
		case <-genCtx.Done():
			c.setJoined(false)
			if runCtx.Err() == nil {
				c.setReady(false, "rebalancing")
				c.log.Info().Int32("generation", gen.ID).Msg("rebalance: draining partitions")
			}
			stopBeats := c.heartbeatUntil(gen, c.heartbeat)
			fetchers.Wait()
			c.commit(gen, parts)
			stopBeats()
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
// its last commit, with the offsets finished above it as metadata (see
// encodeFinished). A refused commit (a rebalance fenced this generation) is
// not retried in a later generation: the events are redelivered.
func (c *Consumer) commit(gen *kafka.Generation, parts []*partition) {
	withMeta := !c.noCommitMeta.Load()
	metaBytes := 0
	if withMeta {
		metaBytes = metaBudget(len(parts))
	}
	var commits []offsetCommit
	sent := map[topicPartition]pendingCommit{}
	for _, p := range parts {
		off, meta, ok := p.tracker.committable(metaBytes)
		if !ok {
			continue
		}
		commits = append(commits, offsetCommit{topicPartition{p.topic, p.id}, off, meta})
		sent[topicPartition{p.topic, p.id}] = pendingCommit{p, off, meta}
	}
	if len(sent) == 0 {
		return
	}
	landed, metaRefused, err := c.commitOffsets(gen, commits)
	if err != nil {
		ev := c.log.Warn()
		if errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.IllegalGeneration) || errors.Is(err, kafka.UnknownMemberId) {
			ev = c.log.Info()
		}
		ev.Err(err).Int32("generation", gen.ID).Msg("offset commit failed; uncommitted events will be redelivered")
	}
	moved := false
	for _, tp := range landed {
		pc, ok := sent[tp]
		if !ok {
			continue
		}
		_, advanced := pc.p.tracker.committed(pc.offset, pc.meta)
		moved = moved || advanced
	}
	if moved { // a commit of new metadata alone is no progress of the partition
		now := time.Now()
		c.mu.Lock()
		c.lastCommit = now
		c.mu.Unlock()
	}
	if metaRefused && withMeta {
		c.noCommitMeta.Store(true)
		c.log.Warn().Msg("the broker refuses commits with ordersync's offset metadata (offset.metadata.max.bytes, or a " +
			"broker that does not keep metadata); committing offsets without it from now on: events finished above a " +
			"committed offset are redelivered after a handoff")
		c.commit(gen, parts)
	}
}

// pendingCommit is one partition's part of an offset commit request.
type pendingCommit struct {
	p      *partition
	offset int64
	meta   string
}

// finishedAhead reads the group's committed offsets of gen's partitions with
// their metadata and returns, per partition, the offsets named finished
// above the committed one (see encodeFinished). It returns what it could
// read: a partition without usable metadata is processed from its committed
// offset as usual.
func (c *Consumer) finishedAhead(runCtx context.Context, gen *kafka.Generation) map[topicPartition][]offsetRange {
	req := &kafka.OffsetFetchRequest{GroupID: gen.GroupID, Topics: map[string][]int{}}
	assigned := map[topicPartition]int64{}
	for t, pas := range gen.Assignments {
		for _, pa := range pas {
			req.Topics[t] = append(req.Topics[t], pa.ID)
			assigned[topicPartition{t, pa.ID}] = pa.Offset
		}
	}
	if len(assigned) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(runCtx, commitTimeout)
	defer cancel()
	resp, err := c.client.OffsetFetch(ctx, req)
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		c.log.Info().Err(err).Int32("generation", gen.ID).
			Msg("reading offset metadata failed; events finished above the committed offsets may be uploaded again")
		return nil
	}
	out := map[topicPartition][]offsetRange{}
	for t, ps := range resp.Topics {
		for _, pr := range ps {
			tp := topicPartition{t, pr.Partition}
			off, ok := assigned[tp]
			if !ok || pr.Error != nil || pr.Metadata == "" || pr.CommittedOffset < 0 || pr.CommittedOffset != off {
				continue
			}
			runs, err := decodeFinished(pr.Metadata, off)
			if err != nil {
				c.log.Debug().Err(err).Str("topic", t).Int("partition", pr.Partition).Msg("offset metadata ignored")
				continue
			}
			out[tp] = runs
		}
	}
	return out
}

// progress is what this process finished of one partition in earlier
// generations: every offset below below, and the offsets in above (finished
// behind an unfinished one); landed is the last offset it committed that
// the broker acknowledged (-1 none), gen the generation that last held it.
type progress struct {
	below, landed int64
	gen           int32
	above         []offsetRange
}

// remember keeps what p finished in generation gen, for a later generation
// of this process; p's fetcher has returned.
func (c *Consumer) remember(p *partition, gen int32) {
	below, landed, above := p.tracker.finished()
	if below < 0 && len(above) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished[topicPartition{p.topic, p.id}] = progress{below: below, landed: landed, gen: gen, above: above}
}

// resume starts p, assigned in generation gen, past the offsets known
// finished: ahead, those the group's last commit names finished above the
// committed offset, and — only when no other member can have owned p since:
// the previous generation held it, or the committed offset is still the last
// one this process landed — what this process finished in an earlier
// generation whose commit did not land. The offsets passed over are
// committed with the next commit; it returns how many there are (see
// docs/architecture.md "Resuming a partition").
func (c *Consumer) resume(p *partition, gen int32, ahead []offsetRange) (n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tp := topicPartition{p.topic, p.id}
	prev, ok := c.finished[tp]
	delete(c.finished, tp)
	sameCommit := p.start == prev.landed || (p.start < 0 && prev.landed < 0)
	if !ok || (gen != prev.gen+1 && !sameCommit) {
		prev = progress{below: -1, landed: -1}
	}
	// p.start below 0 is kafka.FirstOffset: nothing committed yet.
	if committed := p.start; prev.below >= 0 && prev.below > committed {
		p.start = prev.below
		p.tracker.resume(prev.below, max(prev.landed, committed))
	}
	skip := mergeRanges(prev.above, ahead, max(p.start, 0))
	if len(skip) == 0 {
		return 0
	}
	p.tracker.setSkip(skip)
	for _, r := range skip {
		n += r.last - r.first + 1
	}
	p.log.Debug().Str("start", offsetString(p.start)).Int64("finished_ahead", n).Int("runs", len(skip)).
		Msg("offsets above the start were finished before; they are passed over")
	return n
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
