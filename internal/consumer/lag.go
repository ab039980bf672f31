package consumer

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"
)

// lagReadTimeout bounds the read of the partitions' end offsets made for
// PartitionStates.
const lagReadTimeout = 2 * time.Second

// PartitionStates calls yield for each partition this instance holds now,
// with the group's committed offset (the next offset to consume) and the lag:
// the partition's high watermark minus that offset. The high watermarks are
// read from the brokers first, within lagReadTimeout; a partition whose read
// fails keeps the last one seen on fetch. Partitions given up in a rebalance
// are not reported: their series end with the assignment.
func (c *Consumer) PartitionStates(yield func(topic string, partition int, committed, lag int64)) {
	c.mu.Lock()
	parts := c.parts
	c.mu.Unlock()
	if len(parts) == 0 {
		return
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, p := range parts {
		req.Topics[p.topic] = append(req.Topics[p.topic], kafka.FirstOffsetOf(p.id), kafka.LastOffsetOf(p.id))
	}
	ctx, cancel := context.WithTimeout(context.Background(), lagReadTimeout)
	defer cancel()
	first := map[topicPartition]int64{}
	if resp, err := c.client.ListOffsets(ctx, req); err == nil {
		for t, pos := range resp.Topics {
			for _, po := range pos {
				if po.Error == nil {
					first[topicPartition{t, po.Partition}] = po.FirstOffset
					c.seenEnd(parts, t, po.Partition, po.LastOffset)
				}
			}
		}
	}
	for _, p := range parts {
		end, committed := p.tracker.positions()
		if committed < 0 {
			committed = p.start // the committed offset at the assignment
		}
		if committed < 0 {
			f, ok := first[topicPartition{p.topic, p.id}]
			if !ok {
				continue // nothing committed and the log start unknown
			}
			committed = f
		}
		if end < 0 {
			continue
		}
		yield(p.topic, p.id, committed, max(end-committed, 0))
	}
}

func (c *Consumer) seenEnd(parts []*partition, topic string, id int, end int64) {
	for _, p := range parts {
		if p.topic == topic && p.id == id {
			p.tracker.seenEnd(end)
		}
	}
}
