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
//   - Transaction markers (kafka-go #1332): the Reader hands control records
//     to the application like any other. partitionReader.fetch flags them
//     (fetched.control); their offsets are finished without processing.
//   - Close (kafka-go #1248): ConsumerGroup.Close and Reader.Close can hang
//     or wait out ReadBatchTimeout. closeWithin bounds the wait.
//   - Partition changes: the group's WatchPartitionChanges ends every
//     generation at once while a source topic is missing, a rejoin storm.
//     partitionCount reads the source topics' partition counts for the
//     watcher (watch.go), which ends a generation only when they change.
//   - Offsets out of range: by default a Reader retries a position past the
//     partition's end for ever (the topic was recreated or truncated) and
//     moves to the log start without a word when retention removed unread
//     events. partitionReader reports the first as errOutOfRange, and
//     partitionOffsets reads a partition's first and end offsets, with which
//     offsets.go restarts the partition or counts the events lost.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/offsetcommit"
)

// offsetsTimeout bounds one read of a partition's first and end offsets.
const offsetsTimeout = 5 * time.Second

// readerQueue is the capacity of each partition reader's queue of messages
// fetched ahead of the byte budget (see docs/reliability.md).
const readerQueue = 4

// errOutOfRange means a partition reader's position is outside the
// partition's offsets: the topic was recreated or truncated.
var errOutOfRange = errors.New("fetch position out of the partition's range")

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

// partitionReader reads one partition from a given offset.
type partitionReader struct {
	r *kafka.Reader

	mu     sync.Mutex
	read   int64 // key and value bytes kafka-go's read loop has read, as of the last readAhead
	handed int64 // key and value bytes fetch has returned
}

// fetched is one message read by partitionReader.fetch; control marks a
// transaction marker, which is no event.
type fetched struct {
	kafka.Message
	control bool
}

// openReader returns a reader of p positioned at p.start.
func (c *Consumer) openReader(p *partition) *partitionReader {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:          c.cfg.Brokers,
		Topic:            p.topic,
		Partition:        p.id,
		Dialer:           c.cfg.Dialer,
		MinBytes:         1,
		MaxBytes:         1 << 20,
		MaxWait:          500 * time.Millisecond,
		ReadBatchTimeout: 5 * time.Second,
		// kafka-go's queue of fetched messages sits outside the byte
		// budget: kept short, it holds at most readerQueue messages.
		QueueCapacity:         readerQueue,
		ReadLagInterval:       -1,
		OffsetOutOfRangeError: true,
		ErrorLogger:           kafkaLogger(p.log),
	})
	if err := r.SetOffset(p.start); err != nil {
		p.log.Error().Err(err).Msg("set fetch offset") // only fails on a closed reader
	}
	return &partitionReader{r: r}
}

// fetch returns the next message. An error wraps errOutOfRange when the
// position is outside the partition's offsets; other errors may be retried.
func (pr *partitionReader) fetch(ctx context.Context) (fetched, error) {
	m, err := pr.r.FetchMessage(ctx)
	if err == nil {
		pr.mu.Lock()
		pr.handed += int64(len(m.Key) + len(m.Value))
		pr.mu.Unlock()
	}
	if errors.Is(err, kafka.OffsetOutOfRange) {
		return fetched{}, fmt.Errorf("%w: %w", errOutOfRange, err)
	}
	if err != nil {
		return fetched{}, err
	}
	return fetched{Message: m, control: txnMarker(m)}, nil
}

// readAhead returns the key and value bytes of the messages kafka-go has
// read for pr and fetch has not returned yet: the reader's queue and the
// message its read loop holds. These bytes are outside the byte budget.
func (pr *partitionReader) readAhead() int64 {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.read += pr.r.Stats().Bytes // Stats counts the bytes read since its last call
	return pr.read - pr.handed
}

// close closes the reader in the background; the channel is closed once it
// is closed.
func (pr *partitionReader) close() <-chan struct{} {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = pr.r.Close() // always nil
	}()
	return closed
}

// txnMarker reports whether m is a transaction marker (a Kafka control
// record) rather than an event. A marker's key is the control record type
// — version 0, type 0 (abort) or 1 (commit) as two big-endian int16 — and
// its value the end-transaction marker, a big-endian int16 version 0 and an
// int32 coordinator epoch. No order event looks like that: a JSON value
// never starts with a zero byte.
func txnMarker(m kafka.Message) bool {
	k, v := m.Key, m.Value
	return len(k) == 4 && k[0] == 0 && k[1] == 0 && k[2] == 0 && k[3] <= 1 &&
		len(v) == 6 && v[0] == 0 && v[1] == 0 && len(m.Headers) == 0
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
