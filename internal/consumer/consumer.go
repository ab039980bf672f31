// Package consumer is the worker's runtime: it joins the Kafka consumer
// group, fetches every assigned partition, maps and uploads each event, dead-
// letters what cannot succeed and commits offsets — at least once, one event
// at a time per order, different orders in parallel (README "How it works").
//
// Per partition, events are scheduled by ordering key (the mapped order,
// sub_mchid and out_order_no; else, for an event that cannot be mapped, the
// message key; else the offset alone): events of one key run one
// at a time in offset order, events of different keys run in parallel, and
// at most Config.MaxInFlight uploads run at once across the instance. A
// per-partition tracker commits only up to the highest contiguous finished
// offset, where finished means delivered, skipped or durably dead-lettered;
// each commit names, in its offset metadata, the offsets finished above the
// committed one, and the partition's next owner passes over them.
// Commits go through the generation that fetched the events, so a partition
// lost in a rebalance is never committed by a stale generation: on
// rebalance or shutdown fetching stops, in-flight work is given a bounded
// time to finish, then cancelled and left for redelivery.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/lograte"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/uploader"
)

// Mapper turns a message value (and headers, for CloudEvents binary mode)
// into the body to upload. It must be safe for concurrent use. A non-nil
// error means the event is invalid and is dead-lettered; a
// *mapper.InvalidEventError names the offending fields.
type Mapper interface {
	Map(value []byte, headers []mapper.Header) (mapper.Result, error)
}

// Uploader uploads one body, retrying transient failures itself. It must be
// safe for concurrent use. When ctx is done it returns an Outcome of class
// Cancelled promptly; such an event is neither committed nor dead-lettered.
type Uploader interface {
	Upload(ctx context.Context, body []byte) uploader.Outcome
}

// DeadLetterWriter writes dead-letter records; *dlq.Writer implements it. It
// must be safe for concurrent use. Write returns nil only once the record is
// durably written; an error wrapping dlq.ErrTooLarge means the topic refuses
// the record as too large (rec.WithoutOriginal may fit), any other error may
// be retried. The consumer never closes it: its owner does, after Run returns.
type DeadLetterWriter interface {
	Write(ctx context.Context, rec dlq.Record) error
}

var _ DeadLetterWriter = (*dlq.Writer)(nil)

// Observer receives the consumer's measurements (implemented by the metrics
// package). Methods are called concurrently and must not block.
type Observer interface {
	// EventConsumed counts a fetched message.
	EventConsumed(topic string)
	// EventDone counts a finished event; outcome is delivered, skipped or
	// dead_lettered, class the dead-letter class or the skip reason
	// (SkipListed, or a ledger reason such as already_paid), else "".
	EventDone(outcome, class string)
	// EndToEnd observes the time from the Kafka record timestamp to delivery.
	EndToEnd(d time.Duration)
	// InFlight reports the current number of uploads in flight.
	InFlight(n int)
	// Rebalanced counts a new group generation.
	Rebalanced()
	// DeadLetterWriteFailed counts a failed dead-letter write (it is retried).
	DeadLetterWriteFailed()
	// PartitionReset counts a partition restarted from its first offset
	// because the position was past its end (topic recreated or truncated)
	// or its topic's id changed (deleted and recreated).
	PartitionReset(topic string)
	// LostToRetention counts n events removed by retention before they
	// were processed.
	LostToRetention(topic string, n int64)
	// EventMisskeyed counts a mapped event whose message key is empty or not
	// its order number.
	EventMisskeyed()
}

// Outcome labels passed to Observer.EventDone.
const (
	OutcomeDelivered    = "delivered"
	OutcomeSkipped      = "skipped"
	OutcomeDeadLettered = "dead_lettered"
)

// SkipListed is the skip reason of an event acknowledged by the mapper
// (its type is in ORDERSYNC_SKIP_TYPES).
const SkipListed = "skip_list"

