package consumer

import (
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestCloseWithinGivesUpOnAHangingClose(t *testing.T) {
	release := make(chan struct{})
	returned := make(chan struct{})
	if closeWithin(time.Millisecond, func() { <-release; close(returned) }) {
		t.Fatal("closeWithin reported a close that is still blocked as done")
	}
	close(release)
	<-returned // the close goes on by itself and ends
	if !closeWithin(time.Hour, func() {}) {
		t.Fatal("closeWithin reported a close that returned as hanging")
	}
}

// testRecords returns n records at offsets 0..n-1, fresh readers each
// call over the same bytes (made once, so that a call allocates only the
// readers): record 1 has no key, record 2 an empty value.
func testRecords(n int) func() []kafka.Record {
	keys, values := make([][]byte, n), make([][]byte, n)
	for i := range n {
		keys[i], values[i] = fmt.Appendf(nil, "2026112600%04d", i), fmt.Appendf(nil, `{"order":%d,"pad":"%0200d"}`, i, i)
	}
	keys[1], values[2] = nil, []byte{}
	return func() []kafka.Record {
		recs := make([]kafka.Record, n)
		for i := range recs {
			recs[i] = kafka.Record{Offset: int64(i), Value: kafka.NewBytes(values[i])}
			if keys[i] != nil {
				recs[i].Key = kafka.NewBytes(keys[i])
			}
		}
		return recs
	}
}

// TestReadRecordsCopiesEachRecordOnce: readRecords copies what it keeps
// (offset 3 and above) with the key and value as they were — a missing key
// stays nil, an empty value empty — in one allocation per record, into
// the array it is given.
func TestReadRecordsCopiesEachRecordOnce(t *testing.T) {
	const n, from = 40, 3
	resp := &kafka.FetchResponse{Topic: "orders", Partition: 2, HighWatermark: n}
	records := testRecords(n)
	resp.Records = kafka.NewRecordReader(records()...)
	got, size, err := readRecords(resp, from, nil)
	if err != nil || len(got) != n-from {
		t.Fatalf("%d records, err %v; want %d", len(got), err, n-from)
	}
	var want int64
	for i, f := range got {
		off := int64(i + from)
		k, v := fmt.Sprintf("2026112600%04d", off), fmt.Sprintf(`{"order":%d,"pad":"%0200d"}`, off, off)
		if f.Offset != off || string(f.Key) != k || string(f.Value) != v || f.Topic != "orders" || f.Partition != 2 || f.HighWaterMark != n {
			t.Fatalf("record %d: %+v", i, f.Message)
		}
		if cap(f.Key) != len(f.Key) {
			t.Fatalf("record %d: key capacity %d beyond its length %d (an append would write over the value)", i, cap(f.Key), len(f.Key))
		}
		want += int64(len(k) + len(v))
	}
	if size != want {
		t.Errorf("bytes %d, want %d", size, want)
	}

	resp.Records = kafka.NewRecordReader(testRecords(3)()...)
	got, _, err = readRecords(resp, 0, nil)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d records, err %v", len(got), err)
	}
	if got[1].Key != nil || got[1].Value == nil {
		t.Errorf("no key read as %q, value %q", got[1].Key, got[1].Value)
	}
	if got[2].Value == nil || len(got[2].Value) != 0 {
		t.Errorf("empty value read as %#v", got[2].Value)
	}

	// The least of three rounds: AllocsPerRun counts the whole process's
	// allocations, so another test's goroutine allocating meanwhile adds
	// to one round.
	store := make([]fetched, 0, n)
	own := float64(1 << 30)
	for range 3 {
		base := testing.AllocsPerRun(20, func() {
			r := kafka.NewRecordReader(records()...)
			for {
				rec, err := r.ReadRecord()
				if err != nil {
					return
				}
				closeBytes(rec.Key)
				closeBytes(rec.Value)
			}
		})
		with := testing.AllocsPerRun(20, func() {
			resp.Records = kafka.NewRecordReader(records()...)
			store, _, _ = readRecords(resp, from, store[:0])
		})
		own = min(own, with-base)
	}
	if own > n-from {
		t.Errorf("readRecords allocated %.0f times for %d records, want at most one each", own, n-from)
	}
}
