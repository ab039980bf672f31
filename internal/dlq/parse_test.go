package dlq

import (
	"reflect"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestParseReadsWhatMessageWrites(t *testing.T) {
	at := time.Date(2026, 11, 26, 4, 30, 5, 123_000_000, time.UTC)
	failed := time.Date(2026, 11, 26, 4, 31, 0, 7_000_000, time.UTC)
	rec := Record{
		Topic: "orders", Partition: 3, Offset: 1234567, Timestamp: at,
		Key: []byte("20150806125346"), Value: []byte(`{"event_id":"e1"}`),
		Headers: []kafka.Header{{Key: "ce_type", Value: []byte("order.paid")}},
		Failure: Failure{Class: ClassRejected, Message: "PARAM_ERROR: bad unit", Field: "/order/dishes/0/unit",
			Code: "PARAM_ERROR", HTTPStatus: 400, RequestID: "req-1", Attempts: 2, Mapped: true,
			Account: "chain-a", SubMchID: "1900000109", MerchantHeld: true},
		FailedAt: failed,
	}
	tests := []struct {
		name string
		give Record
	}{
		{"whole", rec},
		{"without the original", rec.WithoutOriginal()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(tt.give.Message())
			if !reflect.DeepEqual(got.Record, tt.give) {
				t.Errorf("Parse(Message()).Record =\n%+v\nwant\n%+v", got.Record, tt.give)
			}
			if got.ReplayCount != 0 || got.BadReplayCount {
				t.Errorf("replay count %d (bad %v), want 0", got.ReplayCount, got.BadReplayCount)
			}
			if src := got.Source(); src != "orders/3/1234567" {
				t.Errorf("Source() = %q", src)
			}
		})
	}
}

func TestParseReplayCountAndUnknowns(t *testing.T) {
	tests := []struct {
		name       string
		give       []kafka.Header
		wantCount  int
		wantBad    bool
		wantSource string
	}{
		{"none", nil, 0, false, "-/-/-"},
		{"highest of several wins", []kafka.Header{
			{Key: HeaderReplayCount, Value: []byte("3")}, {Key: HeaderReplayCount, Value: []byte("1")},
			{Key: HeaderOriginalTopic, Value: []byte("orders")}}, 3, false, "orders/-/-"},
		{"not a number", []kafka.Header{{Key: HeaderReplayCount, Value: []byte("x")},
			{Key: HeaderOriginalPartition, Value: []byte("two")}, {Key: HeaderOriginalOffset, Value: []byte("9")}}, 0, true, "-/-/9"},
		{"negative", []kafka.Header{{Key: HeaderReplayCount, Value: []byte("-1")}}, 0, true, "-/-/-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Parse(kafka.Message{Headers: tt.give})
			if d.ReplayCount != tt.wantCount || d.BadReplayCount != tt.wantBad || d.Source() != tt.wantSource {
				t.Errorf("count %d bad %v source %q, want %d %v %q", d.ReplayCount, d.BadReplayCount, d.Source(),
					tt.wantCount, tt.wantBad, tt.wantSource)
			}
			if len(d.Headers) != 0 || !d.FailedAt.IsZero() {
				t.Errorf("headers %v failed at %v, want none", d.Headers, d.FailedAt)
			}
		})
	}
}
