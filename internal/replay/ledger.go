package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// position identifies one dead-letter record.
type position struct {
	Topic     string
	Partition int
	Offset    int64
}

func (p position) String() string {
	return p.Topic + "/" + strconv.Itoa(p.Partition) + "/" + strconv.FormatInt(p.Offset, 10)
}

// ledgerEntry is the value of one ledger record: a dead-letter record that
// was republished. The dead-letter record's timestamp tells a record apart
// from a later one at the same position after the topic was recreated.
type ledgerEntry struct {
	DLQTopic     string    `json:"dlq_topic"`
	DLQPartition int       `json:"dlq_partition"`
	DLQOffset    int64     `json:"dlq_offset"`
	DLQTimestamp int64     `json:"dlq_timestamp_ms"`
	To           string    `json:"to"`
	ReplayCount  int       `json:"replay_count"`
	ReplayedAt   time.Time `json:"replayed_at"`
}

// ledger is the set of dead-letter records already republished, keyed by
// position, holding the dead-letter record's timestamp in milliseconds.
type ledger map[position]int64

// has reports whether the record m of dlqTopic was republished before.
func (l ledger) has(dlqTopic string, m message) bool {
	ts, ok := l[position{Topic: dlqTopic, Partition: m.Partition, Offset: m.Offset}]
	return ok && ts == m.Time.UnixMilli()
}

// loadLedger reads the whole ledger topic up to its high watermark. A
// missing topic is an empty ledger; exists says which it was. Entries of
// other dead-letter topics are ignored.
func loadLedger(ctx context.Context, client *kafka.Client, topic, dlqTopic string) (l ledger, exists bool, err error) {
	spans, _, ok, err := topicSpans(ctx, client, topic)
	if err != nil || !ok {
		return ledger{}, false, err
	}
	l = ledger{}
	for _, s := range spans {
		err := scanSpan(ctx, client, topic, s, func(m message) (bool, error) {
			var e ledgerEntry
			if err := json.Unmarshal(m.Value, &e); err != nil {
				return false, fmt.Errorf("ledger %s/%d at %d: %w", topic, m.Partition, m.Offset, ErrBadLedger)
			}
			if e.DLQTopic == dlqTopic {
				l[position{Topic: e.DLQTopic, Partition: e.DLQPartition, Offset: e.DLQOffset}] = e.DLQTimestamp
			}
			return true, nil
		})
		if err != nil {
			return nil, true, fmt.Errorf("read ledger: %w", err)
		}
	}
	return l, true, nil
}

// checkLedgerPolicy returns an error wrapping ErrLedgerNotCompacted when the
// ledger topic's cleanup.policy does not include compact.
func checkLedgerPolicy(ctx context.Context, client *kafka.Client, topic string) error {
	res, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"cleanup.policy"},
	}}})
	if err != nil {
		return fmt.Errorf("describe ledger topic %s: %w", topic, err)
	}
	policy := ""
	for _, r := range res.Resources {
		if r.Error != nil {
			return fmt.Errorf("describe ledger topic %s: %w", topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "cleanup.policy" {
				policy = e.ConfigValue
			}
		}
	}
	if !strings.Contains(policy, "compact") {
		return fmt.Errorf("%s (cleanup.policy=%s): %w", topic, policy, ErrLedgerNotCompacted)
	}
	return nil
}

// createLedger creates the ledger topic: one partition, the replication of
// the dead-letter topic, compacted. Keys are unique per dead-letter record,
// so compaction never drops an entry while retention never expires one.
func createLedger(ctx context.Context, client *kafka.Client, topic string, replicas int) error {
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic:             topic,
		NumPartitions:     1,
		ReplicationFactor: max(replicas, 1),
		ConfigEntries:     []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}},
	}}})
	if err != nil {
		return fmt.Errorf("create ledger topic %s: %w", topic, err)
	}
	if err := res.Errors[topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create ledger topic %s: %w", topic, err)
	}
	return nil
}

// ledgerMessage returns the ledger record noting that d was republished to
// topic.
func ledgerMessage(ledgerTopic, dlqTopic string, d deadLetter, to string, at time.Time) (kafka.Message, error) {
	e := ledgerEntry{
		DLQTopic:     dlqTopic,
		DLQPartition: d.Partition,
		DLQOffset:    d.Offset,
		DLQTimestamp: d.Time.UnixMilli(),
		To:           to,
		ReplayCount:  d.dl.ReplayCount + 1,
		ReplayedAt:   at.UTC(),
	}
	value, err := json.Marshal(e)
	pos := position{Topic: dlqTopic, Partition: d.Partition, Offset: d.Offset}
	if err != nil {
		return kafka.Message{}, fmt.Errorf("ledger entry for %s: %w", pos, err)
	}
	return kafka.Message{Topic: ledgerTopic, Key: []byte(pos.String()), Value: value}, nil
}
