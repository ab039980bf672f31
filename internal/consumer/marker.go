package consumer

import "github.com/segmentio/kafka-go"

// txnMarker reports whether m is a transaction marker (a Kafka control
// record) rather than an event. kafka-go v0.4.51 hands control records to
// the application like any other (kafka-go #1332): a partition written by a
// transactional producer holds one after every commit or abort. A marker's
// key is the control record type — version 0, type 0 (abort) or 1 (commit)
// as two big-endian int16 — and its value the end-transaction marker, a
// big-endian int16 version 0 and an int32 coordinator epoch. No order event
// looks like that: a JSON value never starts with a zero byte.
func txnMarker(m kafka.Message) bool {
	k, v := m.Key, m.Value
	return len(k) == 4 && k[0] == 0 && k[1] == 0 && k[2] == 0 && k[3] <= 1 &&
		len(v) == 6 && v[0] == 0 && v[1] == 0 && len(m.Headers) == 0
}
