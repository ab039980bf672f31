package dlq

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestEnsureTopicCreatesLikeTheSource(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(4, "orders"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	brokers := c.ListenAddrs()
	created, err := EnsureTopic(ctx, nil, brokers, "orders.dlq", "orders")
	if err != nil || !created {
		t.Fatalf("first call: created %v, err %v", created, err)
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{"orders.dlq"}})
	if err != nil || len(md.Topics) != 1 || len(md.Topics[0].Partitions) != 4 {
		t.Fatalf("orders.dlq metadata %+v, err %v; want 4 partitions", md, err)
	}
	created, err = EnsureTopic(ctx, nil, brokers, "orders.dlq", "orders")
	if err != nil || created {
		t.Errorf("second call: created %v, err %v; want an existing topic left alone", created, err)
	}
	if created, err := EnsureTopic(ctx, nil, brokers, "other.dlq", "missing"); err != nil || !created {
		t.Errorf("unknown source: created %v, err %v", created, err)
	}
}
