package mapper

import (
	"strings"
	"testing"
)

// registry is a fixed Accounts: sub-merchant → account.
type registry map[string]Account

func (r registry) Account(sub string) (Account, bool) { a, ok := r[sub]; return a, ok }

func accountsMapper(t *testing.T) *Mapper {
	t.Helper()
	sp := Account{Name: "sp-east", Mode: ModeServiceProvider, MchID: "1230000109", SpAppID: "wx1234567890abcdef", Tag: 1}
	ch := Account{Name: "bank-channel", Mode: ModeChannel, MchID: "1230000200", ChannelID: "1230000201", Tag: 2}
	m, err := New(Config{Mode: ModeServiceProvider, SkipTypes: DefaultSkipTypes,
		Accounts: registry{"1900000100": sp, "1900000201": ch}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMapTakesModeAndIdsFromTheSubMerchantsAccount(t *testing.T) {
	m := accountsMapper(t)
	res, err := m.Map(build(t, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(res.Body), `{"sp_mchid":"1230000109","sp_appid":"wx1234567890abcdef","sub_mchid":"1900000100"`) {
		t.Errorf("service-provider body = %s", res.Body)
	}
	if res.Account == nil || res.Account.Name != "sp-east" || res.Account.Tag != 1 || res.SubMchID != "1900000100" {
		t.Errorf("result account = %+v, sub_mchid %q", res.Account, res.SubMchID)
	}

	res, err = m.Map(build(t, "", set("/merchant/sub_mchid", "1900000201")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(res.Body), `{"channel_id":"1230000201","sub_mchid":"1900000201"`) {
		t.Errorf("channel body = %s", res.Body)
	}
	if res.Account == nil || res.Account.Name != "bank-channel" {
		t.Errorf("result account = %+v", res.Account)
	}
	// Channel mode's rules apply to the channel account's events only.
	_, err = m.Map(build(t, "", set("/merchant/sub_mchid", "1900000201"), del("/merchant/sub_appid")), nil)
	wantViolations(t, err, []Violation{v("/merchant/sub_appid", "is required")})
}

func TestMapRejectsIdsThatContradictTheAccount(t *testing.T) {
	m := accountsMapper(t)
	for _, tt := range []struct {
		name  string
		value []byte
		want  []Violation
	}{
		{"sp_mchid of another account", build(t, "", set("/merchant/sp_mchid", "1230000999")),
			[]Violation{v("/merchant/sp_mchid", `"1230000999" sp_mchid differs from "1230000109" of merchant account sp-east`)}},
		{"channel_id of another channel", build(t, "", set("/merchant/sub_mchid", "1900000201"), set("/merchant/channel_id", "1")),
			[]Violation{v("/merchant/channel_id", "differs from")}},
		{"inside a CloudEvents envelope", []byte(`{"specversion":"1.0","id":"e1","type":"order.paid","source":"s","data":` +
			string(build(t, "", set("/merchant/sp_mchid", "1230000999"))) + `}`),
			[]Violation{v("/data/merchant/sp_mchid", "differs from")}},
		{"unlisted sub-merchant without a default account", build(t, "", set("/merchant/sub_mchid", "1900000777")),
			[]Violation{v("/merchant/sub_mchid", "not in the merchant registry")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := m.Map(tt.value, nil)
			wantViolations(t, err, tt.want)
			if res.SubMchID == "" {
				t.Error("an invalid event's result lacks its sub_mchid")
			}
		})
	}
	// The account's own ids, and ids of the other mode, are accepted.
	if _, err := m.Map(build(t, "", set("/merchant/sp_mchid", "1230000109"), set("/merchant/channel_id", "1")), nil); err != nil {
		t.Errorf("own sp_mchid: %v", err)
	}
}

// TestMapSingleAccountLetsEventsOverrideIds: the single-account settings,
// as one Overridable account, keep an event's own sp_mchid (docs/events.md).
func TestMapSingleAccountLetsEventsOverrideIds(t *testing.T) {
	def := Account{Name: "default", Mode: ModeServiceProvider, MchID: "1900000001", SpAppID: "wx2421b1c4370ec43b", Overridable: true}
	m, err := New(Config{Mode: ModeServiceProvider, SkipTypes: DefaultSkipTypes, Accounts: registry{"1900000100": def}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Map(build(t, "", set("/merchant/sp_mchid", "1900000099")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(res.Body), `{"sp_mchid":"1900000099"`) {
		t.Errorf("body = %s, want the event's own sp_mchid", res.Body)
	}
}
