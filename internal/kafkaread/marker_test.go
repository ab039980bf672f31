package kafkaread

import (
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestTxnMarker(t *testing.T) {
	tests := []struct {
		name string
		give kafka.Message
		want bool
	}{
		{"abort marker", kafka.Message{Key: []byte{0, 0, 0, 0}, Value: []byte{0, 0, 0, 0, 0, 7}}, true},
		{"commit marker", kafka.Message{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}}, true},
		{"an event", kafka.Message{Key: []byte("2015"), Value: []byte(`{"a":1}`)}, false},
		{"unknown control type", kafka.Message{Key: []byte{0, 0, 0, 2}, Value: []byte{0, 0, 0, 0, 0, 0}}, false},
		{"marker shape with headers", kafka.Message{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0},
			Headers: []kafka.Header{{Key: "h"}}}, false},
		{"longer value", kafka.Message{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0, 0}}, false},
		{"empty", kafka.Message{}, false},
	}
	for _, tt := range tests {
		if got := TxnMarker(tt.give); got != tt.want {
			t.Errorf("%s: TxnMarker = %v, want %v", tt.name, got, tt.want)
		}
	}
}
