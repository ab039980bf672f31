package consumer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

// runUntilDone runs cons and returns Run's error, failing the test if Run
// has not returned after kafkatest.WaitBound (it would retry for ever).
func runUntilDone(t *testing.T, cons *Consumer) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(kafkatest.WaitBound):
		cancel()
		<-done
		t.Fatalf("Run still joining after %v", kafkatest.WaitBound)
		return nil
	}
}

// TestJoinRefusedForBadCredentials joins with a wrong SASL password: Run
// returns an error wrapping ErrAuthentication instead of retrying for ever.
func TestJoinRefusedForBadCredentials(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SeedTopics(1, srcTopic, dlqTopic),
		kfake.EnableSASL(), kfake.Superuser("PLAIN", "ordersync", "right"))
	mech := plain.Mechanism{Username: "ordersync", Password: "wrong"}
	cons, err := New(Config{
		Brokers: c.ListenAddrs(), Topics: []string{srcTopic}, GroupID: "ordersync", DLQTopic: dlqTopic, DeadLetters: testDeadLetters(t, c.ListenAddrs()), MaxInFlight: 1,
		Dialer: &kafka.Dialer{Timeout: 5 * time.Second, SASLMechanism: mech}, Transport: &kafka.Transport{SASL: mech},
		Logger: zerolog.New(testWriter{t}).Level(zerolog.WarnLevel),
	}, fakeMapper{}, newRecorder(0).uploader("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := runUntilDone(t, cons); !errors.Is(err, ErrAuthentication) {
		t.Errorf("Run = %v, want an error wrapping ErrAuthentication", err)
	}
}

// TestJoinRefusedForSessionTimeout joins with a session timeout above the
// broker's maximum: Run returns an error wrapping ErrSessionTimeout.
func TestJoinRefusedForSessionTimeout(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SeedTopics(1, srcTopic, dlqTopic),
		kfake.GroupMinSessionTimeout(500*time.Millisecond), kfake.GroupMaxSessionTimeout(2*time.Second))
	cons, err := New(Config{
		Brokers: c.ListenAddrs(), Topics: []string{srcTopic}, GroupID: "ordersync", DLQTopic: dlqTopic, DeadLetters: testDeadLetters(t, c.ListenAddrs()), MaxInFlight: 1,
		SessionTimeout: 3 * time.Second, Logger: zerolog.New(testWriter{t}).Level(zerolog.WarnLevel),
	}, fakeMapper{}, newRecorder(0).uploader("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := runUntilDone(t, cons); !errors.Is(err, ErrSessionTimeout) {
		t.Errorf("Run = %v, want an error wrapping ErrSessionTimeout", err)
	}
}
