package consumer

// This file is the consumer's adapter to segmentio/kafka-go: the rest of the
// package calls what is here as if the library had it. The runtime uses
// kafka-go's ConsumerGroup and Generation, whose commits carry the
// generation, so that a commit from a generation a rebalance ended is fenced
// by the coordinator instead of moving the next owner's offset back (the
// Reader's own group commits can, kafka-go #1308). The gaps it fills:
//
//   - Commit metadata and leader epoch: Generation.CommitOffsets sends no
//     metadata, and Client.OffsetCommit sends leader epoch 0, which a client
//     validating positions (KIP-320) would take for a real epoch and could
//     read as a log truncation. commitOffsets builds the OffsetCommit
//     request itself — the generation's id and member, each partition's
//     metadata (finishedmeta.go) and epoch -1, "unknown" — and says which
//     partitions landed and whether the broker refused the metadata.
//   - Read-ahead: a kafka.Reader fetches ahead of its caller with no bound
//     in bytes. partitionReader fetches itself, with Client.Fetch over the
//     consumer's Transport, one request at a time within a reservation from
//     the byte budget (budget.go, docs/architecture.md).
//   - Transaction markers (kafka-go #1332): the record stream of a fetch
//     answer skips control batches, whose offsets must still be finished.
//     readRecords reads each batch itself and flags the markers
//     (fetched.control); their offsets are finished without processing.
//   - Close (kafka-go #1248): ConsumerGroup.Close can hang. closeWithin
//     bounds the wait.
//   - Partition changes: the group's WatchPartitionChanges ends every
//     generation at once while a source topic is missing, a rejoin storm.
//     partitionCount reads the source topics' partition counts for the
//     watcher (watch.go), which ends a generation only when they change.
//   - Offsets out of range: a fetch answer says only "out of range".
//     partitionReader tells the cases apart with partitionOffsets, as
//     kafka.Reader does: a position before the log start (retention removed
//     unread events) moves to the first offset, and offsets.go counts the
//     events lost; one past the end (the topic was recreated or truncated)
//     is errOutOfRange, with which offsets.go restarts the partition.
//   - Topic ids: kafka-go's Metadata stops at v8, before topic ids (v10),
//     so a topic deleted and recreated with more events than the old
//     position looks unchanged. topicids.go reads the ids with a franz-go
//     client (same brokers, TLS and SASL, Config.KgoOpts) owned by Run; a
//     changed id restarts the topic's partitions (watch.go, offsets.go);
//     fill also checks each fetch that brought records (topicids.go).
//   - Heartbeats while draining: a Generation stops heartbeating as soon as
//     it ends, before the functions it started return, so a drain longer
//     than the session timeout got the member evicted and its final commit
//     refused. heartbeatUntil keeps the membership alive until that commit.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/offsetcommit"

	"github.com/ordersync/ordersync/internal/kafkaread"
)

// offsetsTimeout bounds one read of a partition's first and end offsets.
const offsetsTimeout = 5 * time.Second

// fetchMaxBytes, fetchMaxWait and fetchTimeout shape one partition fetch:
// at most fetchMaxBytes asked for, the broker answering after at most
// fetchMaxWait, the whole request given up after fetchMaxWait+fetchTimeout.
const (
	fetchMaxBytes = 1 << 20
	fetchMaxWait  = 500 * time.Millisecond
	fetchTimeout  = 5 * time.Second
)

// errOutOfRange means a partition reader's position is outside the
// partition's offsets: the topic was recreated or truncated.
var errOutOfRange = errors.New("fetch position out of the partition's range")

// errRecreated means a fetch was answered by a source topic deleted and
// created again since the generation started.
var errRecreated = errors.New("source topic deleted and recreated")

// offsetCommit is one partition's part of an offset commit.
type offsetCommit struct {
	tp       topicPartition
	offset   int64
	metadata string
}

