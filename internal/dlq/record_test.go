package dlq

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func headerMap(t *testing.T, hs []kafka.Header) map[string]string {
	t.Helper()
	m := make(map[string]string, len(hs))
	for _, h := range hs {
		if _, dup := m[h.Key]; dup {
			t.Fatalf("header %q appears twice", h.Key)
		}
		m[h.Key] = string(h.Value)
	}
	return m
}

func TestRecordMessage(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 30, 5, 123456789, time.FixedZone("CST", 8*3600))
	failed := time.Date(2026, 11, 26, 4, 31, 0, 7_000_000, time.UTC)
	base := Record{
		Topic: "orders", Partition: 3, Offset: 1234567, Timestamp: at,
		Key: []byte("20150806125346"), Value: []byte(`{"event_id":"e1"}`),
		Headers: []kafka.Header{
			{Key: "ce_type", Value: []byte("order.paid")},
			{Key: HeaderReplayCount, Value: []byte("2")},
		},
		FailedAt: failed,
	}
	tests := []struct {
		name        string
		giveFailure Failure
		giveHeaders []kafka.Header
		want        map[string]string
		wantAbsent  []string
	}{
		{
			name: "rejected with every api detail",
			giveFailure: Failure{Class: ClassRejected, Message: "PARAM_ERROR: bad\nunit", Field: "/order/dishes/0/unit",
				Code: "PARAM_ERROR", HTTPStatus: 400, RequestID: "req-1", Attempts: 1},
			want: map[string]string{
				"ce_type":               "order.paid",
				HeaderReplayCount:       "2",
				HeaderErrorClass:        ClassRejected,
				HeaderErrorMessage:      "PARAM_ERROR: bad unit",
				HeaderErrorField:        "/order/dishes/0/unit",
				HeaderErrorCode:         "PARAM_ERROR",
				HeaderErrorHTTPStatus:   "400",
				HeaderRequestID:         "req-1",
				HeaderAttempts:          "1",
				HeaderOriginalTopic:     "orders",
				HeaderOriginalPartition: "3",
				HeaderOriginalOffset:    "1234567",
				HeaderOriginalTimestamp: "2026-11-26T04:30:05.123Z",
				HeaderFailedAt:          "2026-11-26T04:31:00.007Z",
			},
		},
		{
			name:        "invalid event leaves unknown api fields out",
			giveFailure: Failure{Class: ClassInvalidEvent, Message: "not JSON"},
			want: map[string]string{
				HeaderErrorClass:   ClassInvalidEvent,
				HeaderErrorMessage: "not JSON",
				HeaderAttempts:     "0",
			},
			wantAbsent: []string{HeaderErrorField, HeaderErrorCode, HeaderErrorHTTPStatus, HeaderRequestID},
		},
		{
			name:        "stale ordersync headers of the original are replaced",
			giveFailure: Failure{Class: ClassRetriesExhausted, Message: "503", Attempts: 9},
			giveHeaders: []kafka.Header{{Key: HeaderErrorClass, Value: []byte("rejected")}, {Key: HeaderAttempts, Value: []byte("1")}},
			want:        map[string]string{HeaderErrorClass: ClassRetriesExhausted, HeaderAttempts: "9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			r.Failure = tt.giveFailure
			if tt.giveHeaders != nil {
				r.Headers = append(append([]kafka.Header(nil), base.Headers...), tt.giveHeaders...)
			}
			msg := r.Message()
			if string(msg.Key) != string(r.Key) || string(msg.Value) != string(r.Value) {
				t.Fatalf("key/value changed: %q %q", msg.Key, msg.Value)
			}
			if msg.Headers[0].Key != "ce_type" || msg.Headers[1].Key != HeaderReplayCount {
				t.Fatalf("original headers not first and in order: %v", msg.Headers)
			}
			got := headerMap(t, msg.Headers)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("header %s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tt.wantAbsent {
				if _, ok := got[k]; ok {
					t.Errorf("header %s present, want absent", k)
				}
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	long := strings.Repeat("é", 1000)
	tests := []struct {
		give string
		want string
	}{
		{give: "a\r\nb\t c", want: "a b c"},
		{give: "  lead and trail \n", want: "lead and trail"},
		{give: "bad \xff utf8", want: "bad \uFFFD utf8"},
		{give: long, want: strings.Repeat("é", 512)},
	}
	for _, tt := range tests {
		if got := OneLine(tt.give); got != tt.want {
			t.Errorf("OneLine(%.20q) = %.40q (len %d), want %.40q (len %d)", tt.give, got, len(got), tt.want, len(tt.want))
		}
	}
}

func TestRecordWithoutOriginal(t *testing.T) {
	rec := Record{
		Topic: "orders", Partition: 1, Offset: 9, Key: []byte("20150806125346"), Value: []byte("0123456789"),
		Headers:  []kafka.Header{{Key: "ab", Value: []byte("cd")}, {Key: HeaderReplayCount, Value: []byte("1")}},
		Failure:  Failure{Class: ClassInvalidEvent, Message: "too big"},
		FailedAt: time.Now(),
	}
	got := rec.WithoutOriginal()
	if got.Value != nil || got.Headers != nil || string(got.Key) != "20150806125346" || got.Omitted != 10+4+len(HeaderReplayCount)+1 {
		t.Errorf("WithoutOriginal = key %q value %q headers %v omitted %d", got.Key, got.Value, got.Headers, got.Omitted)
	}
	if again := got.WithoutOriginal(); again.Omitted != got.Omitted {
		t.Errorf("second WithoutOriginal: omitted %d, want %d", again.Omitted, got.Omitted)
	}
	hs := headerMap(t, got.Message().Headers)
	if hs[HeaderOriginalOmitted] != strconv.Itoa(got.Omitted) || hs[HeaderErrorClass] != ClassInvalidEvent || hs[HeaderOriginalOffset] != "9" {
		t.Errorf("headers %v", hs)
	}
	if _, ok := headerMap(t, rec.Message().Headers)[HeaderOriginalOmitted]; ok {
		t.Errorf("a whole record carries %s", HeaderOriginalOmitted)
	}

	rec.Key = []byte(strings.Repeat("k", 2000))
	if got := rec.WithoutOriginal(); got.Key != nil || got.Omitted != 2000+10+4+len(HeaderReplayCount)+1 {
		t.Errorf("a 2000-byte key: kept %d bytes, omitted %d", len(got.Key), got.Omitted)
	}
}
