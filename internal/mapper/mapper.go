// Package mapper turns one order event (docs/events.md) into the exact body of
// WeChat Pay's POST /v3/catering/orders/sync-status request, or into a list
// of every rule the event breaks.
//
// The package is pure: no I/O, no logging, no context. A Mapper is safe for
// concurrent use. Values are decoded with github.com/go-json-experiment/json
// (strict RFC 8259, valid UTF-8, no duplicate names); syntax faults are
// reported as "invalid JSON at byte N: ..." at the pointer of the value at
// fault.
//
// Decisions the contract leaves open, fixed here:
//   - JSON null on a field is treated exactly as if the field were absent: an
//     optional field set to null is omitted, a required one is reported as
//     missing. Inside arrays (dishes, property values) null is a violation.
//   - Duplicate object keys anywhere in the value make the event invalid.
//   - Integer fields take any JSON number whose value is an exact integer in
//     the int64 range: 2, 2.0 and 2e0 are 2; 2.5 and 1e-1 are rejected.
//   - count takes at most 2 decimal places and at most 15 digits in all (so a
//     double-precision parser on the receiving side reads it exactly).
//   - Strings must not be empty; an empty optional string is a violation, not
//     an omission.
//   - Fields of the other mode (channel_id in service-provider mode,
//     sp_mchid/sp_appid in channel mode) and unknown fields are ignored;
//     customer.openid in channel mode is a violation.
//   - people_count, when present, is at least 1; price and amounts are ≥ 0.
//   - occurred_at and paid_at accept RFC 3339 date-times with Z or ±hh:mm
//     (fractions allowed, dropped on output); they are sent as whole seconds
//     in +08:00.
//   - A value larger than Config.MaxValueBytes (default 1 MiB, Kafka's default
//     message size) or nested deeper than 64 levels is invalid, so hostile
//     input costs bounded work. At most 100 violations are listed per event.
package mapper

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Mode selects the sync-status body variant.
type Mode string

// The two integration modes of the sync-status API.
const (
	ModeServiceProvider Mode = "service_provider"
	ModeChannel         Mode = "channel"
)

// ErrUnknownMode is returned for a mode other than service_provider or channel.
var ErrUnknownMode = errors.New("unknown mode")

// DefaultSkipTypes are the event types acknowledged without upload unless the
// deployment configures others (ORDERSYNC_SKIP_TYPES).
var DefaultSkipTypes = []string{"order.cancelled", "order.closed", "order.refunded", "order.served"}

// DefaultMaxValueBytes is the largest message value mapped when
// Config.MaxValueBytes is zero: Kafka's default maximum message size.
const DefaultMaxValueBytes = 1 << 20

// Event types mapped to a sync-status status.
const (
	TypeCreated = "order.created"
	TypeUpdated = "order.updated"
	TypePaid    = "order.paid"
)

// Statuses sent in the body.
const (
	StatusCreateDeal = "CREATE_DEAL"
	StatusPaySuccess = "PAY_SUCCESS"
)

// ParseMode parses a mode name as written in configuration.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeServiceProvider, ModeChannel:
		return m, nil
	}
	return "", fmt.Errorf("%w %q: want %q or %q", ErrUnknownMode, s, ModeServiceProvider, ModeChannel)
}

// Config holds the deployment defaults and skip list.
type Config struct {
	Mode      Mode
	MchID     string   // default sp_mchid in service-provider mode
	SpAppID   string   // default sp_appid (sp mode)
	ChannelID string   // default channel_id (channel mode)
	SkipTypes []string // event types acknowledged and skipped (caller supplies the default list)
	// MaxValueBytes bounds the size of a message value; 0 means DefaultMaxValueBytes.
	MaxValueBytes int
	// Accounts, when set, chooses each event's mode and ids by its
	// merchant.sub_mchid (the merchant registry) instead of Mode, MchID,
	// SpAppID and ChannelID.
	Accounts Accounts
}

// Accounts finds the merchant account of a sub-merchant. It must be safe
// for concurrent use and answer the same for the life of the Mapper.
type Accounts interface {
	// Account returns the account of subMchID, or false when none covers it
	// (the event is then invalid at /merchant/sub_mchid).
	Account(subMchID string) (Account, bool)
}

