package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/ledger"
)

func TestBuildCountsByMerchantAndShanghaiDay(t *testing.T) {
	amount := func(n int64) *int64 { return &n }
	// 2026-11-26T23:30+08:00 is still the 26th in Shanghai though the 26th in UTC ends later;
	// 2026-11-26T16:30Z is the 27th in Shanghai.
	latest := map[string]ledger.Record{
		"a/1": {SubMchID: "a", OutOrderNo: "1", Status: ledger.StatusPaySuccess, ActionTime: time.Date(2026, 11, 26, 15, 30, 0, 0, time.UTC), UserAmount: amount(900)},
		"a/2": {SubMchID: "a", OutOrderNo: "2", Status: ledger.StatusPaySuccess, ActionTime: time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC), UserAmount: amount(100)},
		"a/3": {SubMchID: "a", OutOrderNo: "3", Status: ledger.StatusCreateDeal, ActionTime: time.Date(2026, 11, 26, 16, 30, 0, 0, time.UTC)},
		"b/1": {SubMchID: "b", OutOrderNo: "1", Status: ledger.StatusCreateDeal, ActionTime: time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)},
		"b/9": {SubMchID: "b", OutOrderNo: "9", Status: ledger.StatusPaySuccess, ActionTime: time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC), UserAmount: amount(5)},
	}
	dead := []DeadLetter{
		{SubMchID: "a", Class: "rejected", FailedAt: time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)},
		{Class: "invalid_event", FailedAt: time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)},
	}
	since := time.Date(2026, 11, 26, 0, 0, 0, 0, Shanghai)
	rows := Build(latest, dead, since, since.AddDate(0, 0, 2))
	var buf bytes.Buffer
	if err := Write(&buf, FormatCSV, rows); err != nil {
		t.Fatal(err)
	}
	want := `day,sub_mchid,create_deal,pay_success,paid_user_amount,invalid_event,rejected,retries_exhausted
2026-11-26,-,0,0,0,1,0,0
2026-11-26,a,0,2,1000,0,1,0
2026-11-26,b,1,0,0,0,0,0
2026-11-27,a,1,0,0,0,0,0
`
	if buf.String() != want {
		t.Errorf("csv:\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := Write(&buf, FormatJSON, rows); err != nil {
		t.Fatal(err)
	}
	var back []Row
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back) != 4 || back[1].PaidUserAmount != 1000 {
		t.Errorf("json %s: %v", buf.String(), err)
	}
	buf.Reset()
	if err := Write(&buf, FormatTable, rows); err != nil || !strings.Contains(buf.String(), "paid_user_amount") {
		t.Errorf("table %q: %v", buf.String(), err)
	}
	if err := Write(&buf, "xml", rows); err == nil {
		t.Error("an unknown format was accepted")
	}
}
