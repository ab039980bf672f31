package config

import (
	"context"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestKgoOptsAuthenticate: the franz-go options built from the SASL
// settings authenticate to a broker that requires that mechanism (kfake
// refuses every request of an unauthenticated client).
func TestKgoOptsAuthenticate(t *testing.T) {
	for _, mech := range []string{saslPlain, saslScramSHA256, saslScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(mech, "svc", "right-secret"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			if err := metadataWith(t, c.ListenAddrs(), mech, "right-secret"); err != nil {
				t.Errorf("authenticated metadata read: %v", err)
			}
		})
	}
}

// metadataWith loads the Kafka settings for mech, user svc and pass, and
// sends one Metadata request with a client made from KgoOpts.
func metadataWith(t *testing.T, brokers []string, mech, pass string) error {
	t.Helper()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := Bind(fs, GroupKafka)
	if err := fs.Parse([]string{"--brokers", strings.Join(brokers, ",")}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ORDERSYNC_KAFKA_SASL_MECHANISM": mech, "ORDERSYNC_KAFKA_USERNAME": "svc",
		"ORDERSYNC_KAFKA_PASSWORD": pass}
	cfg, _, err := l.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil, NeedKafka)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, cfg.Kafka.KgoOpts()...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	return err
}
