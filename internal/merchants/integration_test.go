package merchants_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/consumer"
	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/health"
	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/merchants"
	"github.com/ordersync/ordersync/internal/replay"
	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/sandbox/sandboxtest"
	"github.com/ordersync/ordersync/internal/stack"
	"github.com/ordersync/ordersync/internal/uploader"
)

// subMisfiled is bound in channel mode under bank-channel at the sandbox;
// the broken registry files it under sp-east.
const subMisfiled = "1900000203"

const itInFlight = 4

// itEnv is kfake and the two-account sandbox, with a consumer and router
// running in-process against them.
type itEnv struct {
	t      *testing.T
	st     *stack.Stack
	router *merchants.Router
	obs    *observer
	cons   *consumer.Consumer
	stop   func()
}

func startStack(t *testing.T) *stack.Stack {
	t.Helper()
	st, err := stack.Start(stack.Options{Dir: t.TempDir(), Partitions: 3, DLQPartitions: 1, Sandbox: sandbox.Config{
		Accounts: []sandbox.Account{{Credentials: credsB}},
		Bindings: []sandbox.Binding{
			{SubMchID: subChannel, MchID: credsB.MchID, Mode: "channel"},
			{SubMchID: subSP, MchID: sandbox.DefaultMchID, Mode: "service_provider"},
			{SubMchID: subMisfiled, MchID: credsB.MchID, Mode: "channel"},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sandbox %+v", st.Sandbox.Stats())
		}
	})
	return st
}

// registryFor writes a registry over the stack's sp-east keys and credsB.
func registryFor(t *testing.T, st *stack.Stack, filed map[string]string, keyB string) string {
	t.Helper()
	return sandboxtest.RegistryFile(t, sandboxtest.Registry{SP: st.Creds, Channel: credsB, ChannelKey: keyB,
		ChannelPublicKey: true, Merchants: filed})
}

func startWorker(t *testing.T, st *stack.Stack, registry string) *itEnv {
	t.Helper()
	e := &itEnv{t: t, st: st, obs: newObserver()}
	var err error
	e.router, err = merchants.NewRouter(loadRegistry(t, registry), merchants.RouterConfig{
		Uploader: uploader.Config{BaseURL: st.URL, MaxInFlight: itInFlight, RequestTimeout: 5 * time.Second,
			Retry:            uploader.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond, MaxElapsed: 5 * time.Second},
			ProbeMaxInterval: 50 * time.Millisecond},
		SkipTypes: mapper.DefaultSkipTypes,
		Hold:      time.Hour, // no probe during the test
		Observer:  e.obs,
		Logger:    zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	deadLetters, err := dlq.NewWriter(dlq.WriterConfig{Brokers: []string{st.Broker}, Topic: st.DLQTopic})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = deadLetters.Close() })
	e.cons, err = consumer.New(consumer.Config{
		Brokers: []string{st.Broker}, Topics: []string{st.Topic}, GroupID: "it", DLQTopic: st.DLQTopic, DeadLetters: deadLetters,
		MaxInFlight: itInFlight, ShutdownTimeout: 2 * time.Second, SessionTimeout: 6 * time.Second, RebalanceTimeout: 6 * time.Second,
		Logger: zerolog.Nop(),
		Route:  func(res mapper.Result) consumer.Uploader { return routed(e.router, res) },
	}, e.router, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = e.cons.Run(ctx) })
	e.stop = func() { cancel(); wg.Wait(); e.router.Close() }
	t.Cleanup(e.stop)
	return e
}

func routed(r *merchants.Router, res mapper.Result) consumer.Uploader {
	if up := r.Uploader(res); up != nil {
		return up
	}
	return nil
}

func events(sub string, n int) []sample.Event {
	out := make([]sample.Event, n)
	for i := range out {
		no := fmt.Sprintf("%s-%03d", sub, i)
		out[i] = sample.Event{Key: []byte(no), Value: orderEvent(sub, no), OrderNo: no}
	}
	return out
}