// Account is what the mapper needs of a merchant account. An event's own
// sp_mchid (service-provider mode) or channel_id (channel mode) must equal
// the account's unless Overridable; sp_appid in the event overrides the
// account's.
type Account struct {
	Name                      string
	Mode                      Mode
	MchID, SpAppID, ChannelID string
	// Overridable lets the event's own sp_mchid and channel_id replace the
	// account's, as the single-account settings do (docs/events.md).
	Overridable bool
	// Tag is the caller's; the mapper returns it in Result.Account.
	Tag any
}

// Header is one Kafka record header (CloudEvents binary mode reads ce_* headers).
type Header struct {
	Key   string
	Value []byte
}

// Mapper maps order events to sync-status bodies. It is safe for concurrent use.
type Mapper struct {
	mode      Mode
	mchID     []byte
	spAppID   []byte
	channelID []byte
	skip      []string
	maxBytes  int
	accounts  Accounts
}

// ConfigError is a Config value New refuses. Field is the name of the
// Config field (Mode, MchID, SpAppID, ChannelID or MaxValueBytes), so the
// caller can name the setting that holds it; Reason says why.
type ConfigError struct {
	Field  string
	Reason string
	err    error // ErrUnknownMode for Mode
}

func (e *ConfigError) Error() string { return "mapper config: " + e.Reason }

// Unwrap returns ErrUnknownMode for an unknown mode, else nil.
func (e *ConfigError) Unwrap() error { return e.err }

// New returns a Mapper for cfg. It fails with a *ConfigError on an unknown
// mode, on a default id the API would reject, or on a negative
// MaxValueBytes.
func New(cfg Config) (*Mapper, error) {
	if _, err := ParseMode(string(cfg.Mode)); err != nil {
		return nil, &ConfigError{Field: "Mode", Reason: err.Error(), err: ErrUnknownMode}
	}
	for _, d := range []struct{ field, name, v string }{
		{"MchID", "mchid", cfg.MchID}, {"SpAppID", "sp_appid", cfg.SpAppID}, {"ChannelID", "channel_id", cfg.ChannelID},
	} {
		if reason := idReason([]byte(d.v), maxID); reason != "" && d.v != "" {
			return nil, &ConfigError{Field: d.field, Reason: d.name + " " + reason}
		}
	}
	if cfg.MaxValueBytes < 0 {
		return nil, &ConfigError{Field: "MaxValueBytes", Reason: fmt.Sprintf("max value bytes %d is negative", cfg.MaxValueBytes)}
	}
	m := &Mapper{
		mode:      cfg.Mode,
		mchID:     []byte(cfg.MchID),
		spAppID:   []byte(cfg.SpAppID),
		channelID: []byte(cfg.ChannelID),
		skip:      append([]string(nil), cfg.SkipTypes...),
		maxBytes:  cfg.MaxValueBytes,
		accounts:  cfg.Accounts,
	}
	if m.maxBytes == 0 {
		m.maxBytes = DefaultMaxValueBytes
	}
	return m, nil
}

// Mode reports the mode the Mapper builds bodies for.
func (m *Mapper) Mode() Mode { return m.mode }

// Result is the outcome of mapping one event that is not invalid.
type Result struct {
	Skipped    bool
	SkipReason string // e.g. `event type "order.cancelled" is in the skip list`
	EventID    string
	EventType  string
	OrderNo    string
	Status     string // CREATE_DEAL or PAY_SUCCESS
	OccurredAt time.Time
	Body       []byte // exact bytes to POST (compact JSON, no trailing newline, no HTML escaping)
	// SubMchID is merchant.sub_mchid when it could be read, also for an
	// invalid event; Account is its account under Config.Accounts, else nil.
	SubMchID string
	Account  *Account
	// UserAmount and, for PAY_SUCCESS, TransactionID are the values sent in
	// Body, for the delivery ledger.
	TransactionID string
	UserAmount    int64
}

// idReason reports why s cannot be sent as an id of at most max characters,
// or "" when it can.
func idReason(s []byte, max int) string {
	switch {
	case len(s) == 0:
		return "must not be empty"
	case !utf8.Valid(s):
		return "is not valid UTF-8"
	case has4Byte(s):
		return reason4Byte
	}
	if n := utf8.RuneCount(s); n > max {
		return fmt.Sprintf("must be at most %d characters, got %d", max, n)
	}
	return ""
}
