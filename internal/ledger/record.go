// Package ledger is the delivery ledger (README "The delivery ledger and the
// reconciliation report", docs/ledger.md): a compacted Kafka topic holding,
// per order, the last state delivered to WeChat Pay, and the guard that keeps
// a paid order from going back and a delivered state from being sent twice.
//
// A Record is written after each 204, keyed <sub_mchid>/<out_order_no>, to
// the ledger partition numbered like the source partition of its event, so
// the new owner of a source partition restores just that ledger partition.
// State holds what the guard needs of every order, in a few bytes each.
package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Statuses recorded, as sent in the body.
const (
	StatusCreateDeal = "CREATE_DEAL"
	StatusPaySuccess = "PAY_SUCCESS"
)

// DefaultAccount names the account of an event mapped without one (the
// single-account deployment's account is named so too).
const DefaultAccount = "default"

// Record is one delivered state of an order: the value of a ledger record,
// documented field by field in docs/ledger.md.
type Record struct {
	Version       int       `json:"v"`
	SubMchID      string    `json:"sub_mchid"`
	OutOrderNo    string    `json:"out_order_no"`
	Status        string    `json:"status"`
	ActionTime    time.Time `json:"action_time"`
	EventID       string    `json:"event_id"`
	BodySHA256    string    `json:"body_sha256"`
	DeliveredAt   time.Time `json:"delivered_at"`
	RequestID     string    `json:"request_id,omitempty"`
	Account       string    `json:"account"`
	TransactionID string    `json:"transaction_id,omitempty"`
	UserAmount    *int64    `json:"user_amount,omitempty"`
	Source        Source    `json:"source"`
}

// Source is where the delivered event was read.
type Source struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
}

// recordVersion is the Version written; a reader skips higher ones it
// cannot know the meaning of.
const recordVersion = 1

// ErrBadRecord means a ledger value is not a record this version reads.
var ErrBadRecord = errors.New("not a ledger record")

// Key is the ledger key of an order: <sub_mchid>/<out_order_no>.
func Key(subMchID, outOrderNo string) string { return subMchID + "/" + outOrderNo }

// BodySum is the hex SHA-256 of a body as sent.
func BodySum(body []byte) string {
	s := sha256.Sum256(body)
	return hex.EncodeToString(s[:])
}

// Marshal returns r's JSON value, stamping the version: what
// encoding/json writes for r (TestMarshalMatchesEncodingJSON), in one
// allocation, since a record is written for every delivered event.
func (r Record) Marshal() ([]byte, error) {
	r.Version = recordVersion
	b := make([]byte, 0, r.size())
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(r.Version), 10)
	b = appendField(b, `,"sub_mchid":`, r.SubMchID)
	b = appendField(b, `,"out_order_no":`, r.OutOrderNo)
	b = appendField(b, `,"status":`, r.Status)
	b, err1 := appendTime(append(b, `,"action_time":`...), r.ActionTime)
	b = appendField(b, `,"event_id":`, r.EventID)
	b = appendField(b, `,"body_sha256":`, r.BodySHA256)
	b, err2 := appendTime(append(b, `,"delivered_at":`...), r.DeliveredAt)
	if r.RequestID != "" {
		b = appendField(b, `,"request_id":`, r.RequestID)
	}
	b = appendField(b, `,"account":`, r.Account)
	if r.TransactionID != "" {
		b = appendField(b, `,"transaction_id":`, r.TransactionID)
	}
	if r.UserAmount != nil {
		b = strconv.AppendInt(append(b, `,"user_amount":`...), *r.UserAmount, 10)
	}
	b = appendField(b, `,"source":{"topic":`, r.Source.Topic)
	b = strconv.AppendInt(append(b, `,"partition":`...), int64(r.Source.Partition), 10)
	b = strconv.AppendInt(append(b, `,"offset":`...), r.Source.Offset, 10)
	b = append(b, "}}"...)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("encode ledger record %s: %w", Key(r.SubMchID, r.OutOrderNo), err)
	}
	return b, nil
}

// size is the longest r's value is when no string needs an escape: the
// fields' names and punctuation (222 bytes with the strings' quotes), at
// most 20 bytes per number (4) and 37 per quoted time (2), and the strings.
func (r Record) size() int {
	return 222 + 4*20 + 2*37 + len(r.SubMchID) + len(r.OutOrderNo) + len(r.Status) + len(r.EventID) + len(r.BodySHA256) +
		len(r.RequestID) + len(r.Account) + len(r.TransactionID) + len(r.Source.Topic)
}

func appendField(b []byte, name, v string) []byte { return appendString(append(b, name...), v) }

// appendTime appends t quoted, as time.Time's MarshalJSON writes it.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	return append(b, '"'), err
}

// appendString appends s as a JSON string escaped as encoding/json escapes
// it: quotes, backslashes and control characters, <, > and & (as \u003c,
// \u003e, \u0026), U+2028 and U+2029, and invalid UTF-8 as \ufffd.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Unmarshal decodes a ledger value. It fails, wrapping ErrBadRecord, on a
// value that is not JSON, lacks the order or status, or is of a later
// version.
func Unmarshal(value []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(value, &r); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrBadRecord, err)
	}
	switch {
	case r.Version != recordVersion:
		return Record{}, fmt.Errorf("%w: version %d", ErrBadRecord, r.Version)
	case r.SubMchID == "" || r.OutOrderNo == "":
		return Record{}, fmt.Errorf("%w: no sub_mchid or out_order_no", ErrBadRecord)
	case r.Status != StatusCreateDeal && r.Status != StatusPaySuccess:
		return Record{}, fmt.Errorf("%w: status %q", ErrBadRecord, r.Status)
	}
	return r, nil
}
