package dlq

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

// TestProducerBatchWithTooLargeMessages writes one batch to two topics: a
// message over kafka-go's 1 MiB batch limit is written alone where the topic
// takes it, and refused alone, with its own error, where it does not.
func TestProducerBatchWithTooLargeMessages(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SeedTopics(1, "big"),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(8 << 20)}))
	brokers := c.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tr := &kafka.Transport{}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: "small", NumPartitions: 1, ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(1 << 20)}},
	}}})
	if err != nil || res.Errors["small"] != nil {
		t.Fatalf("create small: %v %v", err, res)
	}
	p, err := NewProducer(ProducerConfig{Brokers: brokers, Transport: tr, WriteTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	}()

	huge := []byte(strings.Repeat("x", 2<<20))
	msgs := []kafka.Message{
		{Topic: "small", Key: []byte("a"), Value: []byte("fits")},
		{Topic: "big", Key: []byte("b"), Value: huge},
		{Topic: "small", Key: []byte("c"), Value: huge},
	}
	err = p.Write(ctx, msgs...)
	var perMsg kafka.WriteErrors
	if !errors.As(err, &perMsg) || len(perMsg) != len(msgs) {
		t.Fatalf("Write = %v, want one error per message", err)
	}
	if perMsg[0] != nil || perMsg[1] != nil || !TooLarge(perMsg[2]) {
		t.Fatalf("errors %v, want nil, nil and too large (a broker error code, not wrapped)", []error(perMsg))
	}
	if got := kafkatest.ReadTopic(t, brokers[0], "big"); len(got) != 1 || len(got[0].Value) != len(huge) {
		t.Errorf("big holds %d records, want the 2 MiB one", len(got))
	}
	if got := kafkatest.ReadTopic(t, brokers[0], "small"); len(got) != 1 || string(got[0].Value) != "fits" {
		t.Errorf("small holds %d records, want only the one that fits", len(got))
	}
}

func TestNewProducerValidates(t *testing.T) {
	if _, err := NewProducer(ProducerConfig{}); !errors.Is(err, ErrNoBrokers) {
		t.Errorf("NewProducer without brokers: %v, want ErrNoBrokers", err)
	}
}