// Static configuration errors of New.
var (
	ErrNoBrokers  = errors.New("consumer: no brokers")
	ErrNoTopics   = errors.New("consumer: no topics")
	ErrNoGroupID  = errors.New("consumer: no group id")
	ErrNoDLQTopic = errors.New("consumer: no dead-letter topic")
	// ErrNoDeadLetters means Config.DeadLetters is nil.
	ErrNoDeadLetters = errors.New("consumer: no dead-letter writer")
	ErrDLQIsSource   = errors.New("consumer: dead-letter topic is also a source topic")
	ErrMaxInFlight   = errors.New("consumer: max in flight must be at least 1")
	ErrNegativeDelay = errors.New("consumer: timeouts must not be negative")
	// ErrMaxPendingBytes means Config.MaxPendingBytes is negative.
	ErrMaxPendingBytes = errors.New("consumer: max pending bytes must not be negative")
)

// Config configures a Consumer.
type Config struct {
	Brokers, Topics   []string
	GroupID, DLQTopic string
	// DeadLetters writes to DLQTopic; required.
	DeadLetters DeadLetterWriter
	// MaxInFlight bounds the events of this instance being uploaded or
	// waiting between retries, across all partitions. A delivered event
	// keeps its slot until its ledger record is acknowledged, so a crash
	// repeats at most MaxInFlight uploads the API already accepted.
	MaxInFlight int
	// MaxPendingBytes bounds the bytes (record and mapped body) of the
	// fetched, unfinished events of this instance, across all partitions;
	// fetching waits while they are spent. Default 64 MiB.
	MaxPendingBytes int64
	// SessionTimeout and RebalanceTimeout are the group timeouts; default
	// 10s each (kafka-go's 30s would make every crash cost 30s).
	SessionTimeout, RebalanceTimeout time.Duration
	// ShutdownTimeout bounds finishing in-flight work on stop; default 10s.
	// On a rebalance the bound is also kept under RebalanceTimeout so this
	// member rejoins in time.
	ShutdownTimeout time.Duration
	// Dialer carries TLS/SASL for the group and the dead-letter topic
	// check; nil = default.
	Dialer *kafka.Dialer
	// Transport carries TLS/SASL for fetches, commits, offset and metadata
	// reads and the dead-letter topic's creation; nil = a private one,
	// closed by Run.
	Transport *kafka.Transport
	// PartitionWatchInterval is how often the source topics' partition
	// counts are read to notice added partitions and topics created after
	// the start; default 10s.
	PartitionWatchInterval time.Duration
	Logger                 zerolog.Logger
	// Mapping, when set, rewrites every message into the order event the
	// Mapper reads (ORDERSYNC_MAPPING_FILE).
	Mapping Mapping
	// Observer receives metrics; nil discards them.
	Observer Observer
	// Route, when set, chooses the uploader of each mapped event (its
	// merchant account, see accounts.go) instead of the Uploader given to New.
	Route func(res mapper.Result) Uploader
	// Tracer traces each event; nil traces nothing.
	Tracer Tracer
	// Ledger guards uploads and records deliveries; nil turns it off
	// (ORDERSYNC_LEDGER=off).
	Ledger Ledger

	// KgoOpts carries TLS/SASL for the franz-go client that reads the
	// source topics' ids (a recreated topic, see watch.go); the seed
	// brokers are Brokers.
	KgoOpts []kgo.Opt
}

const (
	defaultGroupTimeout   = 10 * time.Second
	defaultPartitionWatch = 10 * time.Second
	defaultPendingBytes   = 64 << 20
	commitInterval        = 200 * time.Millisecond
	// commitTimeout bounds one offset commit or offset fetch.
	commitTimeout = 5 * time.Second
	// windowPerSlot sizes each partition's window of fetched, not yet
	// committable events: windowPerSlot × MaxInFlight, at least minWindow.
	windowPerSlot = 4
	minWindow     = 64
	// leaveGrace is added to ShutdownTimeout for the final commit and for
	// leaving the group; Run stops waiting after it (see closeWithin).
	leaveGrace = 5 * time.Second
	// warnEvery spaces the repeats of a retry loop's warning (fetch, join).
	warnEvery = 30 * time.Second
)

