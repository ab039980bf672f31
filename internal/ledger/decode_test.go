package ledger

import (
	"testing"
	"time"
)

// TestDecodeGuardAgreesWithUnmarshal: the restore's fast path reads the same
// fields as the full decoder, falls back to it for values written another
// way, and refuses what is not a record.
func TestDecodeGuardAgreesWithUnmarshal(t *testing.T) {
	r := rec("A\"1", StatusPaySuccess, t0, "p")
	r.EventID = `evt "status":"CREATE_DEAL"`
	r.DeliveredAt = time.Date(2026, 11, 26, 4, 30, 6, 123e6, time.UTC)
	value, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	spaced := []byte(`{"v": 1, "sub_mchid": "1900000100", "out_order_no": "A1", "status": "CREATE_DEAL",
		"action_time": "2026-11-26T12:30:05+08:00", "body_sha256": "` + BodySum([]byte("c")) + `",
		"delivered_at": "2026-11-26T04:30:06Z", "account": "default"}`)
	tests := []struct {
		name   string
		give   []byte
		want   guardFields
		wantOK bool
	}{
		{name: "as written", give: value, wantOK: true,
			want: guardFields{status: StatusPaySuccess, actionTime: t0, deliveredAt: r.DeliveredAt, bodySum: BodySum([]byte("p"))}},
		{name: "another writer's spacing", give: spaced, wantOK: true,
			want: guardFields{status: StatusCreateDeal, actionTime: t0, deliveredAt: time.Date(2026, 11, 26, 4, 30, 6, 0, time.UTC), bodySum: BodySum([]byte("c"))}},
		{name: "not JSON", give: []byte("junk")},
		{name: "later version", give: []byte(`{"v":2,"sub_mchid":"1","out_order_no":"2","status":"PAY_SUCCESS"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decodeGuard(tt.give)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if got.status != tt.want.status || !got.actionTime.Equal(tt.want.actionTime) || !got.deliveredAt.Equal(tt.want.deliveredAt) || got.bodySum != tt.want.bodySum {
				t.Errorf("decodeGuard = %+v, want %+v", got, tt.want)
			}
		})
	}
}
