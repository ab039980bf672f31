package ledger

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// marshalStd is Record.Marshal's value written by encoding/json, the
// reference its own encoder must match byte for byte.
func marshalStd(t testing.TB, r Record) []byte {
	t.Helper()
	r.Version = recordVersion
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sampleRecord() Record {
	amount := int64(900)
	return Record{SubMchID: "1900000100", OutOrderNo: "E20261126123005", Status: StatusPaySuccess,
		ActionTime: time.Date(2026, 11, 26, 12, 30, 5, 120000000, time.FixedZone("CST", 8*3600)), EventID: "evt-1",
		BodySHA256: BodySum([]byte("{}")), DeliveredAt: time.Date(2026, 11, 26, 4, 30, 6, 987654321, time.UTC),
		RequestID: "08F78BB5AF0610D302E2C8D6C8D8CC8A", Account: DefaultAccount, TransactionID: "4200000001",
		UserAmount: &amount, Source: Source{Topic: "orders", Partition: 3, Offset: 123456789}}
}

// TestMarshalMatchesEncodingJSON checks that Record.Marshal writes what
// encoding/json writes for the same record: every escape (quotes,
// backslashes, control characters, HTML characters, U+2028/U+2029, invalid
// UTF-8), the omitted empty fields, zero and negative numbers, times in
// other zones and the zero time.
func TestMarshalMatchesEncodingJSON(t *testing.T) {
	zero := int64(0)
	neg := int64(-5)
	odd := "a\"b\\c/d\n\r\t\b\f\x00\x1f\x7f<>&\u2028\u2029é中\xff\xc3(z"
	tests := map[string]func(r *Record){
		"full":            func(*Record) {},
		"no optional":     func(r *Record) { r.RequestID, r.TransactionID, r.UserAmount = "", "", nil },
		"zero amount":     func(r *Record) { r.UserAmount = &zero },
		"negative amount": func(r *Record) { r.UserAmount, r.Source.Offset, r.Source.Partition = &neg, -1, -2 },
		"escapes": func(r *Record) {
			r.SubMchID, r.OutOrderNo, r.EventID, r.RequestID, r.Account, r.Source.Topic = odd, odd, odd, odd, odd, odd
		},
		"empty strings": func(r *Record) {
			r.SubMchID, r.OutOrderNo, r.Status, r.EventID, r.BodySHA256, r.Account = "", "", "", "", "", ""
		},
		"zero times":      func(r *Record) { r.ActionTime, r.DeliveredAt = time.Time{}, time.Time{} },
		"local time":      func(r *Record) { r.ActionTime = time.Unix(1764130205, 1).In(time.FixedZone("", -(3*3600 + 30*60))) },
		"version ignored": func(r *Record) { r.Version = 7 },
	}
	for name, edit := range tests {
		t.Run(name, func(t *testing.T) {
			r := sampleRecord()
			edit(&r)
			got, err := r.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if want := marshalStd(t, r); !bytes.Equal(got, want) {
				t.Errorf("Marshal:\n%s\nencoding/json:\n%s", got, want)
			}
		})
	}
}

// TestMarshalRefusesWhatEncodingJSONRefuses: a time outside years 0-9999
// has no RFC 3339 form.
func TestMarshalRefusesWhatEncodingJSONRefuses(t *testing.T) {
	r := sampleRecord()
	r.DeliveredAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := r.Marshal(); err == nil {
		t.Fatal("Marshal of a year-10000 time: no error")
	}
}

// FuzzMarshalMatchesEncodingJSON runs TestMarshalMatchesEncodingJSON's
// comparison on arbitrary strings.
func FuzzMarshalMatchesEncodingJSON(f *testing.F) {
	f.Add("1900000100", "E1", "evt", "orders", int64(1))
	f.Add("<a&b>", "\u2028\xff", "\x00\"\\", "\t", int64(-1))
	f.Fuzz(func(t *testing.T, sub, order, id, topic string, n int64) {
		r := sampleRecord()
		r.SubMchID, r.OutOrderNo, r.EventID, r.Source.Topic, r.Source.Offset = sub, order, id, topic, n
		got, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if want := marshalStd(t, r); !bytes.Equal(got, want) {
			t.Errorf("Marshal:\n%q\nencoding/json:\n%q", got, want)
		}
	})
}

// TestMarshalAllocatesOnce: the value is the only allocation of a record's
// encoding (one per delivered event).
func TestMarshalAllocatesOnce(t *testing.T) {
	r := sampleRecord()
	if n := testing.AllocsPerRun(100, func() {
		if _, err := r.Marshal(); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("Marshal allocates %.0f times, want 1", n)
	}
}

// TestMarshalSizeIsAnUpperBound: the longest numbers and times fit the
// buffer Marshal allocates, so it never grows.
func TestMarshalSizeIsAnUpperBound(t *testing.T) {
	r := sampleRecord()
	long := int64(-1 << 63)
	r.UserAmount, r.Source.Offset, r.Source.Partition = &long, long, -1<<63
	r.ActionTime = time.Date(2026, 11, 26, 12, 30, 5, 123456789, time.FixedZone("", -(11*3600+30*60)))
	r.DeliveredAt = r.ActionTime
	got, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > r.size() {
		t.Errorf("value %d bytes, size() %d", len(got), r.size())
	}
	if want := marshalStd(t, r); !bytes.Equal(got, want) {
		t.Errorf("Marshal:\n%s\nencoding/json:\n%s", got, want)
	}
}

// BenchmarkRecordMarshal is one delivered event's ledger value:
//
//	go test -run '^$' -bench RecordMarshal -benchmem ./internal/ledger/
func BenchmarkRecordMarshal(b *testing.B) {
	r := sampleRecord()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
