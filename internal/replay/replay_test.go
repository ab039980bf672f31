package replay_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/replay"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	sourceTopic = "orders"
	dlqTopic    = "orders.dlq"
	loginToken  = "071oYFSN19sCH31AyNSN15QDSN1oYFSA"
)

// env is a kfake cluster with a 3-partition source topic and a
// 2-partition dead-letter topic.
type env struct {
	t       *testing.T
	cluster *kfake.Cluster
	addr    string
}

func newEnv(t *testing.T, opts ...kfake.Opt) *env {
	t.Helper()
	c := kafkatest.Cluster(t, append([]kfake.Opt{
		kfake.SeedTopics(3, sourceTopic, "orders.retry"),
		kfake.SeedTopics(2, dlqTopic),
	}, opts...)...)
	return &env{t: t, cluster: c, addr: c.ListenAddrs()[0]}
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// dl describes one dead-letter record to seed.
type dl struct {
	key      string // "" writes a null key
	orderNo  string // order number in the value
	class    string
	failedAt string
	replays  string // ordersync.replay.count; "" leaves it out
	origin   string // original topic; "" is sourceTopic, "-" an empty one
	envelope bool   // CloudEvents structured envelope
	pad      int    // spaces appended to the value
	omitted  bool   // written without the original (dlq.Record.WithoutOriginal)
}

func eventValue(orderNo string, envelope bool) []byte {
	ev := fmt.Sprintf(`{"event_id":"evt-%s","event_type":"order.paid","customer":{"sub_openid":"o1","login_token":%q},"order":{"order_no":%q}}`,
		orderNo, loginToken, orderNo)
	if envelope {
		return []byte(fmt.Sprintf(`{"specversion":"1.0","id":"evt-%s","type":"order.paid","data":%s}`, orderNo, ev))
	}
	return []byte(ev)
}

// originalHeaders are the headers the source record carried.
var originalHeaders = []kafka.Header{
	{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")},
	{Key: "ce_type", Value: []byte("order.paid")},
}

// message builds the record with the dead-letter writer's own format.
func (d dl) message(t *testing.T) kafka.Message {
	t.Helper()
	failedAt, err := time.Parse(time.RFC3339, d.failedAt)
	if err != nil {
		t.Fatalf("failedAt %q: %v", d.failedAt, err)
	}
	origin := d.origin
	switch origin {
	case "":
		origin = sourceTopic
	case "-":
		origin = ""
	}
	headers := slices.Clone(originalHeaders)
	if d.replays != "" {
		headers = append(headers, kafka.Header{Key: dlq.HeaderReplayCount, Value: []byte(d.replays)})
	}
	r := dlq.Record{
		Topic: origin, Partition: 1, Offset: 42,
		Timestamp: time.Date(2026, 11, 26, 4, 30, 5, 0, time.UTC),
		Value:     eventValue(d.orderNo, d.envelope),
		Headers:   headers,
		Failure: dlq.Failure{
			Class: d.class, Message: "sync-status: " + d.class + " for the test", Field: "/order/dishes/1/unit",
			Code: "PARAM_ERROR", HTTPStatus: 400, RequestID: "08F78BB5AF0D11E9A3F252540029B5A7", Attempts: 1,
		},
		FailedAt: failedAt,
	}
	if d.key != "" {
		r.Key = []byte(d.key)
	}
	r.Value = append(r.Value, bytes.Repeat([]byte(" "), d.pad)...)
	if d.omitted {
		r = r.WithoutOriginal()
	}
	return r.Message()
}

// seed writes records to the dead-letter topic, keyed partitioning as the
// worker's dead-letter writer does.
func (e *env) seed(records ...dl) {
	e.t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{
		Addr: kafka.TCP(e.addr), Topic: dlqTopic, Transport: tr,
		Balancer: kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond,
		BatchBytes: 16 << 20,
	}
	defer w.Close()
	msgs := make([]kafka.Message, len(records))
	for i, r := range records {
		msgs[i] = r.message(e.t)
	}
	if err := w.WriteMessages(e.ctx(), msgs...); err != nil {
		e.t.Fatalf("seed dead-letter topic: %v", err)
	}
}

// consumed reads every record of topic from the start with an independent
// client (franz-go), waiting until want records arrived.
func (e *env) consumed(topic string, want int) []*kgo.Record {
	e.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		e.t.Fatalf("kgo client: %v", err)
	}
	defer cl.Close()
	ctx := e.ctx()
	var recs []*kgo.Record
	for len(recs) < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			e.t.Fatalf("read %s: got %d records, want %d", topic, len(recs), want)
		}
		fs.EachError(func(_ string, _ int32, err error) { e.t.Fatalf("read %s: %v", topic, err) })
		recs = append(recs, fs.Records()...)
	}
	return recs
}

