package dlq

import (
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// DeadLetter is a dead-letter message read back by Parse.
type DeadLetter struct {
	// Record is what the message says it was written from. Its Headers are
	// the original's, every ordersync.* header removed. A header that is
	// missing or unreadable leaves its field unknown: "" or zero, and -1 for
	// Partition and Offset.
	Record
	// ReplayCount is how many times the record was replayed
	// (HeaderReplayCount; absent means 0).
	ReplayCount int
	// BadReplayCount is set when HeaderReplayCount is present but not a
	// non-negative decimal; such a record is to be treated as replayed
	// too often.
	BadReplayCount bool
}

// Parse reads a dead-letter message written by Writer (README "Dead letters
// and replay"). When a header appears more than once the last one wins,
// except HeaderReplayCount, where the highest wins, so that a record never
// looks less replayed than it is. Parse never fails: a message that is not a
// dead letter parses with every field unknown.
func Parse(m kafka.Message) DeadLetter {
	d := DeadLetter{Record: Record{Partition: -1, Offset: -1, Key: m.Key, Value: m.Value}}
	f := &d.Failure
	for _, h := range m.Headers {
		if !strings.HasPrefix(h.Key, Prefix) {
			d.Headers = append(d.Headers, h)
			continue
		}
		v := string(h.Value)
		switch h.Key {
		case HeaderErrorClass:
			f.Class = v
		case HeaderErrorMessage:
			f.Message = v
		case HeaderErrorField:
			f.Field = v
		case HeaderErrorCode:
			f.Code = v
		case HeaderErrorHTTPStatus:
			f.HTTPStatus = atoiOr(v, 0)
		case HeaderRequestID:
			f.RequestID = v
		case HeaderErrorMapped:
			f.Mapped = v == "true"
		case HeaderAttempts:
			f.Attempts = atoiOr(v, 0)
		case HeaderAccount:
			f.Account = v
		case HeaderSubMchID:
			f.SubMchID = v
		case HeaderMerchantHeld:
			f.MerchantHeld = v == "true"
		case HeaderOriginalTopic:
			d.Topic = v
		case HeaderOriginalPartition:
			d.Partition = atoiOr(v, -1)
		case HeaderOriginalOffset:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				n = -1
			}
			d.Offset = n
		case HeaderOriginalTimestamp:
			d.Timestamp = parseTime(v)
		case HeaderFailedAt:
			d.FailedAt = parseTime(v)
		case HeaderOriginalOmitted:
			d.Omitted = max(atoiOr(v, 1), 1)
		case HeaderReplayCount:
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				d.BadReplayCount = true
				continue
			}
			d.ReplayCount = max(d.ReplayCount, n)
		}
	}
	return d
}

// Source names where the original was read: "topic/partition/offset", with
// "-" for each part not known.
func (d DeadLetter) Source() string {
	part := func(n int64) string {
		if n < 0 {
			return "-"
		}
		return strconv.FormatInt(n, 10)
	}
	topic := d.Topic
	if topic == "" {
		topic = "-"
	}
	return topic + "/" + part(int64(d.Partition)) + "/" + part(d.Offset)
}

// atoiOr returns s as a non-negative decimal, or def.
func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return def
	}
	return n
}

// parseTime reads a header time (TimeLayout, or any RFC 3339 time); zero
// when it is not one.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
