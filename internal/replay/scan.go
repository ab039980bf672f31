package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
)

const (
	fetchMaxBytes = 4 << 20
	fetchMaxWait  = 500 * time.Millisecond
)

// span is the part of one partition a run reads: [first, end), end being
// the high watermark taken when the run started.
type span struct {
	Partition int
	First     int64
	End       int64
}

// topicSpans returns, per partition in ascending order, the offsets a run
// reads. ok is false when the topic does not exist.
func topicSpans(ctx context.Context, client *kafka.Client, topic string) (spans []span, replicas int, ok bool, err error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, 0, false, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	var parts []int
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
			return nil, 0, false, nil
		}
		if t.Error != nil {
			return nil, 0, false, fmt.Errorf("metadata of %s: %w", topic, t.Error)
		}
		for _, p := range t.Partitions {
			parts = append(parts, p.ID)
			replicas = max(replicas, len(p.Replicas))
		}
	}
	if len(parts) == 0 {
		return nil, 0, false, nil
	}
	slices.Sort(parts)

	reqs := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, 0, false, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	for _, po := range res.Topics[topic] {
		if po.Error != nil {
			return nil, 0, false, fmt.Errorf("list offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		spans = append(spans, span{Partition: po.Partition, First: po.FirstOffset, End: po.LastOffset})
	}
	if len(spans) != len(parts) {
		return nil, 0, false, fmt.Errorf("list offsets of %s: %d of %d partitions answered", topic, len(spans), len(parts))
	}
	slices.SortFunc(spans, func(a, b span) int { return a.Partition - b.Partition })
	return spans, replicas, true, nil
}

// topicExists reports whether topic exists.
func topicExists(ctx context.Context, client *kafka.Client, topic string) (bool, error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return false, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
			return false, nil
		}
		if t.Error != nil {
			return false, fmt.Errorf("metadata of %s: %w", topic, t.Error)
		}
		return len(t.Partitions) > 0, nil
	}
	return false, nil
}

// scanSpan calls fn for each record of s in offset order and stops at the
// end of the span, or early when fn returns false or an error.
func scanSpan(ctx context.Context, client *kafka.Client, topic string, s span, fn func(message) (bool, error)) error {
	offset := s.First
	for offset < s.End {
		res, err := client.Fetch(ctx, &kafka.FetchRequest{
			Topic:     topic,
			Partition: s.Partition,
			Offset:    offset,
			MinBytes:  1,
			MaxBytes:  fetchMaxBytes,
			MaxWait:   fetchMaxWait,
		})
		if err != nil {
			return fmt.Errorf("fetch %s/%d at %d: %w", topic, s.Partition, offset, err)
		}
		if res.Error != nil {
			// Retention may have deleted the start of the span meanwhile.
			if errors.Is(res.Error, kafka.OffsetOutOfRange) && res.LogStartOffset > offset {
				offset = res.LogStartOffset
				continue
			}
			return fmt.Errorf("fetch %s/%d at %d: %w", topic, s.Partition, offset, res.Error)
		}
		next, more, err := readRecords(res.Records, s, offset, fn)
		if err != nil || !more {
			return err
		}
		if next == offset {
			return fmt.Errorf("fetch %s/%d at %d: %w", topic, s.Partition, offset, ErrNoProgress)
		}
		offset = next
	}
	return nil
}

// readRecords hands the records of one fetch response in [from, s.End) to
// fn and returns the offset to fetch next, and whether to go on.
func readRecords(rr kafka.RecordReader, s span, from int64, fn func(message) (bool, error)) (next int64, more bool, err error) {
	next = from
	for {
		r, err := rr.ReadRecord()
		if errors.Is(err, io.EOF) {
			return next, true, nil
		}
		if err != nil {
			return next, false, fmt.Errorf("read record of partition %d at %d: %w", s.Partition, next, err)
		}
		if r.Offset < next {
			continue // a batch may start before the offset asked for
		}
		if r.Offset >= s.End {
			return r.Offset, false, nil
		}
		m, err := copyRecord(s.Partition, r)
		if err != nil {
			return next, false, err
		}
		next = r.Offset + 1
		goOn, err := fn(m)
		if err != nil || !goOn {
			return next, false, err
		}
	}
}

// copyRecord copies r out of the fetch buffers.
func copyRecord(partition int, r *kafka.Record) (message, error) {
	key, err := kafka.ReadAll(r.Key)
	if err != nil {
		return message{}, fmt.Errorf("read key of partition %d at %d: %w", partition, r.Offset, err)
	}
	value, err := kafka.ReadAll(r.Value)
	if err != nil {
		return message{}, fmt.Errorf("read value of partition %d at %d: %w", partition, r.Offset, err)
	}
	headers := make([]kafka.Header, len(r.Headers))
	for i, h := range r.Headers {
		headers[i] = kafka.Header{Key: h.Key, Value: slices.Clone(h.Value)}
	}
	return message{Partition: partition, Offset: r.Offset, Time: r.Time, Key: key, Value: value, Headers: headers}, nil
}