// count returns how many records topic holds, -1 when it does not exist.
func (e *env) count(topic string) int64 {
	e.t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(e.addr), Transport: tr}
	md, err := c.Metadata(e.ctx(), &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		e.t.Fatalf("metadata: %v", err)
	}
	if len(md.Topics) == 0 || md.Topics[0].Error != nil {
		return -1
	}
	var reqs []kafka.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	res, err := c.ListOffsets(e.ctx(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		e.t.Fatalf("list offsets: %v", err)
	}
	var n int64
	for _, p := range res.Topics[topic] {
		n += p.LastOffset - p.FirstOffset
	}
	return n
}

func (e *env) opts(mod func(*replay.Options)) replay.Options {
	o := replay.Options{Brokers: []string{e.addr}, DLQTopic: dlqTopic}
	if mod != nil {
		mod(&o)
	}
	return o
}

func (e *env) run(mod func(*replay.Options)) (replay.Summary, string) {
	e.t.Helper()
	var out bytes.Buffer
	sum, err := replay.Run(e.ctx(), e.opts(mod), &out)
	if err != nil {
		e.t.Fatalf("Run: %v (summary %s)", err, sum)
	}
	return sum, out.String()
}

func orderNos(recs []*kgo.Record) []string {
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Key))
	}
	slices.Sort(got)
	return got
}

// mixed is one record of each class, an hour apart.
var mixed = []dl{
	{key: "A1", orderNo: "A1", class: dlq.ClassInvalidEvent, failedAt: "2026-11-26T01:00:00.000Z"},
	{key: "A2", orderNo: "A2", class: dlq.ClassRejected, failedAt: "2026-11-26T02:00:00.000Z"},
	{key: "A3", orderNo: "A3", class: dlq.ClassRetriesExhausted, failedAt: "2026-11-26T03:00:00.000Z"},
	{key: "A4", orderNo: "A4", class: dlq.ClassRejected, failedAt: "2026-11-26T04:00:00.000Z"},
}

func TestRunSelects(t *testing.T) {
	tests := []struct {
		name         string
		give         func(*replay.Options)
		wantOrders   []string
		wantFiltered int
	}{
		{
			name:         "by class",
			give:         func(o *replay.Options) { o.Classes = []string{dlq.ClassRejected, dlq.ClassRetriesExhausted} },
			wantOrders:   []string{"A2", "A3", "A4"},
			wantFiltered: 1,
		},
		{
			name: "by time",
			give: func(o *replay.Options) {
				o.Since = time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
				o.Until = time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
			},
			wantOrders:   []string{"A2", "A3"},
			wantFiltered: 2,
		},
		{
			name:         "by order",
			give:         func(o *replay.Options) { o.Order = "A3" },
			wantOrders:   []string{"A3"},
			wantFiltered: 3,
		},
		{
			name:         "everything",
			wantOrders:   []string{"A1", "A2", "A3", "A4"},
			wantFiltered: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.seed(mixed...)
			sum, _ := e.run(tt.give)
			if sum.Republished != len(tt.wantOrders) || sum.Filtered != tt.wantFiltered || sum.Read != len(mixed) {
				t.Errorf("summary = %s, want republished %d, filtered %d", sum, len(tt.wantOrders), tt.wantFiltered)
			}
			got := orderNos(e.consumed(sourceTopic, len(tt.wantOrders)))
			if !slices.Equal(got, tt.wantOrders) {
				t.Errorf("republished orders %v, want %v", got, tt.wantOrders)
			}
		})
	}
}

