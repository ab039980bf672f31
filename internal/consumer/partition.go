package consumer

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/mapper"
)

// partition is one assigned partition in one generation: its fetcher, its
// per-key queues and its offset tracker.
type partition struct {
	topic string
	id    int
	start int64 // first offset to fetch (or kafka.FirstOffset)
	log   zerolog.Logger

	// recreated is set when the topic's id changed since this process last
	// read it: the partition restarts from its first offset (checkStart).
	recreated bool

	tracker *tracker
	// pos is the next offset to fetch (below 0 until known), read by the
	// partition watcher.
	pos atomic.Int64
	// held is the bytes of this partition's events taken from the
	// instance's budget and not yet given back.
	held atomic.Int64
	// reader is the partition's reader once opened.
	reader atomic.Pointer[partitionReader]

	mu      sync.Mutex
	queues  map[string][]*event // per ordering key; present while a worker runs
	workers sync.WaitGroup
}

// event is one fetched message and its mapping.
type event struct {
	msg     kafka.Message
	fetched time.Time
	bytes   int64 // taken from the byte budget
	result  mapper.Result
	mapErr  error
	mapped  bool // rewritten by Config.Mapping before it was mapped
	trace   EventTrace
}

func (c *Consumer) newPartition(topic string, id int, start int64) *partition {
	p := &partition{
		topic:   topic,
		id:      id,
		start:   start,
		log:     c.log.With().Str("topic", topic).Int("partition", id).Logger(),
		tracker: newTracker(c.window),
		queues:  map[string][]*event{},
	}
	p.pos.Store(start)
	return p
}

// runPartition fetches p until genCtx is done, then drains: events already
// fetched get a bounded time to finish (ShutdownTimeout on shutdown, less on
// a rebalance so this member rejoins within RebalanceTimeout); after that
// their context is cancelled and they are left unfinished, uncommitted.
func (c *Consumer) runPartition(runCtx, genCtx context.Context, p *partition) {
	base := context.WithoutCancel(runCtx)
	fetchCtx, cancelFetch := context.WithCancel(base)
	defer cancelFetch()
	stopFetch := context.AfterFunc(genCtx, cancelFetch)
	defer stopFetch()
	workCtx, cancelWork := context.WithCancel(base)
	defer cancelWork()

	c.checkStart(fetchCtx, p)
	r := c.openReader(p)
	p.reader.Store(r)
	if c.restore(fetchCtx, p) {
		c.fetch(fetchCtx, workCtx, p, r)
	}

	r.close()
	bound := c.cfg.ShutdownTimeout
	if runCtx.Err() == nil {
		bound = c.revokeTimeout()
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		p.workers.Wait()
	}()
	t := time.NewTimer(bound)
	select {
	case <-drained:
		t.Stop()
	case <-t.C:
		n, _ := p.tracker.stats()
		p.log.Warn().Dur("after", bound).Int("unfinished", n).Msg("abandoning in-flight events; they will be redelivered")
		cancelWork()
		<-drained
	}
	c.budget.release(p.held.Swap(0)) // events abandoned in their queues
}

// revokeTimeout bounds draining a revoked partition so that this member
// rejoins before the coordinator's RebalanceTimeout evicts it (an evicted
// member's uploads could overlap the new owner's).
func (c *Consumer) revokeTimeout() time.Duration {
	return max(min(c.cfg.ShutdownTimeout, c.cfg.RebalanceTimeout-c.heartbeat-time.Second), 500*time.Millisecond)
}

