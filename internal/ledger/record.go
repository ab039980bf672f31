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
	"time"
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

// Marshal returns r's JSON value, stamping the version.
func (r Record) Marshal() ([]byte, error) {
	r.Version = recordVersion
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode ledger record %s: %w", Key(r.SubMchID, r.OutOrderNo), err)
	}
	return b, nil
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