func TestRunByOrderFromValue(t *testing.T) {
	e := newEnv(t)
	e.seed(
		dl{orderNo: "B1", class: dlq.ClassInvalidEvent, failedAt: "2026-11-26T01:00:00Z"},
		dl{orderNo: "B2", class: dlq.ClassInvalidEvent, failedAt: "2026-11-26T01:00:00Z", envelope: true},
		dl{orderNo: "B3", class: dlq.ClassInvalidEvent, failedAt: "2026-11-26T01:00:00Z"},
	)
	for _, order := range []string{"B1", "B2"} {
		sum, out := e.run(func(o *replay.Options) { o.Order = order })
		if sum.Republished != 1 {
			t.Errorf("--order %s: summary %s, want 1 republished", order, sum)
		}
		if !strings.Contains(out, `order="`+order+`"`) {
			t.Errorf("--order %s: output %q does not name the order", order, out)
		}
	}
	recs := e.consumed(sourceTopic, 2)
	if recs[0].Key != nil || recs[1].Key != nil {
		t.Errorf("null keys republished as %q, %q", recs[0].Key, recs[1].Key)
	}
}

func TestRunRecordFormat(t *testing.T) {
	e := newEnv(t)
	e.seed(
		dl{key: "C1", orderNo: "C1", class: dlq.ClassRejected, failedAt: "2026-11-26T01:00:00Z"},
		dl{key: "C2", orderNo: "C2", class: dlq.ClassRejected, failedAt: "2026-11-26T01:00:00Z", replays: "2"},
	)
	e.run(nil)
	recs := e.consumed(sourceTopic, 2)
	wantCount := map[string]string{"C1": "1", "C2": "3"}
	for _, r := range recs {
		key := string(r.Key)
		if !bytes.Equal(r.Value, eventValue(key, false)) {
			t.Errorf("%s: value changed: %s", key, r.Value)
		}
		var got []string
		for _, h := range r.Headers {
			got = append(got, h.Key+"="+string(h.Value))
		}
		want := []string{
			"traceparent=" + string(originalHeaders[0].Value),
			"ce_type=order.paid",
			dlq.HeaderReplayCount + "=" + wantCount[key],
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: headers\n got %q\nwant %q", key, got, want)
		}
		wantPart := kafka.Murmur2Balancer{}.Balance(kafka.Message{Key: r.Key}, 0, 1, 2)
		if int(r.Partition) != wantPart {
			t.Errorf("%s: partition %d, want %d (murmur2 of the key)", key, r.Partition, wantPart)
		}
	}
}

func TestRunTwiceRepublishesNothing(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	give := func(o *replay.Options) { o.Classes = []string{dlq.ClassRejected} }
	first, _ := e.run(give)
	second, out := e.run(give)
	if first.Republished != 2 {
		t.Errorf("first run: %s, want 2 republished", first)
	}
	if second.Republished != 0 || second.AlreadyReplayed != 2 || out != "" {
		t.Errorf("second run: %s, output %q; want nothing republished, 2 already replayed", second, out)
	}
	if n := e.count(sourceTopic); n != 2 {
		t.Errorf("source topic holds %d records, want 2", n)
	}
}

func TestRunLimit(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	limit2 := func(o *replay.Options) { o.Limit = 2 }
	first, _ := e.run(limit2)
	again, _ := e.run(limit2)
	rest, _ := e.run(nil)
	if first.Republished != 2 || !first.LimitReached {
		t.Errorf("--limit 2: %s, want 2 republished and the limit reached", first)
	}
	if again.Republished != 0 || again.AlreadyReplayed != 2 {
		t.Errorf("--limit 2 again: %s, want nothing republished", again)
	}
	if rest.Republished != 2 || rest.AlreadyReplayed != 2 {
		t.Errorf("no limit: %s, want the other 2 republished", rest)
	}
	got := orderNos(e.consumed(sourceTopic, 4))
	if !slices.Equal(got, []string{"A1", "A2", "A3", "A4"}) {
		t.Errorf("republished %v, want each order once", got)
	}
}

func TestRunDryRunChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	sum, out := e.run(func(o *replay.Options) {
		o.DryRun = true
		o.Classes = []string{dlq.ClassRejected}
	})
	if sum.Republished != 2 || !sum.DryRun {
		t.Errorf("dry run: %s, want 2 that would be republished", sum)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("dry run printed %d lines, want 2: %q", len(lines), out)
	}
	for _, l := range lines {
		for _, want := range []string{"would-republish", "source=orders/1/42", "class=rejected", `reason="sync-status: rejected for the test"`} {
			if !strings.Contains(l, want) {
				t.Errorf("line %q lacks %q", l, want)
			}
		}
	}
	if n := e.count(sourceTopic); n != 0 {
		t.Errorf("dry run republished %d records", n)
	}
	if n := e.count(dlqTopic + replay.LedgerSuffix); n != -1 {
		t.Errorf("dry run created the ledger topic (%d records)", n)
	}
	real, _ := e.run(func(o *replay.Options) { o.Classes = []string{dlq.ClassRejected} })
	if real.Republished != 2 {
		t.Errorf("run after the dry run: %s, want 2 republished", real)
	}
}

func TestRunReplayLimit(t *testing.T) {
	e := newEnv(t)
	e.seed(
		dl{key: "D1", orderNo: "D1", class: dlq.ClassRejected, failedAt: "2026-11-26T01:00:00Z", replays: "3"},
		dl{key: "D2", orderNo: "D2", class: dlq.ClassRejected, failedAt: "2026-11-26T01:00:00Z", replays: "2"},
		dl{key: "D3", orderNo: "D3", class: dlq.ClassRejected, failedAt: "2026-11-26T01:00:00Z", replays: "x"},
	)
	sum, out := e.run(nil)
	if sum.Republished != 1 || sum.OverReplayLimit != 2 {
		t.Errorf("default limit: %s, want 1 republished, 2 over the replay limit", sum)
	}
	if strings.Count(out, "over-replay-limit") != 2 || !strings.Contains(out, `order="D1"`) {
		t.Errorf("over-limit records not listed: %q", out)
	}
	forced, _ := e.run(func(o *replay.Options) { o.Force = true })
	if forced.Republished != 2 || forced.AlreadyReplayed != 1 {
		t.Errorf("--force: %s, want the 2 others republished", forced)
	}
	for _, r := range e.consumed(sourceTopic, 3) {
		if string(r.Key) != "D1" {
			continue
		}
		if h := r.Headers[len(r.Headers)-1]; h.Key != dlq.HeaderReplayCount || string(h.Value) != "4" {
			t.Errorf("forced D1 carries %s=%s, want replay count 4", h.Key, h.Value)
		}
	}
}

func TestRunRouting(t *testing.T) {
	e := newEnv(t)
	e.seed(
		dl{key: "E1", orderNo: "E1", class: dlq.ClassRejected, failedAt: "2026-11-26T01:00:00Z", origin: "-"},
		dl{key: "E2", orderNo: "E2", class: dlq.ClassRejected, failedAt: "2026-11-26T01:00:00Z", origin: dlqTopic},
	)
	sum, out := e.run(nil)
	if sum.Unroutable != 2 || strings.Count(out, "unroutable") != 2 {
		t.Errorf("without --to: %s, output %q; want 2 unroutable", sum, out)
	}
	sum, _ = e.run(func(o *replay.Options) { o.To = "orders.retry" })
	if sum.Republished != 2 {
		t.Errorf("--to: %s, want 2 republished", sum)
	}
	e.consumed("orders.retry", 2)
}

func TestRunProduceFailureLosesNothing(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	h := e.cluster.Fault(kfake.Fault{
		Keys: []kmsg.Key{kmsg.Produce}, Topic: sourceTopic, Err: kerr.TopicAuthorizationFailed, Count: -1,
	})
	var out bytes.Buffer
	sum, err := replay.Run(e.ctx(), e.opts(nil), &out)
	if err == nil || sum.Republished != 0 {
		t.Fatalf("Run with a refused produce: %s, err %v; want an error and nothing republished", sum, err)
	}
	h.Remove()
	again, _ := e.run(nil)
	if again.Republished != len(mixed) || again.AlreadyReplayed != 0 {
		t.Errorf("rerun after the fault: %s, want all %d republished", again, len(mixed))
	}
}