// commitOffsets commits commits in generation gen and returns the
// partitions whose commit landed, whether any was refused in a way its
// metadata can explain (too large, the request too large, a request the
// broker cannot take), and the first other error.
func (c *Consumer) commitOffsets(gen *kafka.Generation, commits []offsetCommit) (landed []topicPartition, metaRefused bool, err error) {
	req := &offsetcommit.Request{GroupID: gen.GroupID, GenerationID: gen.ID, MemberID: gen.MemberID, RetentionTimeMs: -1}
	topicIndex := map[string]int{}
	for _, oc := range commits {
		i, ok := topicIndex[oc.tp.topic]
		if !ok {
			i = len(req.Topics)
			topicIndex[oc.tp.topic] = i
			req.Topics = append(req.Topics, offsetcommit.RequestTopic{Name: oc.tp.topic})
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, offsetcommit.RequestPartition{
			PartitionIndex: int32(oc.tp.partition), CommittedOffset: oc.offset, CommittedLeaderEpoch: -1,
			CommitTimestamp: -1, CommittedMetadata: oc.metadata,
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	m, err := c.cfg.Transport.RoundTrip(ctx, c.client.Addr, req)
	if err != nil {
		return nil, false, fmt.Errorf("offset commit: %w", err)
	}
	resp, ok := m.(*offsetcommit.Response)
	if !ok {
		return nil, false, fmt.Errorf("offset commit: unexpected response %T", m)
	}
	for _, t := range resp.Topics {
		for _, pr := range t.Partitions {
			switch code := kafka.Error(pr.ErrorCode); {
			case pr.ErrorCode == 0:
				landed = append(landed, topicPartition{t.Name, int(pr.PartitionIndex)})
			case code == kafka.OffsetMetadataTooLarge, code == kafka.InvalidCommitOffsetSize, code == kafka.InvalidRequest:
				metaRefused = true
			case err == nil:
				err = code
			}
		}
	}
	return landed, metaRefused, err
}

// partitionReader reads one partition from a given offset with
// kafka.Client.Fetch, one request at a time, each within a reservation of
// read-ahead bytes from the instance's byte budget (budget.go).
type partitionReader struct {
	client    *kafka.Client
	budget    *byteBudget
	topic     string
	partition int
	reserve   int64 // read-ahead bytes reserved for one fetch, its MaxBytes
	// offsets reads the partition's first and end offsets.
	offsets func(ctx context.Context) (first, end int64, err error)
	// sameTopic, called after a fetch that brought records, returns an
	// error wrapping errRecreated when the topic is no longer the one the
	// generation started with: Fetch carries no topic id, so only a read
	// after the answer tells which topic answered it.
	sameTopic func(ctx context.Context) error

	offset int64     // next offset to request; below 0: the first offset
	buf    []fetched // fetched, not handed over; only fetch's goroutine uses it
	// array is buf's whole array, back to fetchedArrays once buf is
	// drained; only fetch's goroutine uses it.
	array []fetched
	// ahead is the bytes of buf, counted in the budget's read-ahead.
	ahead atomic.Int64
}

// fetched is one message read by partitionReader.fetch; control marks a
// transaction marker, which is no event; bytes is its messageBytes, moved
// from the budget's read-ahead to its pending part when it was handed over.
type fetched struct {
	kafka.Message
	control bool
	bytes   int64
}

// openReader returns a reader of p positioned at p.start.
func (c *Consumer) openReader(p *partition) *partitionReader {
	return &partitionReader{
		client: c.client, budget: c.budget, topic: p.topic, partition: p.id,
		reserve: fetchReserve(c.cfg.MaxPendingBytes), offset: p.start,
		offsets:   func(ctx context.Context) (int64, int64, error) { return c.partitionOffsets(ctx, p.topic, p.id) },
		sameTopic: func(ctx context.Context) error { return c.sameTopicID(ctx, p.topic) },
	}
}

// fetchReserve is the read-ahead reservation, and MaxBytes, of one fetch:
// fetchMaxBytes, at most half the byte budget.
func fetchReserve(limit int64) int64 {
	if limit <= 0 {
		return fetchMaxBytes
	}
	return max(1, min(fetchMaxBytes, limit/2))
}

// fetch returns the next message, fetching when none is left. An error
// wraps errOutOfRange when the position is past the partition's end; other
// errors may be retried.
func (pr *partitionReader) fetch(ctx context.Context) (fetched, error) {
	for len(pr.buf) == 0 {
		if err := pr.fill(ctx); err != nil {
			return fetched{}, err
		}
	}
	m := pr.buf[0]
	pr.buf[0] = fetched{}
	pr.buf = pr.buf[1:]
	if len(pr.buf) == 0 {
		pr.drained()
	}
	pr.ahead.Add(-m.bytes)
	pr.budget.handOver(m.bytes)
	return m, nil
}

// fill sends one fetch within a read-ahead reservation and keeps what it
// brought, settling the reservation to its size: a record batch larger
// than the reservation comes whole (the broker sends at least one) and is
// counted in full. An offset before the log start moves to the first
// offset (the fetch loop counts the events lost); one past the end is
// errOutOfRange. Records from a topic recreated since the generation
// started are dropped, unread, with errRecreated.
func (pr *partitionReader) fill(ctx context.Context) error {
	if pr.offset < 0 {
		first, _, err := pr.offsets(ctx)
		if err != nil {
			return err
		}
		pr.offset = first
	}
	if err := pr.budget.reserve(ctx, pr.reserve); err != nil {
		return err
	}
	fctx, cancel := context.WithTimeout(ctx, fetchMaxWait+fetchTimeout)
	resp, err := pr.client.Fetch(fctx, &kafka.FetchRequest{
		Topic: pr.topic, Partition: pr.partition, Offset: pr.offset,
		MinBytes: 1, MaxBytes: pr.reserve, MaxWait: fetchMaxWait,
		IsolationLevel: kafka.ReadUncommitted, // as kafka.Reader's default: aborted records are delivered
	})
	cancel()
	if err != nil {
		pr.budget.settle(pr.reserve, 0)
		return fmt.Errorf("fetch %s/%d at %d: %w", pr.topic, pr.partition, pr.offset, err)
	}
	msgs, n, err := readRecords(resp, pr.offset, getFetched())
	if len(msgs) > 0 && pr.sameTopic != nil {
		if serr := pr.sameTopic(ctx); serr != nil {
			putFetched(msgs)
			pr.budget.settle(pr.reserve, 0)
			return fmt.Errorf("fetch %s/%d at %d: %w", pr.topic, pr.partition, pr.offset, serr)
		}
	}
	pr.buf, pr.array = msgs, msgs
	if len(msgs) == 0 {
		pr.drained()
	}
	pr.ahead.Store(n)
	pr.budget.settle(pr.reserve, n)
	if len(msgs) > 0 {
		pr.offset = msgs[len(msgs)-1].Offset + 1
	}
	if err != nil {
		return fmt.Errorf("fetch %s/%d at %d: %w", pr.topic, pr.partition, pr.offset, err)
	}
	if errors.Is(resp.Error, kafka.OffsetOutOfRange) {
		return pr.outOfRange(ctx)
	}
	if resp.Error != nil {
		return fmt.Errorf("fetch %s/%d at %d: %w", pr.topic, pr.partition, pr.offset, resp.Error)
	}
	if len(msgs) > 0 {
		return nil
	}
	if s, ok := resp.Records.(*protocol.RecordStream); ok && len(s.Records) > 0 {
		// Batches, but no record at or above the offset (the rest of a
		// batch compacted away): the answer names no next offset, so the
		// next fetch is spaced instead of sent at once.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(fetchMaxWait):
		}
	}
	return nil
}

// outOfRange handles a fetch answered "offset out of range", as kafka.Reader
// does with OffsetOutOfRangeError set: a position before the first offset
// moves to it, one past the end is errOutOfRange, another is retried.
func (pr *partitionReader) outOfRange(ctx context.Context) error {
	first, end, err := pr.offsets(ctx)
	if err != nil {
		return fmt.Errorf("fetch %s/%d at %d out of range: %w", pr.topic, pr.partition, pr.offset, err)
	}
	switch {
	case pr.offset < first:
		pr.offset = first
		return nil
	case pr.offset > end:
		return fmt.Errorf("%w: %d, end %d: %w", errOutOfRange, pr.offset, end, kafka.OffsetOutOfRange)
	default:
		return fmt.Errorf("fetch %s/%d at %d: %w", pr.topic, pr.partition, pr.offset, kafka.OffsetOutOfRange)
	}
}

// drained gives the array of the messages, all handed over, back to
// fetchedArrays.
func (pr *partitionReader) drained() {
	putFetched(pr.array)
	pr.array = nil
}

// fetchedArrays holds empty arrays for the messages of a fetch, so that a
// reader's fetches reuse one (a fetch of 1,000 events fills 170 KB);
// what no reader takes back is freed by the collector like any pooled
// item.
var fetchedArrays sync.Pool // of *[]fetched

// getFetched returns an empty []fetched, with an array from
// fetchedArrays when it has one.
func getFetched() []fetched {
	if a, ok := fetchedArrays.Get().(*[]fetched); ok {
		return (*a)[:0]
	}
	return nil
}

// putFetched clears a and gives it to fetchedArrays.
func putFetched(a []fetched) {
	if cap(a) == 0 {
		return
	}
	a = a[:cap(a)]
	clear(a)
	a = a[:0]
	fetchedArrays.Put(&a)
}

// readRecords copies the records of resp at offset from or above out of the
// answer, transaction markers included, appends them to out (empty, its
// array reused) and returns them with their total messageBytes. The broker
// may start a batch below the offset asked for; those records are skipped.
func readRecords(resp *kafka.FetchResponse, from int64, out []fetched) ([]fetched, int64, error) {
	var n int64
	for _, batch := range recordBatches(resp.Records) {
		for {
			rec, err := batch.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return out, n, fmt.Errorf("read records: %w", err)
			}
			if rec.Offset < from {
				closeBytes(rec.Key)
				closeBytes(rec.Value)
				continue
			}
			m, err := recordMessage(resp, rec)
			if err != nil {
				return out, n, err
			}
			f := fetched{Message: m, control: kafkaread.TxnMarker(m), bytes: messageBytes(m)}
			out = append(out, f)
			n += f.bytes
		}
	}
	return out, n, nil
}

// recordBatches returns the record batches of a fetch answer. Reading the
// answer as one stream would skip the control batches (transaction
// markers), whose offsets must be finished like any other.
func recordBatches(r kafka.RecordReader) []kafka.RecordReader {
	if s, ok := r.(*protocol.RecordStream); ok {
		return s.Records
	}
	return []kafka.RecordReader{r}
}

// recordMessage copies rec's key and value out of the answer resp, into one
// array (the key capped at its length), and closes them, which gives their
// buffers back to kafka-go; a nil key or value stays nil.
func recordMessage(resp *kafka.FetchResponse, rec *kafka.Record) (kafka.Message, error) {
	defer closeBytes(rec.Key)
	defer closeBytes(rec.Value)
	m := kafka.Message{
		Topic: resp.Topic, Partition: resp.Partition, Offset: rec.Offset,
		HighWaterMark: resp.HighWatermark, Time: rec.Time, Headers: rec.Headers,
	}
	kn, vn := bytesLen(rec.Key), bytesLen(rec.Value)
	if kn+vn == 0 {
		m.Key, m.Value = emptyOrNil(rec.Key), emptyOrNil(rec.Value)
		return m, nil
	}
	b := make([]byte, kn+vn)
	if rec.Key != nil {
		m.Key = b[:kn:kn]
		if _, err := io.ReadFull(rec.Key, m.Key); err != nil {
			return m, fmt.Errorf("read record key: %w", err)
		}
	}
	if rec.Value != nil {
		m.Value = b[kn:]
		if _, err := io.ReadFull(rec.Value, m.Value); err != nil {
			return m, fmt.Errorf("read record value: %w", err)
		}
	}
	return m, nil
}

// bytesLen is b's length, 0 for nil.
func bytesLen(b protocol.Bytes) int {
	if b == nil {
		return 0
	}
	return b.Len()
}

// emptyOrNil is nil for a nil b, else an empty slice.
func emptyOrNil(b protocol.Bytes) []byte {
	if b == nil {
		return nil
	}
	return []byte{}
}

// closeBytes closes b unless it is nil.
func closeBytes(b protocol.Bytes) {
	if b != nil {
		_ = b.Close() // gives a buffer back; nothing to report
	}
}

// close gives the bytes of the messages not handed over back to the budget.
// It must not run concurrently with fetch.
func (pr *partitionReader) close() {
	pr.budget.releaseAhead(pr.ahead.Swap(0))
	pr.buf, pr.array = nil, nil
}

// closeWithin runs closeFn and waits for it at most bound; it reports
// whether closeFn returned in time (if not, it keeps running on its own).
func closeWithin(bound time.Duration, closeFn func()) bool {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		closeFn()
	}()
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-closed:
		return true
	case <-t.C:
		return false
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

// partitionOffsets returns the first and end (high watermark) offsets of
// topic/partition.
func (c *Consumer) partitionOffsets(ctx context.Context, topic string, partition int) (first, end int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, offsetsTimeout)
	defer cancel()
	resp, err := c.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.FirstOffsetOf(partition), kafka.LastOffsetOf(partition)},
	}})
	if err != nil {
		return 0, 0, fmt.Errorf("offsets of %s/%d: %w", topic, partition, err)
	}
	for _, po := range resp.Topics[topic] {
		if po.Partition != partition {
			continue
		}
		if po.Error != nil {
			return 0, 0, fmt.Errorf("offsets of %s/%d: %w", topic, partition, po.Error)
		}
		return po.FirstOffset, po.LastOffset, nil
	}
	return 0, 0, fmt.Errorf("offsets of %s/%d: not in the answer", topic, partition)
}

// kafkaLogger routes kafka-go's error log to debug: the errors that matter
// surface through Next, fetch and commits and are logged there.
func kafkaLogger(l zerolog.Logger) kafka.Logger {
	return kafka.LoggerFunc(func(msg string, args ...any) {
		l.Debug().Str("source", "kafka-go").Msgf(msg, args...)
	})
}

// heartbeatUntil sends gen's heartbeats every interval until stop is
// called, which waits for it to return. A refused heartbeat (the group is
// rebalancing, or the member is gone) ends it: the final commit then tells.
func (c *Consumer) heartbeatUntil(gen *kafka.Generation, interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			hctx, hcancel := context.WithTimeout(ctx, interval)
			resp, err := c.client.Heartbeat(hctx, &kafka.HeartbeatRequest{
				GroupID: gen.GroupID, GenerationID: gen.ID, MemberID: gen.MemberID,
			})
			hcancel()
			if err == nil && resp.Error != nil {
				err = resp.Error
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				c.log.Debug().Err(err).Int32("generation", gen.ID).Msg("heartbeat while draining refused; stopping them")
				return
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
