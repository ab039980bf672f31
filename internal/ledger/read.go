package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// ScanTopic calls fn with every record of every partition of topic, from
// the first offset to the end when called, partition by partition in
// offset order, for the commands that read a whole topic (worker ledger,
// report, replay --dry-run). A nil dialer means kafka.DefaultDialer.
func ScanTopic(ctx context.Context, dialer *kafka.Dialer, transport *kafka.Transport, brokers []string, topic string,
	fn func(kafka.Message)) error {
	if dialer == nil {
		dialer = kafka.DefaultDialer
	}
	n, err := Partitions(ctx, transport, brokers, topic)
	if err != nil {
		return err
	}
	for p := range n {
		if _, err := scanPartition(ctx, dialer, brokers, topic, p, 10*time.Second, fn); err != nil {
			return fmt.Errorf("read %s/%d: %w", topic, p, err)
		}
	}
	return nil
}

// Latest reads the ledger topic and returns each order's last record by
// ledger key (the topic's order is delivery order; compaction may not have
// run yet), and how many values it could not decode.
func Latest(ctx context.Context, dialer *kafka.Dialer, transport *kafka.Transport, brokers []string, topic string) (map[string]Record, int, error) {
	out := map[string]Record{}
	bad := 0
	err := ScanTopic(ctx, dialer, transport, brokers, topic, func(m kafka.Message) {
		if m.Value == nil {
			delete(out, string(m.Key))
			return
		}
		r, err := Unmarshal(m.Value)
		if err != nil {
			bad++
			return
		}
		if prev, ok := out[string(m.Key)]; ok && prev.DeliveredAt.After(r.DeliveredAt) {
			return // two partitions held the order (a source repartitioned): the later delivery wins
		}
		out[string(m.Key)] = r
	})
	return out, bad, err
}

// Load builds the guard's State from each order's last record.
func Load(latest map[string]Record, retention time.Duration, now time.Time) *State {
	s := NewState(retention)
	for _, r := range latest {
		s.Put(r, now)
	}
	return s
}
