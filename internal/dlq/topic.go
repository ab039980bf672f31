package dlq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// ErrCompacted means the dead-letter topic compacts by key: the dead letters
// of one order would replace each other, and a record without a key (an
// event that is not even JSON may have none) would be refused for ever.
var ErrCompacted = errors.New("the topic is compacted (cleanup.policy=compact): dead letters of one order would replace each other " +
	"and records without a key are refused; use a topic with cleanup.policy=delete")

// CheckTopic returns an error wrapping ErrCompacted when the dead-letter
// topic's cleanup.policy includes compact. Other errors say that the check
// could not be made (no broker yet, no permission to describe the topic).
func CheckTopic(ctx context.Context, transport *kafka.Transport, brokers []string, topic string) error {
	policy, err := topicConfig(ctx, transport, brokers, topic, "cleanup.policy")
	if err != nil {
		return err
	}
	if strings.Contains(policy, "compact") {
		return fmt.Errorf("%s: %w", topic, ErrCompacted)
	}
	return nil
}

// topicConfig returns the value of topic's setting name ("" when the broker
// names none).
func topicConfig(ctx context.Context, transport *kafka.Transport, brokers []string, topic, name string) (string, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: transport}
	res, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{name},
	}}})
	if err != nil {
		return "", fmt.Errorf("describe topic %s: %w", topic, err)
	}
	for _, r := range res.Resources {
		if r.Error != nil {
			return "", fmt.Errorf("describe topic %s: %w", topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName == name {
				return e.ConfigValue, nil
			}
		}
	}
	return "", nil
}

// headroom is what a dead letter may add to its event: the ordersync.*
// headers (a one-line message, a field, a request id) and record overhead.
const headroom = 64 << 10

// EnsureTopic creates the dead-letter topic when it does not exist yet, with
// the partition count and replication factor of the source topic like (one
// partition and the broker's default replication when like is unknown too),
// cleanup.policy=delete whatever the broker's default, and max.message.bytes
// of like plus room for the added headers — so that an event the source
// topic took fits whole as a dead letter.
// It reports whether it created the topic. The writer never creates topics
// on its own: a dead letter must not land in a topic made with whatever the
// broker's auto-creation defaults are. A nil dialer means the default one.
// Every request is bounded by ctx: its deadline (connTimeout when it has
// none) and its cancellation.
func EnsureTopic(ctx context.Context, dialer *kafka.Dialer, transport *kafka.Transport, brokers []string, topic, like string) (bool, error) {
	if dialer == nil {
		dialer = kafka.DefaultDialer
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	conn, err := dialAny(ctx, dialer, brokers)
	if err != nil {
		return false, err
	}
	defer bindConn(ctx, conn)()
	if parts, err := conn.ReadPartitions(topic); err == nil && len(parts) > 0 {
		return false, nil
	} else if err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) {
		return false, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	partitions, replicas := 1, -1
	if parts, err := conn.ReadPartitions(like); err == nil && len(parts) > 0 {
		partitions, replicas = len(parts), len(parts[0].Replicas)
	}
	configs := []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "delete"}}
	if n, ok := maxMessageBytes(ctx, transport, brokers, like); ok {
		configs = append(configs, kafka.ConfigEntry{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(n + headroom)})
	}
	ctrl, err := conn.Controller()
	if err != nil {
		return false, fmt.Errorf("find the controller: %w", err)
	}
	cc, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return false, fmt.Errorf("dial the controller: %w", err)
	}
	defer bindConn(ctx, cc)()
	err = cc.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: partitions, ReplicationFactor: replicas,
		ConfigEntries: configs})
	switch {
	case errors.Is(err, kafka.TopicAlreadyExists):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("create topic %s: %w", topic, err)
	}
	return true, nil
}

// maxMessageBytes returns topic's max.message.bytes, when it can be read.
func maxMessageBytes(ctx context.Context, transport *kafka.Transport, brokers []string, topic string) (int, bool) {
	v, err := topicConfig(ctx, transport, brokers, topic, "max.message.bytes")
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, false
	}
	return min(n, math.MaxInt32-headroom), true
}

// connTimeout bounds the requests of EnsureTopic when ctx has no deadline.
const connTimeout = 15 * time.Second

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, connTimeout)
}

// bindConn makes conn's requests end at ctx's deadline or cancellation (a
// kafka.Conn reads and writes without a deadline unless given one) and
// returns the function that closes it.
func bindConn(ctx context.Context, conn *kafka.Conn) (closeConn func()) {
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	return func() {
		stop()
		_ = conn.Close()
	}
}

func dialAny(ctx context.Context, dialer *kafka.Dialer, brokers []string) (*kafka.Conn, error) {
	var errs []error
	for _, b := range brokers {
		conn, err := dialer.DialContext(ctx, "tcp", b)
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("dial the brokers: %w", errors.Join(errs...))
}
