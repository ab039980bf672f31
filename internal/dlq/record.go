package dlq

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"
)

// TimeLayout is the format of every time header: RFC3339 in UTC with
// millisecond precision.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// maxMessageLen bounds HeaderErrorMessage in bytes so that a long list of
// violations cannot make a record oversized.
const maxMessageLen = 1024

// maxKeptKeyLen bounds the key WithoutOriginal keeps: an order number is at
// most 32 characters, so a longer key is hostile and left out with the rest.
const maxKeptKeyLen = 1024

// Failure says why an event is dead-lettered. Empty strings and zero numbers
// mean "not known" and leave the matching header out, except Attempts, which
// is always written.
type Failure struct {
	// Class is one of ClassInvalidEvent, ClassRejected, ClassRetriesExhausted.
	Class string
	// Message is a human-readable reason; it is folded onto one line and
	// must not contain secrets.
	Message string
	// Field is the JSON pointer (or header name) of the offending field.
	Field string
	// Code is the API's error code, such as PARAM_ERROR.
	Code string
	// HTTPStatus is the API's HTTP status.
	HTTPStatus int
	// RequestID is the API's Request-ID response header.
	RequestID string
	// Attempts is the number of upload attempts made (0 for invalid events).
	Attempts int
	// Mapped marks an event rewritten by the mapping program (HeaderErrorMapped).
	Mapped bool
	// Account and SubMchID name the event's merchant account and
	// sub-merchant, when known; MerchantHeld marks a held sub-merchant's event.
	Account, SubMchID string
	MerchantHeld      bool
}

// Record is one event bound for the dead-letter topic: the original Kafka
// record, where it came from and why it failed.
type Record struct {
	Topic     string
	Partition int
	Offset    int64
	// Timestamp is the original Kafka record time.
	Timestamp time.Time
	Key       []byte
	Value     []byte
	Headers   []kafka.Header
	Failure   Failure
	// FailedAt is when the event was given up on.
	FailedAt time.Time
	// Omitted is the number of bytes of the original left out by
	// WithoutOriginal; 0 for a whole record.
	Omitted int
}

// WithoutOriginal returns r without the original value and headers (and
// without the key when it is longer than 1 KiB), for a dead-letter topic that
// refused r whole as too large: stalling the partition behind one oversized
// event would hold back every later order in it. The message then carries
// HeaderOriginalOmitted with the number of bytes left out; the original stays
// readable at its source topic, partition and offset until retention removes
// it, and replay leaves such a record alone.
func (r Record) WithoutOriginal() Record {
	if r.Omitted > 0 {
		return r
	}
	n := messageBytes(kafka.Message{Value: r.Value, Headers: r.Headers})
	r.Value, r.Headers = nil, nil
	if len(r.Key) > maxKeptKeyLen {
		n += len(r.Key)
		r.Key = nil
	}
	r.Omitted = max(n, 1)
	return r
}

// Message builds the dead-letter Kafka message (README "Dead letters and replay"): key, value and
// original headers copied unchanged, followed by the ordersync.* headers.
// An original header whose name is one this function adds is dropped so that
// every added header appears once; HeaderReplayCount is never added here, so
// an original replay count is kept as it is.
func (r Record) Message() kafka.Message {
	added := r.addedHeaders()
	names := make(map[string]struct{}, len(added))
	for _, h := range added {
		names[h.Key] = struct{}{}
	}
	headers := make([]kafka.Header, 0, len(r.Headers)+len(added))
	for _, h := range r.Headers {
		if _, ok := names[h.Key]; ok {
			continue
		}
		headers = append(headers, h)
	}
	headers = append(headers, added...)
	return kafka.Message{Key: r.Key, Value: r.Value, Headers: headers}
}

func (r Record) addedHeaders() []kafka.Header {
	f := r.Failure
	hs := make([]kafka.Header, 0, 15)
	add := func(k, v string) { hs = append(hs, kafka.Header{Key: k, Value: []byte(v)}) }
	add(HeaderErrorClass, f.Class)
	add(HeaderErrorMessage, OneLine(f.Message))
	if f.Field != "" {
		add(HeaderErrorField, f.Field)
	}
	if f.Code != "" {
		add(HeaderErrorCode, f.Code)
	}
	if f.HTTPStatus > 0 {
		add(HeaderErrorHTTPStatus, strconv.Itoa(f.HTTPStatus))
	}
	if f.RequestID != "" {
		add(HeaderRequestID, f.RequestID)
	}
	if f.Mapped {
		add(HeaderErrorMapped, "true")
	}
	add(HeaderAttempts, strconv.Itoa(f.Attempts))
	add(HeaderOriginalTopic, r.Topic)
	add(HeaderOriginalPartition, strconv.Itoa(r.Partition))
	add(HeaderOriginalOffset, strconv.FormatInt(r.Offset, 10))
	if !r.Timestamp.IsZero() {
		add(HeaderOriginalTimestamp, FormatTime(r.Timestamp))
	}
	add(HeaderFailedAt, FormatTime(r.FailedAt))
	if r.Omitted > 0 {
		add(HeaderOriginalOmitted, strconv.Itoa(r.Omitted))
	}
	if f.Account != "" {
		add(HeaderAccount, f.Account)
	}
	if f.SubMchID != "" {
		add(HeaderSubMchID, OneLine(f.SubMchID))
	}
	if f.MerchantHeld {
		add(HeaderMerchantHeld, "true")
	}
	return hs
}

// FormatTime formats t as a header time: RFC3339, UTC, milliseconds.
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeLayout)
}

// OneLine folds s onto a single line: control characters (newlines, tabs)
// become spaces, runs of spaces collapse, invalid UTF-8 is replaced and the
// result is cut to at most 1024 bytes on a rune boundary.
func OneLine(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), maxMessageLen))
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			if !space && b.Len() > 0 {
				space = true
			}
			continue
		}
		if space {
			if b.Len()+1 > maxMessageLen {
				break
			}
			b.WriteByte(' ')
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > maxMessageLen {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
