package dlq

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

func TestEnsureTopicCreatesLikeTheSource(t *testing.T) {
	brokers, ctx, tr := topicCluster(t, 4, map[string]map[string]string{"orders": {"max.message.bytes": "3145728"}})
	created, err := EnsureTopic(ctx, nil, tr, brokers, "orders.dlq", "orders")
	if err != nil || !created {
		t.Fatalf("first call: created %v, err %v", created, err)
	}
	if n, ok := maxMessageBytes(ctx, tr, brokers, "orders.dlq"); !ok || n != 3145728+headroom {
		t.Errorf("orders.dlq max.message.bytes = %d (%v), want the source's 3145728 + %d for the headers", n, ok, headroom)
	}
	// A transport of its own: tr cached the cluster's topics before orders.dlq existed.
	mdTransport := &kafka.Transport{}
	defer mdTransport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: mdTransport}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{"orders.dlq"}})
	if err != nil || len(md.Topics) != 1 || len(md.Topics[0].Partitions) != 4 {
		t.Fatalf("orders.dlq metadata %+v, err %v; want 4 partitions", md, err)
	}
	created, err = EnsureTopic(ctx, nil, tr, brokers, "orders.dlq", "orders")
	if err != nil || created {
		t.Errorf("second call: created %v, err %v; want an existing topic left alone", created, err)
	}
	if created, err := EnsureTopic(ctx, nil, tr, brokers, "other.dlq", "missing"); err != nil || !created {
		t.Errorf("unknown source: created %v, err %v", created, err)
	}
}

func TestCheckTopic(t *testing.T) {
	brokers, ctx, tr := topicCluster(t, 1, map[string]map[string]string{
		"orders.dlq": nil, "compacted.dlq": {"cleanup.policy": "compact,delete"}})
	if err := CheckTopic(ctx, tr, brokers, "orders.dlq"); err != nil {
		t.Errorf("a delete-policy topic: %v", err)
	}
	if err := CheckTopic(ctx, tr, brokers, "compacted.dlq"); !errors.Is(err, ErrCompacted) {
		t.Errorf("a compacted topic: %v, want ErrCompacted", err)
	}
	if created, err := EnsureTopic(ctx, nil, tr, brokers, "new.dlq", "orders.dlq"); err != nil || !created {
		t.Fatalf("EnsureTopic: created %v, err %v", created, err)
	}
	if err := CheckTopic(ctx, tr, brokers, "new.dlq"); err != nil {
		t.Errorf("the topic EnsureTopic created: %v", err)
	}
}

// topicCluster starts a broker holding topics (name → configs), each with
// partitions partitions, and returns its addresses, a context for the
// test's requests and a transport.
func topicCluster(t *testing.T, partitions int32, topics map[string]map[string]string) ([]string, context.Context, *kafka.Transport) {
	t.Helper()
	c := kafkatest.Cluster(t)
	for name, configs := range topics {
		if err := c.CreateTopic(name, partitions, configs); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	tr := &kafka.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return c.ListenAddrs(), ctx, tr
}
