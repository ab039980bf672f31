package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kgo"
	kgosasl "github.com/twmb/franz-go/pkg/sasl"
	kgoplain "github.com/twmb/franz-go/pkg/sasl/plain"
	kgoscram "github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms accepted by ORDERSYNC_KAFKA_SASL_MECHANISM.
const (
	saslPlain       = "PLAIN"
	saslScramSHA256 = "SCRAM-SHA-256"
	saslScramSHA512 = "SCRAM-SHA-512"
)

// Kafka holds the checked broker security settings.
type Kafka struct {
	TLS  *tls.Config    // nil = plaintext
	SASL sasl.Mechanism // nil = no SASL
	// kgoSASL is SASL for franz-go's client (KgoOpts); nil = no SASL.
	kgoSASL kgosasl.Mechanism
}

const kafkaDialTimeout = 10 * time.Second

// kafkaClientID is the client id of every Kafka request the worker and its
// commands send: brokers log it, quotas and ACL audits can name it, and a
// consumer group's member list shows it.
const kafkaClientID = "ordersync"

// Dialer returns a dialer for consumer groups and partition readers.
func (k Kafka) Dialer() *kafka.Dialer {
	return &kafka.Dialer{ClientID: kafkaClientID, Timeout: kafkaDialTimeout, DualStack: true, TLS: k.TLS, SASLMechanism: k.SASL}
}

// Transport returns a transport for writers and admin clients.
func (k Kafka) Transport() *kafka.Transport {
	return &kafka.Transport{ClientID: kafkaClientID, DialTimeout: kafkaDialTimeout, TLS: k.TLS, SASL: k.SASL}
}

// KgoOpts returns the TLS and SASL options of a franz-go client (the
// consumer's topic-id reads, which kafka-go cannot make); the caller adds
// the seed brokers.
func (k Kafka) KgoOpts() []kgo.Opt {
	opts := []kgo.Opt{kgo.ClientID(kafkaClientID), kgo.DialTimeout(kafkaDialTimeout)}
	if k.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(k.TLS.Clone()))
	}
	if k.kgoSASL != nil {
		opts = append(opts, kgo.SASL(k.kgoSASL))
	}
	return opts
}

func parseKafka(p *parser) Kafka {
	var k Kafka
	caFile := p.str(p.s.KafkaTLSCAFile)
	if p.boolean(p.s.KafkaTLS) {
		k.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pool, err := loadCAs(caFile)
			if err != nil {
				p.fail(p.s.KafkaTLSCAFile, "%v", err)
			}
			k.TLS.RootCAs = pool
		}
	} else if caFile != "" {
		p.fail(p.s.KafkaTLSCAFile, "set but ORDERSYNC_KAFKA_TLS is false")
	}
	mech := p.str(p.s.KafkaSASLMechanism)
	user, pass := p.str(p.s.KafkaUsername), kafkaPassword(p)
	if mech == "" {
		if user != "" || pass != "" {
			p.fail(p.s.KafkaSASLMechanism, "required when ORDERSYNC_KAFKA_USERNAME or _PASSWORD is set")
		}
		return k
	}
	if user == "" {
		p.fail(p.s.KafkaUsername, "required with ORDERSYNC_KAFKA_SASL_MECHANISM %s", mech)
	}
	if pass == "" {
		p.fail(p.s.KafkaPassword, "required with ORDERSYNC_KAFKA_SASL_MECHANISM %s (or ORDERSYNC_KAFKA_PASSWORD_FILE)", mech)
	}
	switch mech {
	case saslPlain:
		k.SASL = plain.Mechanism{Username: user, Password: pass}
		k.kgoSASL = kgoplain.Auth{User: user, Pass: pass}.AsMechanism()
	case saslScramSHA256, saslScramSHA512:
		algo := scram.SHA256
		if mech == saslScramSHA512 {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, user, pass)
		if err != nil {
			p.fail(p.s.KafkaPassword, "cannot prepare SCRAM credentials")
		}
		k.SASL = m
		auth := kgoscram.Auth{User: user, Pass: pass}
		k.kgoSASL = auth.AsSha256Mechanism()
		if mech == saslScramSHA512 {
			k.kgoSASL = auth.AsSha512Mechanism()
		}
	default:
		p.fail(p.s.KafkaSASLMechanism, "%q must be one of %s, %s, %s", mech, saslPlain, saslScramSHA256, saslScramSHA512)
	}
	return k
}

func loadCAs(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s", path)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
