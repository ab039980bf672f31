package replay_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/replay"
)

// merchantDL is a dead letter of one sub-merchant and account.
type merchantDL struct {
	dl
	account, sub string
	held         bool
}

func (e *env) seedMerchants(records ...merchantDL) {
	e.t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(e.addr), Topic: dlqTopic, Transport: tr, Balancer: kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	msgs := make([]kafka.Message, len(records))
	for i, r := range records {
		m := r.message(e.t)
		m.Headers = append(m.Headers, kafka.Header{Key: dlq.HeaderAccount, Value: []byte(r.account)},
			kafka.Header{Key: dlq.HeaderSubMchID, Value: []byte(r.sub)})
		if r.held {
			m.Headers = append(m.Headers, kafka.Header{Key: dlq.HeaderMerchantHeld, Value: []byte("true")})
		}
		msgs[i] = m
	}
	if err := w.WriteMessages(e.ctx(), msgs...); err != nil {
		e.t.Fatalf("seed dead-letter topic: %v", err)
	}
}

var byMerchant = []merchantDL{
	{dl{key: "M1", orderNo: "M1", class: dlq.ClassRejected, failedAt: "2026-11-26T01:00:00Z"}, "sp-east", "1900000201", false},
	{dl{key: "M2", orderNo: "M2", class: dlq.ClassRejected, failedAt: "2026-11-26T01:01:00Z"}, "sp-east", "1900000201", true},
	{dl{key: "M3", orderNo: "M3", class: dlq.ClassRejected, failedAt: "2026-11-26T01:02:00Z"}, "sp-east", "1900000202", false},
	{dl{key: "M4", orderNo: "M4", class: dlq.ClassInvalidEvent, failedAt: "2026-11-26T01:03:00Z"}, "bank-channel", "1900000301", false},
}

func TestRunSelectsByMerchantAndAccount(t *testing.T) {
	for _, tt := range []struct {
		name string
		give func(*replay.Options)
		want []string
	}{
		{"one sub-merchant", func(o *replay.Options) { o.Merchants = []string{"1900000201"} }, []string{"M1", "M2"}},
		{"two sub-merchants", func(o *replay.Options) { o.Merchants = []string{"1900000202", "1900000301"} }, []string{"M3", "M4"}},
		{"one account", func(o *replay.Options) { o.Accounts = []string{"sp-east"} }, []string{"M1", "M2", "M3"}},
		{"account and sub-merchant", func(o *replay.Options) {
			o.Accounts, o.Merchants = []string{"sp-east"}, []string{"1900000301"}
		}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.seedMerchants(byMerchant...)
			sum, _ := e.run(tt.give)
			if sum.Republished != len(tt.want) || sum.Filtered != len(byMerchant)-len(tt.want) {
				t.Fatalf("summary %s, want %d republished", sum, len(tt.want))
			}
			if len(tt.want) == 0 {
				return
			}
			got := orderNos(e.consumed(sourceTopic, len(tt.want)))
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("republished %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInspectGroupsByAccountAndSubMerchantAndListsHeld(t *testing.T) {
	e := newEnv(t)
	e.seedMerchants(byMerchant...)
	rep, err := replay.Inspect(e.ctx(), e.opts(nil))
	if err != nil {
		t.Fatal(err)
	}
	if rep.ByAccount["sp-east"] != 3 || rep.ByAccount["bank-channel"] != 1 || rep.BySubMchID["1900000201"] != 2 {
		t.Errorf("by account %v, by sub-merchant %v", rep.ByAccount, rep.BySubMchID)
	}
	if len(rep.Held) != 1 || rep.Held["1900000201"] != "sp-east" {
		t.Errorf("held %v", rep.Held)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"by account:\n         3  sp-east\n         1  bank-channel\n",
		"by sub-merchant:\n         2  1900000201\n", "held sub-merchants", "  1900000201  account sp-east\n"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
}