// Consumer consumes order events from a consumer group. Create it with New
// and call Run once.
type Consumer struct {
	cfg        Config
	mapper     Mapper
	uploader   Uploader
	dlq        DeadLetterWriter
	client     *kafka.Client // commits, offset metadata and partition counts, over Config.Transport
	obs        Observer
	log        zerolog.Logger
	warnings   *lograte.Limiter // repeated retry-loop warnings: one per warnEvery, with a count
	noTopicIDs sync.Once        // the warning that the brokers have no topic ids, once
	tracer     Tracer
	heartbeat  time.Duration
	window     int
	// ownTransport is set when Config.Transport was nil: Run closes the
	// private transport's idle connections when it stops.
	ownTransport bool

	// idClient reads the source topics' ids; set by Run, closed when it returns.
	idClient *kgo.Client
	topicIDs knownTopicIDs
	// freshIDs coalesces the reads of topic ids that check each fetch.
	freshIDs freshTopicIDs

	// uploads hands an upload to one of at most MaxInFlight long-lived
	// goroutines (see upload); waiting for a free one is the in-flight bound.
	uploads  chan uploadCall
	inFlight atomic.Int64
	budget   *byteBudget
	pool     uploadPool
	// noCommitMeta is set once the broker refused the offset metadata.
	noCommitMeta atomic.Bool
	dlqHealth    dlqHealth

	mu         sync.Mutex
	joined     bool
	joinedAt   time.Time // when joined last changed
	ready      bool
	readyWhy   string
	lastCommit time.Time
	gen        *kafka.Generation // current generation, nil between generations
	parts      []*partition      // partitions of gen
	// finished holds, per partition, what this process finished in earlier
	// generations, whether or not the commit landed (see progressOf).
	finished map[topicPartition]progress
}

// New validates cfg, fills defaults and returns a Consumer. It does not
// connect to Kafka.
func New(cfg Config, m Mapper, u Uploader) (*Consumer, error) {
	switch {
	case len(cfg.Brokers) == 0:
		return nil, ErrNoBrokers
	case len(cfg.Topics) == 0:
		return nil, ErrNoTopics
	case cfg.GroupID == "":
		return nil, ErrNoGroupID
	case cfg.DLQTopic == "":
		return nil, ErrNoDLQTopic
	case cfg.DeadLetters == nil:
		return nil, ErrNoDeadLetters
	case cfg.MaxInFlight < 1:
		return nil, ErrMaxInFlight
	case cfg.SessionTimeout < 0 || cfg.RebalanceTimeout < 0 || cfg.ShutdownTimeout < 0:
		return nil, ErrNegativeDelay
	case cfg.MaxPendingBytes < 0:
		return nil, ErrMaxPendingBytes
	}
	for _, t := range cfg.Topics {
		if t == cfg.DLQTopic {
			return nil, ErrDLQIsSource
		}
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = defaultGroupTimeout
	}
	if cfg.RebalanceTimeout == 0 {
		cfg.RebalanceTimeout = defaultGroupTimeout
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = defaultGroupTimeout
	}
	if cfg.MaxPendingBytes == 0 {
		cfg.MaxPendingBytes = defaultPendingBytes
	}
	if cfg.PartitionWatchInterval <= 0 {
		cfg.PartitionWatchInterval = defaultPartitionWatch
	}
	ownTransport := cfg.Transport == nil
	if ownTransport {
		cfg.Transport = &kafka.Transport{}
	}
	obs := cfg.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	var tracer Tracer = nopTracer{}
	if cfg.Tracer != nil {
		tracer = cfg.Tracer
	}
	return &Consumer{
		cfg:          cfg,
		mapper:       m,
		uploader:     u,
		dlq:          cfg.DeadLetters,
		ownTransport: ownTransport,
		client:       &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: cfg.Transport},
		obs:          obs,
		tracer:       tracer,
		log:          cfg.Logger.With().Str("component", "consumer").Logger(),
		warnings:     lograte.New(warnEvery),
		heartbeat:    min(3*time.Second, cfg.SessionTimeout/3),
		window:       max(windowPerSlot*cfg.MaxInFlight, minWindow),
		uploads:      make(chan uploadCall),
		budget:       newByteBudget(cfg.MaxPendingBytes),
		pool:         uploadPool{quit: make(chan struct{})},
		readyWhy:     "not started",
		finished:     map[topicPartition]progress{},
	}, nil
}