func (e *itEnv) dlq() []kafka.Message {
	e.t.Helper()
	return kafkatest.ReadTopic(e.t, e.st.Broker, e.st.DLQTopic)
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// acceptedFor counts the sandbox's accepted uploads of sub, by body prefix.
func acceptedFor(sb *sandbox.Server, sub, prefix string) (n, wrong int) {
	for _, r := range sb.Records() {
		if r.SubMchID != sub {
			continue
		}
		n++
		if !strings.HasPrefix(string(r.Body), prefix) {
			wrong++
		}
	}
	return n, wrong
}

const (
	channelPrefix = `{"channel_id":"1230000200","sub_mchid":`
	spPrefix      = `{"sp_mchid":"1230000109","sp_appid":"wx1234567890abcdef","sub_mchid":`
)

// TestTwoAccountsMixedModesHoldFixReloadReplay: events of three
// sub-merchants over two accounts in two modes; the mis-filed one is held
// after 3 rejections, costs at most 3 + in-flight API calls while all of its
// events are dead-lettered, and is delivered through the right account once
// the registry is fixed, reloaded and its dead letters replayed. Nothing of
// the others is lost.
func TestTwoAccountsMixedModesHoldFixReloadReplay(t *testing.T) {
	st := startStack(t)
	filed := map[string]string{subChannel: "bank-channel", subSP: "sp-east", subMisfiled: "sp-east"}
	e := startWorker(t, st, registryFor(t, st, filed, credsB.MchPrivateKeyFile))
	const n = 20
	all := append(append(events(subChannel, n), events(subSP, n)...), events(subMisfiled, n)...)
	if err := st.Produce(context.Background(), all); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, "the others delivered and the mis-filed dead-lettered", func() bool {
		return st.Sandbox.Count() == 2*n && len(e.dlq()) == n
	})
	if got, wrong := acceptedFor(st.Sandbox, subChannel, channelPrefix); got != n || wrong != 0 {
		t.Errorf("channel sub-merchant: %d accepted, %d with the wrong body", got, wrong)
	}
	if got, wrong := acceptedFor(st.Sandbox, subSP, spPrefix); got != n || wrong != 0 {
		t.Errorf("service-provider sub-merchant: %d accepted, %d with the wrong body", got, wrong)
	}
	calls := st.Sandbox.Stats().Requests - 2*n // every other event went through at its first attempt
	if calls < merchants.HoldAfter || calls > merchants.HoldAfter+itInFlight {
		t.Errorf("the mis-filed sub-merchant cost %d API calls, want %d to %d", calls, merchants.HoldAfter, merchants.HoldAfter+itInFlight)
	}
	held := 0
	for _, m := range e.dlq() {
		if header(m, dlq.HeaderSubMchID) != subMisfiled || header(m, dlq.HeaderAccount) != "sp-east" ||
			header(m, dlq.HeaderErrorClass) != dlq.ClassRejected || header(m, dlq.HeaderErrorCode) != "INVALID_REQUEST" ||
			header(m, dlq.HeaderErrorHTTPStatus) != "400" || header(m, dlq.HeaderErrorMessage) == "" {
			t.Errorf("dead letter headers %v", m.Headers)
		}
		if header(m, dlq.HeaderMerchantHeld) == "true" {
			held++
			if header(m, dlq.HeaderAttempts) != "0" {
				t.Errorf("a held event was attempted: %v", m.Headers)
			}
		}
	}
	if int64(held) != int64(n)-calls {
		t.Errorf("%d dead letters marked held, want %d (one per event not sent)", held, int64(n)-calls)
	}
	if h := e.router.Held(); len(h) != 1 || h[subMisfiled] != "sp-east" {
		t.Errorf("held = %v", h)
	}

	// Fix the registry, reload (what SIGHUP does), replay the sub-merchant.
	filed[subMisfiled] = "bank-channel"
	if err := e.router.ReloadFile(registryFor(t, st, filed, credsB.MchPrivateKeyFile)); err != nil {
		t.Fatal(err)
	}
	if len(e.router.Held()) != 0 {
		t.Errorf("still held after the reload: %v", e.router.Held())
	}
	sum, err := replay.Run(context.Background(), replay.Options{Brokers: []string{st.Broker}, DLQTopic: st.DLQTopic,
		Merchants: []string{subMisfiled}}, io.Discard)
	if err != nil || sum.Republished != n {
		t.Fatalf("replay: %s, %v", sum, err)
	}
	kafkatest.WaitFor(t, "the replayed events delivered", func() bool { return st.Sandbox.Count() == 3*n })
	if got, wrong := acceptedFor(st.Sandbox, subMisfiled, channelPrefix); got != n || wrong != 0 {
		t.Errorf("fixed sub-merchant: %d accepted, %d with the wrong body", got, wrong)
	}
	if d := len(e.dlq()); d != n {
		t.Errorf("%d dead letters after the replay, want the %d from before", d, n)
	}
}

