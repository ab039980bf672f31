package consumer

import (
	"context"
	"strconv"
	"sync"
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

	tracker *tracker

	mu      sync.Mutex
	queues  map[string][]*event // per ordering key; present while a worker runs
	workers sync.WaitGroup
}

// event is one fetched message and its mapping.
type event struct {
	msg     kafka.Message
	fetched time.Time
	result  mapper.Result
	mapErr  error
}

func (c *Consumer) newPartition(topic string, id int, start int64) *partition {
	return &partition{
		topic:   topic,
		id:      id,
		start:   start,
		log:     c.log.With().Str("topic", topic).Int("partition", id).Logger(),
		tracker: newTracker(c.window),
		queues:  map[string][]*event{},
	}
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

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:          c.cfg.Brokers,
		Topic:            p.topic,
		Partition:        p.id,
		Dialer:           c.cfg.Dialer,
		MinBytes:         1,
		MaxBytes:         1 << 20,
		MaxWait:          500 * time.Millisecond,
		ReadBatchTimeout: 5 * time.Second,
		QueueCapacity:    min(c.window, 100),
		ReadLagInterval:  -1,
		ErrorLogger:      kafkaLogger(p.log),
	})
	if err := r.SetOffset(p.start); err != nil {
		p.log.Error().Err(err).Msg("set fetch offset") // only fails on a closed reader
	}

	if c.restore(fetchCtx, p) {
		c.fetch(fetchCtx, workCtx, p, r)
	}

	readerClosed := make(chan struct{})
	go func() {
		defer close(readerClosed)
		_ = r.Close() // always nil
	}()
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
	<-readerClosed
}

// revokeTimeout bounds draining a revoked partition so that this member
// rejoins before the coordinator's RebalanceTimeout evicts it (an evicted
// member's uploads could overlap the new owner's).
func (c *Consumer) revokeTimeout() time.Duration {
	return max(min(c.cfg.ShutdownTimeout, c.cfg.RebalanceTimeout-c.heartbeat-time.Second), 500*time.Millisecond)
}

// fetch reads messages until fetchCtx is done, keeping at most the window of
// fetched, not yet committable events, and hands each to its key's queue.
func (c *Consumer) fetch(fetchCtx, workCtx context.Context, p *partition, r *kafka.Reader) {
	var lastErr time.Time
	for {
		if err := p.tracker.waitSpace(fetchCtx); err != nil {
			return
		}
		m, err := r.FetchMessage(fetchCtx)
		if err != nil {
			if fetchCtx.Err() != nil {
				return
			}
			if time.Since(lastErr) > 30*time.Second {
				p.log.Warn().Err(err).Msg("fetch failed, retrying")
			}
			lastErr = time.Now()
			select {
			case <-fetchCtx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		now := time.Now()
		if p.tracker.add(m.Offset, now, m.HighWaterMark) {
			continue // finished before, by this process or the last committer
		}
		if txnMarker(m) {
			p.tracker.finish(m.Offset)
			continue
		}
		c.obs.EventConsumed(p.topic)
		ev := &event{msg: m, fetched: now}
		ev.result, ev.mapErr = c.mapper.Map(m.Value, mapperHeaders(m.Headers))
		if misskeyed(ev) {
			c.obs.EventMisskeyed()
		}
		c.dispatch(workCtx, p, ev)
	}
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

		if !c.handle(ctx, p, ev) {
			return
		}
		p.tracker.finish(ev.msg.Offset)

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
