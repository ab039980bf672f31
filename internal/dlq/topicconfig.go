package dlq

import (
	"context"

	"github.com/segmentio/kafka-go"
)

// TopicConfig returns the value of topic's setting name as the broker
// describes it ("" when it names none), for the other topics the worker
// checks at start (the delivery ledger's).
func TopicConfig(ctx context.Context, transport *kafka.Transport, brokers []string, topic, name string) (string, error) {
	return topicConfig(ctx, transport, brokers, topic, name)
}