// TestOneAccountsWrongKeyPausesOnlyIt: bank-channel signs with sp-east's key
// (401); it pauses, sp-east keeps delivering, /readyz stays ready, nothing
// is dead-lettered.
func TestOneAccountsWrongKeyPausesOnlyIt(t *testing.T) {
	st := startStack(t)
	filed := map[string]string{subChannel: "bank-channel", subSP: "sp-east"}
	e := startWorker(t, st, registryFor(t, st, filed, st.Creds.MchPrivateKeyFile))
	srv := httptest.NewServer(health.Handler(health.Checks{Consumer: e.cons, Uploader: e.router, StallAfter: time.Hour}, prometheus.NewRegistry()))
	t.Cleanup(srv.Close)
	const n = 20
	if err := st.Produce(context.Background(), append(events(subChannel, n), events(subSP, n)...)); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, "sp-east delivered and bank-channel paused", func() bool {
		return st.Sandbox.Count() == n && e.obs.isPaused("bank-channel")
	})
	if got, _ := acceptedFor(st.Sandbox, subSP, spPrefix); got != n {
		t.Errorf("sp-east delivered %d, want %d", got, n)
	}
	if e.obs.isPaused("sp-east") {
		t.Error("sp-east paused too")
	}
	kafkatest.WaitFor(t, "/readyz ready", func() bool {
		res, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	if d := len(e.dlq()); d != 0 {
		t.Errorf("%d events dead-lettered: a wrong key must pause, not dead-letter", d)
	}
}

// TestWrongKeyFixedByReloadDeliversWaitingEvents: bank-channel signs with
// sp-east's key and pauses; a reload with its right key gives it a new
// client, and the events that waited on the paused one are delivered
// through it (README "Serving many restaurants", docs/runbook.md §7).
func TestWrongKeyFixedByReloadDeliversWaitingEvents(t *testing.T) {
	st := startStack(t)
	filed := map[string]string{subChannel: "bank-channel", subSP: "sp-east"}
	e := startWorker(t, st, registryFor(t, st, filed, st.Creds.MchPrivateKeyFile))
	const n = 20
	if err := st.Produce(context.Background(), append(events(subChannel, n), events(subSP, n)...)); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, "sp-east delivered and bank-channel paused", func() bool {
		return st.Sandbox.Count() == n && e.obs.isPaused("bank-channel")
	})
	if err := e.router.Reload(loadRegistry(t, registryFor(t, st, filed, credsB.MchPrivateKeyFile))); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, "bank-channel's waiting events delivered", func() bool { return st.Sandbox.Count() == 2*n })
	if got, wrong := acceptedFor(st.Sandbox, subChannel, channelPrefix); got != n || wrong != 0 {
		t.Errorf("bank-channel: %d accepted, %d with the wrong body", got, wrong)
	}
	if d := len(e.dlq()); d != 0 {
		t.Errorf("%d events dead-lettered, want 0", d)
	}
}
