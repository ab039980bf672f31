package replay

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
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

// deadLetter is a dead-letter record with its headers decoded (README "Dead letters and replay").
type deadLetter struct {
	message
	Class         string
	Reason        string
	Field         string
	Code          string
	OriginalTopic string
	OriginalPos   string // "topic/partition/offset" as recorded, for display
	FailedAt      time.Time
	HasFailedAt   bool
	// ReplayCount is the value of dlq.HeaderReplayCount (absent = 0).
	ReplayCount int
	// BadReplayCount is set when the header is present but not a
	// non-negative decimal: such a record counts as over the replay limit.
	BadReplayCount bool
	// Omitted is set when the record was written without the original's
	// value and headers (dlq.HeaderOriginalOmitted): there is nothing to
	// republish.
	Omitted bool
	// Account, SubMchID and MerchantHeld are the merchant registry headers.
	Account, SubMchID string
	MerchantHeld      bool
}

// decode reads the ordersync.* headers of m. When a header appears more
// than once the last one wins, except the replay count, where the highest
// wins so that a record can never look less replayed than it is.
func decode(m message) deadLetter {
	d := deadLetter{message: m}
	var origPartition, origOffset string
	for _, h := range m.Headers {
		v := string(h.Value)
		switch h.Key {
		case dlq.HeaderErrorClass:
			d.Class = v
		case dlq.HeaderErrorMessage:
			d.Reason = v
		case dlq.HeaderErrorField:
			d.Field = v
		case dlq.HeaderErrorCode:
			d.Code = v
		case dlq.HeaderOriginalTopic:
			d.OriginalTopic = v
		case dlq.HeaderOriginalPartition:
			origPartition = v
		case dlq.HeaderOriginalOffset:
			origOffset = v
		case dlq.HeaderOriginalOmitted:
			d.Omitted = true
		case dlq.HeaderAccount:
			d.Account = v
		case dlq.HeaderSubMchID:
			d.SubMchID = v
		case dlq.HeaderMerchantHeld:
			d.MerchantHeld = v == "true"
		case dlq.HeaderFailedAt:
			t, err := time.Parse(time.RFC3339Nano, v)
			d.FailedAt, d.HasFailedAt = t, err == nil
		case dlq.HeaderReplayCount:
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				d.BadReplayCount = true
				continue
			}
			d.ReplayCount = max(d.ReplayCount, n)
		}
	}
	d.OriginalPos = orDash(d.OriginalTopic) + "/" + orDash(origPartition) + "/" + orDash(origOffset)
	return d
}

// republished returns the record to produce for d: its key, value and
// original headers, every ordersync.* header dropped, and the replay count
// set to previous + 1.
func (d deadLetter) republished(topic string) kafka.Message {
	headers := make([]kafka.Header, 0, len(d.Headers)+1)
	for _, h := range d.Headers {
		if strings.HasPrefix(h.Key, dlq.Prefix) {
			continue
		}
		headers = append(headers, h)
	}
	headers = append(headers, kafka.Header{
		Key:   dlq.HeaderReplayCount,
		Value: []byte(strconv.Itoa(d.ReplayCount + 1)),
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
