// Package stack starts what the worker talks to, in-process and on loopback:
// a Kafka-protocol broker (franz-go's kfake) and the WeChat Pay sandbox with
// throwaway credentials. The demo, the benchmarks and the reliability suite
// run the real worker binary against it. Never production.
package stack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ordersync/ordersync/internal/kafkaread"
	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// Options configure a Stack. Zero values pick the defaults in brackets.
type Options struct {
	// Dir holds the credentials (and the broker's data when Persist). Required.
	Dir string
	// BrokerPort and SandboxPort are loopback ports [0: any free port].
	BrokerPort, SandboxPort int
	// Topic is the source topic [orders], with Partitions partitions [6].
	Topic      string
	Partitions int
	// DLQPartitions of <Topic>.dlq [3].
	DLQPartitions int
	// Persist keeps the broker's log and offsets in Dir/kafka so that
	// RestartBroker is a real restart that loses nothing.
	Persist bool
	// Sandbox tunes the sandbox; Credentials is filled in by Start.
	Sandbox sandbox.Config
}

// Stack is a running broker and sandbox.
type Stack struct {
	opts     Options
	Cluster  *kfake.Cluster
	Broker   string // host:port
	Sandbox  *sandbox.Server
	URL      string // sandbox base URL
	Creds    *sandbox.Credentials
	Topic    string
	DLQTopic string

	// AdminToken is the bearer token the sandbox's /sandbox/* endpoints
	// require (Options.Sandbox.AdminToken, or a random one).
	AdminToken string

	http  *http.Server
	done  chan error
	conns atomic.Int64 // connections the sandbox's HTTP server holds open
}

// Start brings the broker and the sandbox up.
func Start(opts Options) (*Stack, error) {
	if opts.Dir == "" {
		return nil, errors.New("stack: Dir is required")
	}
	if opts.Topic == "" {
		opts.Topic = "orders"
	}
	if opts.Partitions == 0 {
		opts.Partitions = 6
	}
	if opts.DLQPartitions == 0 {
		opts.DLQPartitions = 3
	}
	creds, err := sandbox.GenerateCredentials(opts.Dir + "/keys")
	if err != nil {
		return nil, fmt.Errorf("stack: credentials: %w", err)
	}
	s := &Stack{opts: opts, Creds: creds, Topic: opts.Topic, DLQTopic: opts.Topic + ".dlq"}
	if err := s.startBroker(true); err != nil {
		return nil, err
	}
	cfg := opts.Sandbox
	cfg.Credentials = creds
	if cfg.AdminToken == "" {
		cfg.AdminToken = rand.Text()
	}
	s.AdminToken = cfg.AdminToken
	if s.Sandbox, err = sandbox.New(cfg); err != nil {
		s.Cluster.Close()
		return nil, fmt.Errorf("stack: sandbox: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(opts.SandboxPort))
	if err != nil {
		s.Cluster.Close()
		return nil, fmt.Errorf("stack: sandbox listen: %w", err)
	}
	s.URL = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: s.Sandbox.Handler(), ReadHeaderTimeout: 5 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				s.conns.Add(-1)
			}
		}}
	s.done = make(chan error, 1)
	go func() { s.done <- s.http.Serve(ln) }()
	return s, nil
}

// SandboxConns is the number of client connections the sandbox holds open.
// Once a client process has died and this reaches 0, every request it sent
// has been read and answered (or its connection reset before it was read).
func (s *Stack) SandboxConns() int64 { return s.conns.Load() }

func (s *Stack) startBroker(create bool) error {
	port := s.opts.BrokerPort
	if s.Broker != "" {
		_, p, _ := net.SplitHostPort(s.Broker)
		port, _ = strconv.Atoi(p)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.GroupMinSessionTimeout(time.Second),
	}
	if create {
		opts = append(opts, kfake.SeedTopics(int32(s.opts.Partitions), s.opts.Topic),
			kfake.SeedTopics(int32(s.opts.DLQPartitions), s.opts.Topic+".dlq"))
	}
	if s.opts.Persist {
		opts = append(opts, kfake.DataDir(s.opts.Dir+"/kafka"))
	}
	var c *kfake.Cluster
	var err error
	// A restarted broker may find its port still in TIME_WAIT for a moment.
	for try := 0; try < 50; try++ {
		if c, err = kfake.NewCluster(opts...); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("stack: broker: %w", err)
	}
	s.Cluster = c
	s.Broker = c.ListenAddrs()[0]
	return nil
}

// StopBroker closes the broker; with Persist its data stays on disk.
func (s *Stack) StopBroker() { s.Cluster.Close() }

// StartBroker starts the broker again on the same port and data.
func (s *Stack) StartBroker() error { return s.startBroker(false) }

// Close stops the sandbox and the broker.
func (s *Stack) Close() {
	s.Sandbox.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
	}
	<-s.done
	s.Cluster.Close()
}

// WorkerEnv returns the environment that points a worker at this stack, on
// top of the current process's environment; extra entries (KEY=VALUE) win.
func (s *Stack) WorkerEnv(extra ...string) []string {
	c := s.Creds
	env := append(os.Environ(),
		"ORDERSYNC_BROKERS="+s.Broker,
		"ORDERSYNC_TOPICS="+s.Topic,
		"ORDERSYNC_DLQ_TOPIC="+s.DLQTopic,
		"ORDERSYNC_MCHID="+c.MchID,
		"ORDERSYNC_MCH_CERT_SERIAL="+c.MchCertSerial,
		"ORDERSYNC_MCH_PRIVATE_KEY_FILE="+c.MchPrivateKeyFile,
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE="+c.WechatPayPublicKeyFile,
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID="+c.WechatPayPublicKeyID,
		"ORDERSYNC_WECHATPAY_BASE_URL="+s.URL,
		"ORDERSYNC_SP_APPID=wx1234567890abcdef",
	)
	return append(env, extra...)
}

// Produce writes events to the source topic, keyed by order, acknowledged by
// all replicas.
func (s *Stack) Produce(ctx context.Context, events []sample.Event) error {
	w := &kafka.Writer{
		Addr:         kafka.TCP(s.Broker),
		Topic:        s.Topic,
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    500,
		BatchTimeout: 5 * time.Millisecond,
	}
	msgs := make([]kafka.Message, 0, 500)
	flush := func() error {
		if len(msgs) == 0 {
			return nil
		}
		err := w.WriteMessages(ctx, msgs...)
		msgs = msgs[:0]
		return err
	}
	for _, e := range events {
		m := kafka.Message{Key: e.Key, Value: e.Value}
		for _, h := range e.Headers {
			m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
		msgs = append(msgs, m)
		if len(msgs) == cap(msgs) {
			if err := flush(); err != nil {
				_ = w.Close()
				return fmt.Errorf("produce: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		_ = w.Close()
		return fmt.Errorf("produce: %w", err)
	}
	return w.Close()
}

// ReadTopic returns every record of topic up to its high watermarks now,
// without transaction markers.
func (s *Stack) ReadTopic(ctx context.Context, topic string) ([]kafka.Message, error) {
	return kafkaread.Topic(ctx, s.Broker, topic)
}