// Run consumes until ctx is done, then stops fetching, gives in-flight work
// up to ShutdownTimeout to finish (cancelling the rest, which is redelivered
// later), commits what is done, leaves the group and returns nil. It returns
// an error only if the group cannot be set up at all, or the brokers refuse
// the join in a way retrying cannot cure (wrapping ErrAuthentication or
// ErrSessionTimeout); other join failures are retried.
func (c *Consumer) Run(ctx context.Context) error {
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                c.cfg.GroupID,
		Brokers:           c.cfg.Brokers,
		Dialer:            c.cfg.Dialer,
		Topics:            c.cfg.Topics,
		HeartbeatInterval: c.heartbeat,
		SessionTimeout:    c.cfg.SessionTimeout,
		RebalanceTimeout:  c.cfg.RebalanceTimeout,
		JoinGroupBackoff:  time.Second,
		StartOffset:       kafka.FirstOffset,
		ErrorLogger:       kafkaLogger(c.log),
	})
	if err != nil {
		return fmt.Errorf("consumer group %s: %w", c.cfg.GroupID, err)
	}
	if c.idClient, err = c.newTopicIDClient(); err != nil {
		_ = group.Close() // always nil
		return err
	}
	defer c.idClient.Close()
	c.log.Info().Str("group", c.cfg.GroupID).Strs("topics", c.cfg.Topics).Int("max_in_flight", c.cfg.MaxInFlight).
		Msg("consumer started")
	c.setReady(false, "joining group "+c.cfg.GroupID)
	c.setJoined(false)
	var joinErrs joinReport
	var fatal error
	for {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				break
			}
			if fatal = joinFatal(err); fatal != nil {
				c.log.Error().Err(err).Str("group", c.cfg.GroupID).Msg("joining the consumer group refused; stopping")
				break
			}
			c.setReady(false, "joining group: "+shortReason(err))
			joinErrs.failed(c.log, c.cfg.GroupID, err)
			continue
		}
		joinErrs = joinReport{}
		c.startGeneration(ctx, gen)
	}
	c.setReady(false, "stopping")
	c.stop(group)
	c.log.Info().Msg("consumer stopped")
	if fatal != nil {
		return fmt.Errorf("consumer group %s: %w", c.cfg.GroupID, fatal)
	}
	return nil
}

// stop closes the group — which ends the current generation, drains its
// partitions, makes the final commit and leaves the group — then stops the
// upload goroutines, which are idle once every partition has drained,
// waiting at most ShutdownTimeout plus a grace period.
func (c *Consumer) stop(group *kafka.ConsumerGroup) {
	bound := c.cfg.ShutdownTimeout + leaveGrace
	if !closeWithin(bound, func() {
		_ = group.Close() // always nil
		c.stopUploads()
	}) {
		c.log.Warn().Dur("after", bound).Msg("leaving the consumer group did not finish; giving up")
	}
	if c.ownTransport {
		c.cfg.Transport.CloseIdleConnections()
	}
}