func TestRunProgress(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	clock := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	var progress bytes.Buffer
	e.run(func(o *replay.Options) {
		o.DryRun = true
		o.Progress = &progress
		o.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	})
	if !strings.Contains(progress.String(), "replay: read 2 of 4 dead-letter records") {
		t.Errorf("progress = %q, want a line every 2 s of the clock", progress.String())
	}
}

func TestNoSecretInOutput(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	var out, progress bytes.Buffer
	clock := time.Now()
	opts := e.opts(func(o *replay.Options) {
		o.Progress = &progress
		o.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	})
	for _, dry := range []bool{true, false} {
		opts.DryRun = dry
		if _, err := replay.Run(e.ctx(), opts, &out); err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	rep, err := replay.Inspect(e.ctx(), opts)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if err := rep.WriteText(&out); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	if all := out.String() + progress.String(); strings.Contains(all, loginToken) || all == "" {
		t.Errorf("output is empty or carries the login_token:\n%s", all)
	}
}

func TestInspect(t *testing.T) {
	e := newEnv(t)
	e.seed(append(slices.Clone(mixed),
		dl{key: "A5", orderNo: "A5", class: dlq.ClassRejected, failedAt: "2026-11-26T05:00:00Z", replays: "3"})...)
	e.run(func(o *replay.Options) { o.Order = "A1" })

	rep, err := replay.Inspect(e.ctx(), e.opts(nil))
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if rep.Read != 5 || rep.AlreadyReplayed != 1 || rep.Pending != 4 || rep.OverReplayLimit != 1 {
		t.Errorf("report totals %+v", rep)
	}
	wantClass := map[string]int{dlq.ClassRejected: 3, dlq.ClassRetriesExhausted: 1}
	if fmt.Sprint(rep.ByClass) != fmt.Sprint(wantClass) {
		t.Errorf("by class %v, want %v", rep.ByClass, wantClass)
	}
	if rep.ByCode["PARAM_ERROR"] != 4 || rep.ByField["/order/dishes/*/unit"] != 4 || rep.ByTopic[sourceTopic] != 4 {
		t.Errorf("by code %v, by field %v, by topic %v", rep.ByCode, rep.ByField, rep.ByTopic)
	}
	wantOldest := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	wantNewest := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	if !rep.Oldest.Equal(wantOldest) || !rep.Newest.Equal(wantNewest) {
		t.Errorf("oldest %v, newest %v; want %v, %v", rep.Oldest, rep.Newest, wantOldest, wantNewest)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	for _, want := range []string{
		"orders.dlq: 5 records read, 0 passed over by filter, 1 already replayed, 4 pending",
		"failed_at: oldest 2026-11-26T02:00:00Z, newest 2026-11-26T05:00:00Z",
		"by class:\n         3  rejected\n         1  retries_exhausted\n",
		"       4  /order/dishes/*/unit",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report text lacks %q:\n%s", want, text.String())
		}
	}
	if n := e.count(sourceTopic); n != 1 {
		t.Errorf("Inspect changed the source topic: %d records", n)
	}
}

// TestRunLargeAndOmitted republishes a 2 MiB dead letter whole (past
// kafka-go's 1 MiB batch limit, within the topic's) and leaves alone one
// written without its original, saying where the original is.
func TestRunLargeAndOmitted(t *testing.T) {
	e := newEnv(t, kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(8 << 20)}))
	e.seed(
		dl{key: "B1", orderNo: "B1", class: dlq.ClassRejected, failedAt: "2026-11-26T01:00:00Z"},
		dl{key: "B2", orderNo: "B2", class: dlq.ClassRejected, failedAt: "2026-11-26T01:00:00Z", pad: 2 << 20},
		dl{key: "B3", orderNo: "B3", class: dlq.ClassInvalidEvent, failedAt: "2026-11-26T01:00:00Z", omitted: true},
	)
	rep, err := replay.Inspect(e.ctx(), e.opts(nil))
	var text bytes.Buffer
	if err != nil || rep.WriteText(&text) != nil || rep.Omitted != 1 || !strings.Contains(text.String(), "without the original: 1 ") {
		t.Errorf("Inspect: %v, omitted %d:\n%s", err, rep.Omitted, text.String())
	}

	sum, out := e.run(nil)
	if sum.Republished != 2 || sum.Omitted != 1 || !strings.Contains(sum.String(), "; 1 without the original") {
		t.Errorf("summary %s", sum)
	}
	if !strings.Contains(out, `original-omitted source=orders/1/42 dlq=orders.dlq/`) || !strings.Contains(out, `order="B3"`) {
		t.Errorf("output does not name the record without its original:\n%s", out)
	}
	recs := e.consumed(sourceTopic, 2)
	if got := orderNos(recs); !slices.Equal(got, []string{"B1", "B2"}) {
		t.Fatalf("republished %v, want B1 B2", got)
	}
	for _, r := range recs {
		if string(r.Key) == "B2" && len(r.Value) != len(eventValue("B2", false))+2<<20 {
			t.Errorf("B2 republished with %d value bytes", len(r.Value))
		}
	}
}

