// Package dlq defines the dead-letter record format (README "Dead letters and replay"): the
// header names the worker adds and the error classes it reports.
package dlq

// Error classes carried in HeaderErrorClass.
const (
	// ClassInvalidEvent marks an event that was never sent: unparseable or
	// breaking a rule of the API.
	ClassInvalidEvent = "invalid_event"
	// ClassRejected marks an event the API answered with a permanent error.
	ClassRejected = "rejected"
	// ClassRetriesExhausted marks an event whose transient failures outlasted
	// the retry budget.
	ClassRetriesExhausted = "retries_exhausted"
)

// Header names added to a dead-letter record. Every name starts with Prefix.
const (
	Prefix                  = "ordersync."
	HeaderErrorClass        = "ordersync.error.class"
	HeaderErrorMessage      = "ordersync.error.message"
	HeaderErrorField        = "ordersync.error.field"
	HeaderErrorCode         = "ordersync.error.code"
	HeaderErrorHTTPStatus   = "ordersync.error.http_status"
	HeaderRequestID         = "ordersync.request_id"
	HeaderAttempts          = "ordersync.attempts"
	HeaderOriginalTopic     = "ordersync.original.topic"
	HeaderOriginalPartition = "ordersync.original.partition"
	HeaderOriginalOffset    = "ordersync.original.offset"
	HeaderOriginalTimestamp = "ordersync.original.timestamp"
	HeaderFailedAt          = "ordersync.failed_at"
	HeaderReplayCount       = "ordersync.replay.count"
	// HeaderOriginalOmitted marks a record written without the original's
	// value and headers because the dead-letter topic refused it whole (see
	// Record.WithoutOriginal); its value is the number of bytes left out.
	HeaderOriginalOmitted = "ordersync.original.omitted"
	// HeaderErrorMapped is "true" on the record of an event the mapping
	// program (ORDERSYNC_MAPPING_FILE) rewrote: its field points into the
	// rewritten event, not into the value as received.
	HeaderErrorMapped = "ordersync.error.mapped"
	// HeaderAccount names the merchant account the event belongs to;
	// HeaderSubMchID its merchant.sub_mchid, when known; HeaderMerchantHeld
	// is "true" on an event of a held sub-merchant, dead-lettered without a
	// call (README "Serving many restaurants").
	HeaderAccount      = "ordersync.account"
	HeaderSubMchID     = "ordersync.sub_mchid"
	HeaderMerchantHeld = "ordersync.merchant_held"
)

// Classes lists every error class, in the order operators usually read them.
var Classes = []string{ClassInvalidEvent, ClassRejected, ClassRetriesExhausted}