// Ready reports whether the consumer is a settled member of its group, with
// a short reason: joining, rebalancing, or the generation and partitions held
// (a member with no partitions, when the group has more members than
// partitions, is ready and says so). Dead-letter writes failing again and
// again make it not ready whatever the group state.
func (c *Consumer) Ready() (bool, string) {
	if why := c.dlqProblem(); why != "" {
		return false, why
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready, c.readyWhy
}

// Progress returns when offsets were last committed (zero before the first
// commit) and how many fetched events are not yet committable.
func (c *Consumer) Progress() (lastCommit time.Time, pending int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.parts {
		n, _ := p.tracker.stats()
		pending += n
	}
	return c.lastCommit, pending
}

// OldestInFlight returns the age of the oldest fetched event that is not
// finished yet — the one holding back its partition's commits — or 0.
func (c *Consumer) OldestInFlight() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var oldest time.Time
	for _, p := range c.parts {
		if n, at := p.tracker.stats(); n > 0 && (oldest.IsZero() || at.Before(oldest)) {
			oldest = at
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return time.Since(oldest)
}

func (c *Consumer) setReady(ok bool, why string) {
	c.mu.Lock()
	c.ready, c.readyWhy = ok, why
	c.mu.Unlock()
}

// uploadCall is one Upload handed to an upload goroutine.
type uploadCall struct {
	ctx  context.Context
	up   Uploader
	body []byte
	slot *uploadSlot
}

// uploadSlot carries one upload's outcome to its caller, and the caller's
// release — once it is done with the outcome (a delivery recorded in the
// ledger) — to the upload goroutine, which then takes the next upload; so
// does the end of the call's ctx. Slots are reused: the caller and the
// goroutine each let go of a slot once, and the last one returns it to
// uploadSlots, so an upload allocates nothing.
type uploadSlot struct {
	done     chan uploader.Outcome // buffered: the goroutine never waits on it
	freed    chan struct{}         // buffered: release never waits on it
	released atomic.Bool
	holders  atomic.Int32
}

var uploadSlots = sync.Pool{New: func() any {
	return &uploadSlot{done: make(chan uploader.Outcome, 1), freed: make(chan struct{}, 1)}
}}

// newUploadSlot returns a slot held by a caller and an upload goroutine.
func newUploadSlot() *uploadSlot {
	s := uploadSlots.Get().(*uploadSlot)
	s.released.Store(false)
	s.holders.Store(2)
	return s
}

// release frees the slot's upload goroutine; it is the caller's last use
// of the slot. A nil slot (an upload that did not run) and a second call
// do nothing.
func (s *uploadSlot) release() {
	if s == nil || s.released.Swap(true) {
		return
	}
	s.freed <- struct{}{}
	s.letGo()
}

// letGo drops one holder; the last one empties the slot (the release of
// an upload whose goroutine left at the end of ctx) and returns it.
func (s *uploadSlot) letGo() {
	if s.holders.Add(-1) != 0 {
		return
	}
	select {
	case <-s.freed:
	default:
	}
	uploadSlots.Put(s)
}

// uploadPool counts the upload goroutines, started on demand by upload up
// to MaxInFlight, so that a large in-flight limit costs nothing until it is
// used.
type uploadPool struct {
	mu      sync.Mutex
	started int
	stopped bool
	quit    chan struct{}
	wg      sync.WaitGroup
}

// stopUploads stops the upload goroutines (see upload) and waits for them
// to exit.
func (c *Consumer) stopUploads() {
	c.pool.mu.Lock()
	c.pool.stopped = true
	c.pool.mu.Unlock()
	close(c.pool.quit)
	c.pool.wg.Wait()
}

// startUploader starts one more upload goroutine, serving first, if fewer
// than MaxInFlight run; it reports whether it did.
func (c *Consumer) startUploader(first uploadCall) bool {
	c.pool.mu.Lock()
	defer c.pool.mu.Unlock()
	if c.pool.stopped || c.pool.started >= c.cfg.MaxInFlight {
		return false
	}
	c.pool.started++
	c.pool.wg.Go(func() {
		c.serveUpload(first)
		for {
			select {
			case call := <-c.uploads:
				c.serveUpload(call)
			case <-c.pool.quit:
				return
			}
		}
	})
	return true
}

func (c *Consumer) serveUpload(call uploadCall) {
	c.obs.InFlight(int(c.inFlight.Add(1)))
	call.slot.done <- call.up.Upload(call.ctx, call.body)
	select {
	case <-call.slot.freed:
	case <-call.ctx.Done():
	}
	c.obs.InFlight(int(c.inFlight.Add(-1)))
	call.slot.letGo()
}

// upload runs one Upload on an upload goroutine: an idle one, else a new
// one while fewer than MaxInFlight run, else the first to come free. The
// goroutine — the in-flight slot — stays taken until the caller calls the
// slot's release (or ctx ends). It returns false, without uploading, if ctx
// is done before a goroutine is free; the slot is then nil.
func (c *Consumer) upload(ctx context.Context, up Uploader, body []byte) (out uploader.Outcome, slot *uploadSlot, ok bool) {
	slot = newUploadSlot()
	call := uploadCall{ctx: ctx, up: up, body: body, slot: slot}
	select {
	case c.uploads <- call:
	default:
		if !c.startUploader(call) {
			select {
			case c.uploads <- call:
			case <-ctx.Done():
				return uploader.Outcome{}, nil, false
			}
		}
	}
	return <-slot.done, slot, true
}

type nopObserver struct{}

func (nopObserver) EventConsumed(string)     {}
func (nopObserver) EventDone(string, string) {}
func (nopObserver) EndToEnd(time.Duration)   {}
func (nopObserver) InFlight(int)             {}
func (nopObserver) Rebalanced()              {}
func (nopObserver) DeadLetterWriteFailed()   {}

func (nopObserver) PartitionReset(string)         {}
func (nopObserver) LostToRetention(string, int64) {}
func (nopObserver) EventMisskeyed()               {}
