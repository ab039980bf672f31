package consumer

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/uploader"
)

const rejectedSubMchID = "1900000199"

var (
	credsOnce sync.Once
	credsDir  string
	creds     *sandbox.Credentials
	credsErr  error
)

// sandboxCreds generates the sandbox key pairs once per package run: RSA
// key generation is slow.
func sandboxCreds(tb testing.TB) *sandbox.Credentials {
	tb.Helper()
	credsOnce.Do(func() {
		credsDir, credsErr = os.MkdirTemp("", "consumer-creds-")
		if credsErr == nil {
			creds, credsErr = sandbox.GenerateCredentials(credsDir)
		}
	})
	if credsErr != nil {
		tb.Fatal(credsErr)
	}
	return creds
}

// stack is the real mapper and uploader against the sandbox over HTTP.
type stack struct {
	sb *sandbox.Server
	m  *mapper.Mapper
	u  *uploader.Uploader
}

func newStack(tb testing.TB, faults sandbox.Faults, maxInFlight int) *stack {
	tb.Helper()
	cr := sandboxCreds(tb)
	sb, err := sandbox.New(sandbox.Config{Credentials: cr})
	if err != nil {
		tb.Fatal(err)
	}
	if err := sb.SetFaults(faults); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	m, err := mapper.New(mapper.Config{Mode: "service_provider", MchID: cr.MchID, SpAppID: "wx8888888888888888",
		SkipTypes: mapper.DefaultSkipTypes})
	if err != nil {
		tb.Fatal(err)
	}
	u, err := uploader.New(uploader.Config{
		BaseURL: srv.URL, MchID: cr.MchID, MchCertSerial: cr.MchCertSerial, MchPrivateKey: cr.MchPrivateKey,
		WechatPayPublicKey: cr.WechatPayPublicKey, WechatPayPublicKeyID: cr.WechatPayPublicKeyID,
		MaxInFlight: maxInFlight, RequestTimeout: 5 * time.Second,
		Retry: uploader.RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 50 * time.Millisecond, MaxElapsed: 2 * time.Second},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		u.Close()
		sb.Close()
		srv.Close()
	})
	return &stack{sb: sb, m: m, u: u}
}

func sampleMessages(evs []sample.Event) []kafka.Message {
	msgs := make([]kafka.Message, len(evs))
	for i, e := range evs {
		hs := make([]kafka.Header, len(e.Headers))
		for j, h := range e.Headers {
			hs[j] = kafka.Header{Key: h.Key, Value: h.Value}
		}
		msgs[i] = kafka.Message{Key: e.Key, Value: e.Value, Headers: hs}
	}
	return msgs
}

// TestRealStackDeliversInOrderAndDeadLetters runs realistic order
// lifecycles (all three event shapes, broken events, a rejected
// sub-merchant) through the real mapper, uploader and sandbox.
func TestRealStackDeliversInOrderAndDeadLetters(t *testing.T) {
	st := newStack(t, sandbox.Faults{Rejections: []sandbox.Rejection{{SubMchID: rejectedSubMchID, Status: 400, Code: "INVALID_REQUEST"}}}, 16)
	evs := sample.Generate(sample.Options{Seed: 7, Orders: 80, InvalidPercent: 15, RejectedPercent: 10,
		RejectedSubMchID: rejectedSubMchID, Interleave: true, Start: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)})
	c := newCluster(t, 3)
	brokers := c.ListenAddrs()
	produce(t, brokers, srcTopic, sampleMessages(evs))
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)

	logs := &syncBuffer{}
	in := startConsumer(t, brokers, "a", 16, 5*time.Second, st.m, st.u, nil, logs)
	kafkatest.WaitFor(t, "all offsets committed", func() bool { return allCommitted(t, c, ends) })
	in.stop(t)

	wantStatuses := map[string][]string{}
	wantDead := map[string]sample.Expect{}
	var tokens []string
	for _, e := range evs {
		switch e.Expect {
		case sample.ExpectDelivered:
			wantStatuses[e.OrderNo] = append(wantStatuses[e.OrderNo], e.Status)
		case sample.ExpectInvalid, sample.ExpectRejected:
			wantDead[string(e.Value)] = e.Expect
		}
		if i := strings.Index(string(e.Value), `"login_token":"`); i >= 0 {
			rest := string(e.Value)[i+len(`"login_token":"`):]
			tokens = append(tokens, rest[:strings.IndexByte(rest, '"')])
		}
	}
	for order, want := range wantStatuses {
		var got []string
		for _, r := range st.sb.OrderRecords(order) {
			got = append(got, r.Status)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("order %s uploads %v, want %v", order, got, want)
		}
	}
	dead := kafkatest.ReadTopic(t, brokers[0], dlqTopic)
	t.Logf("%d events: %d orders delivered (%d uploads), %d dead letters", len(evs), len(wantStatuses), st.sb.Stats().Accepted, len(dead))
	if len(dead) != len(wantDead) {
		t.Errorf("dead letters = %d, want %d", len(dead), len(wantDead))
	}
	for _, m := range dead {
		class, _ := headerValue(m, dlq.HeaderErrorClass)
		want, ok := wantDead[string(m.Value)]
		if !ok {
			t.Errorf("unexpected dead letter of class %s (%s)", class, m.Key)
			continue
		}
		if class != string(want) {
			t.Errorf("dead letter %s: class %s, want %s", m.Key, class, want)
		}
		if class == dlq.ClassRejected {
			if code, _ := headerValue(m, dlq.HeaderErrorCode); code != "INVALID_REQUEST" {
				t.Errorf("dead letter %s: code %q", m.Key, code)
			}
			if st, _ := headerValue(m, dlq.HeaderErrorHTTPStatus); st != "400" {
				t.Errorf("dead letter %s: http_status %q", m.Key, st)
			}
		}
	}
	out := logs.String()
	for _, tok := range tokens {
		if tok != "" && strings.Contains(out, tok) {
			t.Fatalf("a log line contains a login_token value")
		}
	}
}

