package dlq

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWriterWritesDurablyAndSurvivesFault(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SeedTopics(3, "orders.dlq"))
	brokers := c.ListenAddrs()
	w, err := NewWriter(WriterConfig{Brokers: brokers, Topic: "orders.dlq", WriteTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	rec := Record{
		Topic: "orders", Partition: 1, Offset: 42, Timestamp: time.Now(),
		Key: []byte("order-1"), Value: []byte(`{"x":1}`),
		Headers:  []kafka.Header{{Key: "h", Value: []byte("v")}},
		Failure:  Failure{Class: ClassRejected, Code: "PARAM_ERROR", HTTPStatus: 400, Attempts: 1, Message: "bad"},
		FailedAt: time.Now(),
	}

	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "orders.dlq", Err: kerr.NotEnoughReplicas, Count: -1})
	err = w.Write(ctx, rec)
	if !errors.Is(err, kafka.NotEnoughReplicas) {
		t.Fatalf("Write under fault = %v, want NotEnoughReplicas", err)
	}
	h.Remove()
	if err := w.Write(ctx, rec); err != nil {
		t.Fatalf("Write after fault removed: %v", err)
	}

	got := kafkatest.ReadTopic(t, brokers[0], "orders.dlq")
	if len(got) != 1 {
		t.Fatalf("read %d dead letters, want 1", len(got))
	}
	m := got[0]
	if string(m.Key) != "order-1" || string(m.Value) != `{"x":1}` {
		t.Errorf("key/value = %q %q", m.Key, m.Value)
	}
	hs := headerMap(t, m.Headers)
	for k, want := range map[string]string{"h": "v", HeaderErrorClass: ClassRejected, HeaderErrorHTTPStatus: "400", HeaderOriginalOffset: "42"} {
		if hs[k] != want {
			t.Errorf("header %s = %q, want %q", k, hs[k], want)
		}
	}
	// Same key, same partition as the Java client's murmur2 partitioner.
	wantPart := (&kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: []byte("order-1")}, 0, 1, 2)
	if m.Partition != wantPart {
		t.Errorf("partition = %d, want %d", m.Partition, wantPart)
	}
}

func TestWriterMissingTopicFails(t *testing.T) {
	c := kafkatest.Cluster(t)
	w, err := NewWriter(WriterConfig{Brokers: c.ListenAddrs(), Topic: "absent.dlq", WriteTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Write(ctx, Record{Topic: "orders", FailedAt: time.Now()}); err == nil {
		t.Fatal("Write to a missing topic succeeded without auto-creation")
	}
}

func TestNewWriterValidates(t *testing.T) {
	tests := []struct {
		give WriterConfig
		want error
	}{
		{give: WriterConfig{Topic: "x"}, want: ErrNoBrokers},
		{give: WriterConfig{Brokers: []string{"b:9092"}}, want: ErrNoTopic},
	}
	for _, tt := range tests {
		if _, err := NewWriter(tt.give); !errors.Is(err, tt.want) {
			t.Errorf("NewWriter(%+v) = %v, want %v", tt.give, err, tt.want)
		}
	}
}

// TestWriterOversizedRecord writes a record past kafka-go's 1 MiB batch
// limit: a topic that accepts it keeps it whole; a topic that refuses it
// answers ErrTooLarge, and the record without its original then goes through.
func TestWriterOversizedRecord(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SeedTopics(1, "orders.dlq"),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(8 << 20)}))
	brokers := c.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: "small.dlq", NumPartitions: 1, ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(1 << 20)}},
	}}})
	if err != nil || res.Errors["small.dlq"] != nil {
		t.Fatalf("create small.dlq: %v %v", err, res)
	}

	big := strings.Repeat("x", 2<<20)
	rec := Record{
		Topic: "orders", Partition: 0, Offset: 7, Key: []byte("order-1"), Value: []byte(big),
		Headers:  []kafka.Header{{Key: "ce_type", Value: []byte("order.paid")}},
		Failure:  Failure{Class: ClassInvalidEvent, Message: "value too large"},
		FailedAt: time.Now(),
	}
	for _, topic := range []string{"orders.dlq", "small.dlq"} {
		w, err := NewWriter(WriterConfig{Brokers: brokers, Topic: topic, WriteTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = w.Write(ctx, rec)
		switch {
		case topic == "orders.dlq" && err != nil:
			t.Errorf("Write to a topic that accepts 8 MiB: %v", err)
		case topic == "small.dlq" && !errors.Is(err, ErrTooLarge):
			t.Errorf("Write to a topic that accepts 1 MiB = %v, want ErrTooLarge", err)
		case topic == "small.dlq":
			if err := w.Write(ctx, rec.WithoutOriginal()); err != nil {
				t.Errorf("Write without the original: %v", err)
			}
		}
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	}

	whole := kafkatest.ReadTopic(t, brokers[0], "orders.dlq")
	if len(whole) != 1 || string(whole[0].Value) != big || headerMap(t, whole[0].Headers)["ce_type"] != "order.paid" {
		t.Errorf("orders.dlq holds %d records, want the whole record", len(whole))
	}
	stub := kafkatest.ReadTopic(t, brokers[0], "small.dlq")
	if len(stub) != 1 {
		t.Fatalf("small.dlq holds %d records, want 1", len(stub))
	}
	hs := headerMap(t, stub[0].Headers)
	wantOmitted := strconv.Itoa(len(big) + len("ce_type") + len("order.paid"))
	if string(stub[0].Key) != "order-1" || len(stub[0].Value) != 0 || hs[HeaderOriginalOmitted] != wantOmitted ||
		hs[HeaderErrorClass] != ClassInvalidEvent || hs[HeaderOriginalOffset] != "7" || hs["ce_type"] != "" {
		t.Errorf("record without the original: key %q, %d value bytes, headers %v; want key, no value, omitted %s",
			stub[0].Key, len(stub[0].Value), hs, wantOmitted)
	}
}
