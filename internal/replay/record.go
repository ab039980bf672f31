package replay

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/dlq"
)

// message is one record copied out of a fetch response.
type message struct {
	Partition int
	Offset    int64
	Time      time.Time
	Key       []byte
	Value     []byte
	Headers   []kafka.Header
}

// deadLetter is one record of the dead-letter topic: where it is there
// (message) and what it says (dl, read by dlq.Parse).
type deadLetter struct {
	message
	dl dlq.DeadLetter
	// Reason is the reason a line gives: the recorded error message, or
	// why replay left the record alone.
	Reason string
}

func decode(m message) deadLetter {
	dl := dlq.Parse(kafka.Message{Key: m.Key, Value: m.Value, Headers: m.Headers})
	return deadLetter{message: m, dl: dl, Reason: dl.Failure.Message}
}

// republished returns the record to produce for d: its key, value and
// original headers, every ordersync.* header dropped, and the replay count
// set to previous + 1.
func (d deadLetter) republished(topic string) kafka.Message {
	headers := make([]kafka.Header, 0, len(d.dl.Headers)+1)
	headers = append(headers, d.dl.Headers...)
	headers = append(headers, kafka.Header{
		Key:   dlq.HeaderReplayCount,
		Value: []byte(strconv.Itoa(d.dl.ReplayCount + 1)),
	})
	return kafka.Message{Topic: topic, Key: d.Key, Value: d.Value, Headers: headers}
}

// OrderNumber returns the order the record belongs to: its key, else the
// order number read from its value.
func (d deadLetter) OrderNumber() string {
	if len(d.Key) > 0 {
		return string(d.Key)
	}
	return valueOrderNo(d.Value)
}

// matchesOrder reports whether the record belongs to order: by key or by
// the order number in its value.
func (d deadLetter) matchesOrder(order string) bool {
	return string(d.Key) == order || valueOrderNo(d.Value) == order
}

// valueOrderNo reads order.order_no, or data.order.order_no inside a
// CloudEvents structured envelope, from an event value. It returns "" for a
// value that is not JSON or has no order number. A number is returned as
// written.
func valueOrderNo(value []byte) string {
	var ev struct {
		Order struct {
			OrderNo json.RawMessage `json:"order_no"`
		} `json:"order"`
		Data struct {
			Order struct {
				OrderNo json.RawMessage `json:"order_no"`
			} `json:"order"`
		} `json:"data"`
	}
	if json.Unmarshal(value, &ev) != nil {
		return ""
	}
	if s := rawScalar(ev.Order.OrderNo); s != "" {
		return s
	}
	return rawScalar(ev.Data.Order.OrderNo)
}

// rawScalar returns a JSON string's content or a number's text; "" for
// anything else.
func rawScalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