// BenchmarkLatencyBound measures events/s through one partition holding
// 1,000 orders with a 100 ms API latency (sandbox latency injection): the
// in-flight limit, not the partition count, sets the throughput.
func BenchmarkLatencyBound(b *testing.B) {
	evs := sample.Generate(sample.Options{Seed: 1, Orders: 1000, Start: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)})
	seen := map[string]bool{}
	var first []sample.Event // one paid-or-created event per order
	for _, e := range evs {
		if e.Expect == sample.ExpectDelivered && !seen[e.OrderNo] {
			seen[e.OrderNo] = true
			first = append(first, e)
		}
	}
	benchLatency(b, sampleMessages(first), func(b *testing.B, mif int) (Mapper, Uploader) {
		st := newStack(b, sandbox.Faults{Latency: sandbox.Duration(100 * time.Millisecond)}, mif)
		return st.m, st.u
	})
}

// BenchmarkLatencyBoundSeam is BenchmarkLatencyBound with the uploader
// replaced at the seam by a 100 ms fake: the consumer's own ceiling, without
// request signing and verification.
func BenchmarkLatencyBoundSeam(b *testing.B) {
	p := makePlan(1000, 1, func(int, int) string { return "ok" })
	benchLatency(b, p.msgs, func(*testing.B, int) (Mapper, Uploader) {
		return fakeMapper{}, newRecorder(100 * time.Millisecond).uploader("bench")
	})
}

func benchLatency(b *testing.B, msgs []kafka.Message, seams func(b *testing.B, maxInFlight int) (Mapper, Uploader)) {
	for _, mif := range []int{1, 16, 256} {
		b.Run("in_flight_"+itoa(mif), func(b *testing.B) {
			m, u := seams(b, mif)
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c := newBenchCluster(b)
				brokers := c.ListenAddrs()
				produceB(b, brokers, msgs)
				cons, err := New(Config{Brokers: brokers, Topics: []string{srcTopic}, GroupID: "ordersync", DLQTopic: dlqTopic, DeadLetters: testDeadLetters(b, brokers),
					MaxInFlight: mif, SessionTimeout: 3 * time.Second, RebalanceTimeout: 3 * time.Second, Logger: zerolog.Nop()}, m, u)
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				b.StartTimer()
				start := time.Now()
				go func() { done <- cons.Run(ctx) }()
				for {
					if got := kafkatest.Committed(c, "ordersync", srcTopic)[0]; got == int64(len(msgs)) {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				total += time.Since(start)
				b.StopTimer()
				cancel()
				<-done
				c.Close()
			}
			b.ReportMetric(float64(len(msgs)*b.N)/total.Seconds(), "events/s")
		})
	}
}