func TestOptionsRejected(t *testing.T) {
	base := replay.Options{Brokers: []string{"127.0.0.1:1"}, DLQTopic: dlqTopic}
	tests := []struct {
		name    string
		give    func(*replay.Options)
		wantErr error
	}{
		{"no brokers", func(o *replay.Options) { o.Brokers = nil }, replay.ErrNoBrokers},
		{"no topic", func(o *replay.Options) { o.DLQTopic = "" }, replay.ErrNoDLQTopic},
		{"class", func(o *replay.Options) { o.Classes = []string{"rejectd"} }, replay.ErrUnknownClass},
		{"window", func(o *replay.Options) { o.Since = time.Unix(10, 0); o.Until = time.Unix(10, 0) }, replay.ErrEmptyWindow},
		{"limit", func(o *replay.Options) { o.Limit = -1 }, replay.ErrNegative},
		{"max replays", func(o *replay.Options) { o.MaxReplays = -1 }, replay.ErrNegative},
		{"to the dlq", func(o *replay.Options) { o.To = dlqTopic }, replay.ErrTopicLoop},
		{"ledger is dlq", func(o *replay.Options) { o.LedgerTopic = dlqTopic }, replay.ErrLedgerConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.give(&o)
			_, err := replay.Run(context.Background(), o, &bytes.Buffer{})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Run error %v, want %v", err, tt.wantErr)
			}
			if _, err := replay.Inspect(context.Background(), o); !errors.Is(err, tt.wantErr) {
				t.Errorf("Inspect error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRunMissingDLQ(t *testing.T) {
	e := newEnv(t)
	var out bytes.Buffer
	_, err := replay.Run(e.ctx(), e.opts(func(o *replay.Options) { o.DLQTopic = "nope.dlq" }), &out)
	if !errors.Is(err, replay.ErrDLQNotFound) {
		t.Errorf("Run error %v, want ErrDLQNotFound", err)
	}
}

// BenchmarkRun republishes 2,000 dead-letter records per iteration, each
// iteration with a fresh ledger so that nothing counts as already replayed.
func BenchmarkRun(b *testing.B) {
	c := kafkatest.Cluster(b, kfake.SeedTopics(3, sourceTopic), kfake.SeedTopics(2, dlqTopic))
	addr := c.ListenAddrs()[0]
	const n = 2000
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: dlqTopic, Transport: tr, Balancer: kafka.Murmur2Balancer{}, BatchSize: n, BatchTimeout: time.Millisecond,
		RequiredAcks: kafka.RequireAll}
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		no := fmt.Sprintf("2026112600%04d", i)
		msgs[i] = dlq.Record{
			Topic: sourceTopic, Key: []byte(no), Value: eventValue(no, false), Headers: originalHeaders,
			Failure:  dlq.Failure{Class: dlq.ClassRejected, Message: "no auth", Code: "NO_AUTH", HTTPStatus: 403, Attempts: 1},
			FailedAt: time.Now(),
		}.Message()
	}
	ctx := context.Background()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		b.Fatalf("seed: %v", err)
	}
	if err := w.Close(); err != nil {
		b.Fatalf("close: %v", err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sum, err := replay.Run(ctx, replay.Options{
			Brokers: []string{addr}, Transport: tr, DLQTopic: dlqTopic,
			LedgerTopic: fmt.Sprintf("bench.ledger.%d", i),
		}, io.Discard)
		if err != nil || sum.Republished != n {
			b.Fatalf("Run: %s, %v", sum, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