// fetch reads messages until fetchCtx is done, keeping at most the window of
// fetched, not yet committable events, and hands each to its key's queue
// once its mapped body also fits the instance's budget
// (Config.MaxPendingBytes; the reader reserved the message's bytes).
// It returns early, which ends the generation, when the fetch position is
// past the partition's end: the next generation restarts the partition (see
// checkStart).
func (c *Consumer) fetch(fetchCtx, workCtx context.Context, p *partition, r *partitionReader) {
	var lastGapCheck time.Time
	for {
		if err := p.tracker.waitSpace(fetchCtx); err != nil {
			return
		}
		m, err := r.fetch(fetchCtx)
		if err != nil {
			if fetchCtx.Err() != nil {
				return
			}
			if errors.Is(err, errOutOfRange) {
				p.log.Warn().Int64("position", p.pos.Load()).
					Msg("fetch position is out of the partition's range (topic recreated or truncated); rebalancing to restart it")
				return
			}
			if errors.Is(err, errRecreated) {
				p.log.Warn().Int64("position", p.pos.Load()).
					Msg("fetch answered by a recreated topic (new topic id), records dropped; rebalancing to restart the partition")
				return
			}
			c.warnings.Warn(&p.log, "fetch "+p.topic+"/"+strconv.Itoa(p.id)).Err(err).Msg("fetch failed, retrying")
			select {
			case <-fetchCtx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		if expected := p.pos.Load(); expected >= 0 && m.Offset > expected {
			c.checkGap(fetchCtx, p, expected, m.Offset, &lastGapCheck)
		}
		p.pos.Store(m.Offset + 1)
		// The message's bytes are pending from here: the partition holds
		// them until its event finishes or the partition ends.
		p.held.Add(m.bytes)
		now := time.Now()
		if p.tracker.add(m.Offset, now, m.HighWaterMark) {
			c.releaseHeld(p, m.bytes)
			continue // finished before, by this process or the last committer
		}
		if m.control {
			c.releaseHeld(p, m.bytes)
			p.tracker.finish(m.Offset)
			continue
		}
		c.obs.EventConsumed(p.topic)
		ev := &event{msg: m.Message, fetched: now, bytes: m.bytes, trace: c.tracer.StartEvent(m.Message)}
		if !c.mapEvent(fetchCtx, p, ev) {
			return // stopped while the mapping program ran: left for redelivery
		}
		ev.trace.Mapped(now, ev.result, ev.mapErr)
		body := eventBytes(ev) - ev.bytes
		if err := c.budget.grow(fetchCtx, ev.bytes, body); err != nil {
			return // left unfinished: nothing is committed past it
		}
		ev.bytes += body
		p.held.Add(body)
		if misskeyed(ev) {
			c.obs.EventMisskeyed()
		}
		c.dispatch(workCtx, p, ev)
	}
}

// releaseHeld gives n of p's pending bytes back to the budget.
func (c *Consumer) releaseHeld(p *partition, n int64) {
	p.held.Add(-n)
	c.budget.release(n)
}

// orderingKey is the key whose events run one at a time in offset order:
// the mapped order (sub_mchid/out_order_no), whatever the message key; for
// an event that cannot be mapped, the message key, else the mapped order
// number, else the offset itself. The prefixes keep the kinds apart.
func orderingKey(ev *event) string {
	if guarded(ev) {
		return "o:" + ev.result.SubMchID + "/" + ev.result.OrderNo
	}
	if len(ev.msg.Key) > 0 {
		return "k:" + string(ev.msg.Key)
	}
	if ev.mapErr == nil && ev.result.OrderNo != "" {
		return "n:" + ev.result.OrderNo
	}
	return "\x00offset:" + strconv.FormatInt(ev.msg.Offset, 10)
}

// misskeyed reports a mapped event whose message key is empty or not its
// order number: producers should key by order (README), so that one order
// stays in one partition.
func misskeyed(ev *event) bool {
	return guarded(ev) && string(ev.msg.Key) != ev.result.OrderNo
}

// dispatch appends ev to its key's queue and starts a worker for the key if
// none runs.
func (c *Consumer) dispatch(workCtx context.Context, p *partition, ev *event) {
	key := orderingKey(ev)
	p.mu.Lock()
	q, running := p.queues[key]
	p.queues[key] = append(q, ev)
	if !running {
		p.workers.Add(1)
	}
	p.mu.Unlock()
	if !running {
		go c.work(workCtx, p, key)
	}
}

// work processes key's queue in order until it is empty or an event is
// abandoned (its context was cancelled). A draining partition keeps
// working through the events it already fetched until the drain bound
// cancels ctx: stopping a key's queue early would leave an unstarted
// offset that holds back the final commit, and every event finished after
// it would be redelivered.
func (c *Consumer) work(ctx context.Context, p *partition, key string) {
	defer p.workers.Done()
	for {
		p.mu.Lock()
		q := p.queues[key]
		if len(q) == 0 {
			delete(p.queues, key)
			p.mu.Unlock()
			return
		}
		ev := q[0]
		p.mu.Unlock()

		finished := c.handle(ctx, p, ev)
		ev.trace.End(finished)
		if !finished {
			return
		}
		p.tracker.finish(ev.msg.Offset)
		c.releaseHeld(p, ev.bytes)

		p.mu.Lock()
		q = p.queues[key]
		q[0] = nil
		p.queues[key] = q[1:]
		p.mu.Unlock()
	}
}

func mapperHeaders(hs []kafka.Header) []mapper.Header {
	if len(hs) == 0 {
		return nil
	}
	out := make([]mapper.Header, len(hs))
	for i, h := range hs {
		out[i] = mapper.Header{Key: h.Key, Value: h.Value}
	}
	return out
}
