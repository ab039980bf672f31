package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/dlq"
)

// ErrNotCompacted means the ledger topic does not compact by key: it would
// keep every delivery of every order, and a restore would read them all.
var ErrNotCompacted = errors.New("the topic does not compact (cleanup.policy lacks compact): " +
	"the ledger keeps one record per order; use cleanup.policy=compact")

// CheckTopic returns an error wrapping ErrNotCompacted when topic's
// cleanup.policy lacks compact. Other errors say the check could not be made.
func CheckTopic(ctx context.Context, transport *kafka.Transport, brokers []string, topic string) error {
	policy, err := dlq.TopicConfig(ctx, transport, brokers, topic, "cleanup.policy")
	if err != nil {
		return err
	}
	if !strings.Contains(policy, "compact") {
		return fmt.Errorf("%s has cleanup.policy=%q: %w", topic, policy, ErrNotCompacted)
	}
	return nil
}

// EnsureTopic creates the ledger topic when it does not exist, with the
// partition count and replication factor of the source topic like, and
// cleanup.policy=compact,delete with retention.ms = retention: each order
// keeps its last record, and an order delivered longer ago is deleted.
// It reports whether it created the topic.
func EnsureTopic(ctx context.Context, transport *kafka.Transport, brokers []string, topic, like string, retention time.Duration) (bool, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: transport}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic, like}})
	if err != nil {
		return false, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	partitions, replicas := 1, -1
	for _, t := range md.Topics {
		switch {
		case t.Name == topic && t.Error == nil && len(t.Partitions) > 0:
			return false, nil
		case t.Name == like && t.Error == nil && len(t.Partitions) > 0:
			partitions, replicas = len(t.Partitions), len(t.Partitions[0].Replicas)
		}
	}
	configs := []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact,delete"}}
	if retention > 0 {
		configs = append(configs, kafka.ConfigEntry{ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(retention.Milliseconds(), 10)})
	}
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: replicas, ConfigEntries: configs,
	}}})
	if err != nil {
		return false, fmt.Errorf("create topic %s: %w", topic, err)
	}
	switch err := res.Errors[topic]; {
	case errors.Is(err, kafka.TopicAlreadyExists):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("create topic %s: %w", topic, err)
	}
	return true, nil
}

// Partitions returns the partition count of the ledger topic.
func Partitions(ctx context.Context, transport *kafka.Transport, brokers []string, topic string) (int, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: transport}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	for _, t := range md.Topics {
		if t.Name == topic {
			if t.Error != nil {
				return 0, fmt.Errorf("metadata of %s: %w", topic, t.Error)
			}
			return len(t.Partitions), nil
		}
	}
	return 0, fmt.Errorf("metadata of %s: %w", topic, kafka.UnknownTopicOrPartition)
}
