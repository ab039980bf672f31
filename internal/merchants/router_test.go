package merchants_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/merchants"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/sandbox/sandboxtest"
	"github.com/ordersync/ordersync/internal/uploader"
)

// Sub-merchants of the tests: 201 is bound to the bank-channel account in
// channel mode at the sandbox, 202 to sp-east in service-provider mode.
const (
	subChannel = "1900000201"
	subSP      = "1900000202"
)

// twoAccounts is a registry of sp-east and bank-channel; filed maps
// sub-merchants to account names; keyB is bank-channel's private key file.
func twoAccounts(t *testing.T, filed map[string]string, keyB string) string {
	t.Helper()
	return sandboxtest.RegistryFile(t, sandboxtest.Registry{SP: creds, Channel: credsB, ChannelKey: keyB, Merchants: filed})
}

func loadRegistry(t *testing.T, path string) *merchants.Registry {
	t.Helper()
	reg, err := merchants.Load(path, merchants.LoadOptions{Keys: true})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// startSandbox serves both accounts, with the bindings above.
func startSandbox(t *testing.T) (*sandbox.Server, string) {
	t.Helper()
	sb, srv := sandboxtest.Start(t, sandbox.Config{
		Accounts: []sandbox.Account{{Credentials: credsB}},
		Bindings: []sandbox.Binding{
			{SubMchID: subChannel, MchID: credsB.MchID, Mode: "channel"},
			{SubMchID: subSP, MchID: creds.MchID, Mode: "service_provider"},
		},
	}, creds)
	return sb, srv.URL
}

// observer records what the router reports.
type observer struct {
	mu       sync.Mutex
	paused   map[string]bool
	all      bool
	held     int
	reloads  map[bool]int
	attempts int
}

func newObserver() *observer { return &observer{paused: map[string]bool{}, reloads: map[bool]int{}} }

func (o *observer) UploadAttempt(string, int, time.Duration) {
	o.mu.Lock()
	o.attempts++
	o.mu.Unlock()
}
func (o *observer) SignCPU(time.Duration)       {}
func (o *observer) AccountRate(string, float64) {}
func (o *observer) AccountRemoved(string)       {}
func (o *observer) AccountPaused(a string, p bool, _ string) {
	o.mu.Lock()
	o.paused[a] = p
	o.mu.Unlock()
}
func (o *observer) Paused(p bool, _ string)  { o.mu.Lock(); o.all = p; o.mu.Unlock() }
func (o *observer) MerchantsHeld(n int)      { o.mu.Lock(); o.held = n; o.mu.Unlock() }
func (o *observer) RegistryReloaded(ok bool) { o.mu.Lock(); o.reloads[ok]++; o.mu.Unlock() }

func (o *observer) isPaused(account string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.paused[account]
}

func newRouter(t *testing.T, reg *merchants.Registry, baseURL string, obs *observer) *merchants.Router {
	t.Helper()
	r, err := merchants.NewRouter(reg, merchants.RouterConfig{
		Uploader: uploader.Config{
			BaseURL: baseURL, MaxInFlight: 8, RequestTimeout: 5 * time.Second,
			Retry:            uploader.RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxElapsed: time.Second},
			ProbeMaxInterval: 20 * time.Millisecond,
		},
		SkipTypes: mapper.DefaultSkipTypes,
		Hold:      time.Hour,
		Observer:  obs,
		Logger:    zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func orderEvent(sub, orderNo string) []byte {
	return fmt.Appendf(nil, `{"event_id":"evt-%[2]s","event_type":"order.created","occurred_at":"2026-11-26T12:30:05+08:00",`+
		`"merchant":{"sub_mchid":%[1]q,"sub_appid":"wx8888888888888888","shop_no":"6895"},`+
		`"customer":{"sub_openid":"oYobu0Dmn6TdodZnFWKOEkqoRbI8","login_token":"071oYFSN19sCH31AyNSN15QDSN1oYFSA"},`+
		`"order":{"order_no":%[2]q,"entry":"pages/menu/index","total_amount":1000,"discount_amount":0,"user_amount":1000,`+
		`"dishes":[{"dish_no":"1","name":"清汤锅底","price":1000,"unit":"BY_SHARE","count":1}]}}`, sub, orderNo)
}

// upload maps and uploads one event through the router.
func upload(ctx context.Context, t *testing.T, r *merchants.Router, sub, orderNo string) (mapper.Result, uploader.Outcome) {
	t.Helper()
	res, err := r.Map(orderEvent(sub, orderNo), nil)
	if err != nil {
		t.Fatalf("map %s: %v", orderNo, err)
	}
	up := r.Uploader(res)
	if up == nil {
		t.Fatalf("no uploader for %s", orderNo)
	}
	return res, up.Upload(ctx, res.Body)
}

func TestRouterSignsEachEventWithItsAccountInItsMode(t *testing.T) {
	sb, url := startSandbox(t)
	obs := newObserver()
	r := newRouter(t, loadRegistry(t, twoAccounts(t, map[string]string{subChannel: "bank-channel", subSP: "sp-east"}, credsB.MchPrivateKeyFile)), url, obs)
	for i, sub := range []string{subChannel, subSP, subChannel, subSP} {
		res, out := upload(context.Background(), t, r, sub, fmt.Sprintf("o-%d", i))
		if out.Class != uploader.Delivered {
			t.Fatalf("%s: %+v", sub, out)
		}
		if up := r.Uploader(res); (sub == subChannel) != (up.Account() == "bank-channel") {
			t.Errorf("%s went through %s", sub, up.Account())
		}
	}
	// The sandbox checks each binding: signed by the sub-merchant's own
	// account, with its mode's ids.
	for _, rec := range sb.Records() {
		body := string(rec.Body)
		switch rec.SubMchID {
		case subChannel:
			if !strings.HasPrefix(body, `{"channel_id":"1230000200","sub_mchid":"1900000201"`) {
				t.Errorf("channel body %s", body)
			}
		case subSP:
			if !strings.HasPrefix(body, `{"sp_mchid":"1230000109","sp_appid":"wx1234567890abcdef","sub_mchid":"1900000202"`) {
				t.Errorf("service-provider body %s", body)
			}
		}
	}
	if n := len(sb.Records()); n != 4 {
		t.Errorf("sandbox accepted %d uploads, want 4", n)
	}
}

func TestMisfiledSubMerchantIsHeldThenReleasedByAReload(t *testing.T) {
	sb, url := startSandbox(t)
	obs := newObserver()
	// 201 is bound in channel mode but filed under the service provider.
	r := newRouter(t, loadRegistry(t, twoAccounts(t, map[string]string{subChannel: "sp-east", subSP: "sp-east"}, credsB.MchPrivateKeyFile)), url, obs)
	for i := range merchants.HoldAfter {
		_, out := upload(context.Background(), t, r, subChannel, fmt.Sprintf("bad-%d", i))
		if out.Class != uploader.Rejected || out.HTTPStatus != 400 || out.Field != "sub_mchid" || out.Message != sandbox.MessageBinding {
			t.Fatalf("rejection %d: %+v", i, out)
		}
	}
	calls := sb.Stats().Requests
	for i := range 5 {
		_, out := upload(context.Background(), t, r, subChannel, fmt.Sprintf("held-%d", i))
		if !errors.Is(out.Err, merchants.ErrHeld) || out.Class != uploader.Rejected || out.Attempts != 0 ||
			out.Code != "INVALID_REQUEST" || out.HTTPStatus != 400 || out.Message != sandbox.MessageBinding {
			t.Fatalf("held event %d: %+v", i, out)
		}
	}
	if got := sb.Stats().Requests; got != calls {
		t.Errorf("held events made %d API calls, want none", got-calls)
	}
	if held := r.Held(); len(held) != 1 || held[subChannel] != "sp-east" || obs.held != 1 {
		t.Errorf("held = %v (gauge %d)", held, obs.held)
	}
	// The other sub-merchant of the same account is not held.
	if _, out := upload(context.Background(), t, r, subSP, "sp-ok"); out.Class != uploader.Delivered {
		t.Errorf("other sub-merchant: %+v", out)
	}

	if err := r.ReloadFile(twoAccounts(t, map[string]string{subChannel: "bank-channel", subSP: "sp-east"}, credsB.MchPrivateKeyFile)); err != nil {
		t.Fatal(err)
	}
	if len(r.Held()) != 0 || obs.held != 0 || obs.reloads[true] != 1 {
		t.Errorf("after the reload: held %v (gauge %d), reloads %v", r.Held(), obs.held, obs.reloads)
	}
	if _, out := upload(context.Background(), t, r, subChannel, "fixed"); out.Class != uploader.Delivered {
		t.Fatalf("after the fix: %+v", out)
	}
	recs := sb.OrderRecords("fixed")
	if len(recs) != 1 || !strings.HasPrefix(string(recs[0].Body), `{"channel_id":"1230000200"`) {
		t.Errorf("fixed upload recorded as %v", recs)
	}
}

func TestWrongKeyPausesOnlyItsAccount(t *testing.T) {
	_, url := startSandbox(t)
	obs := newObserver()
	// bank-channel signs with sp-east's key: every request of it is a 401.
	r := newRouter(t, loadRegistry(t, twoAccounts(t, map[string]string{subChannel: "bank-channel", subSP: "sp-east"}, creds.MchPrivateKeyFile)), url, obs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan uploader.Outcome, 1)
	go func() { _, out := upload(ctx, t, r, subChannel, "wrong-key"); done <- out }()
	kafkatest.WaitFor(t, "bank-channel paused", func() bool { return obs.isPaused("bank-channel") })
	if paused, why := r.Paused(); paused {
		t.Errorf("router paused (%s) while sp-east is fine", why)
	}
	if got := r.PausedAccounts(); len(got) != 1 || got[0] != "bank-channel" {
		t.Errorf("paused accounts = %v", got)
	}
	if _, out := upload(context.Background(), t, r, subSP, "sp-delivers"); out.Class != uploader.Delivered {
		t.Errorf("sp-east while bank-channel is paused: %+v", out)
	}
	cancel()
	if out := <-done; out.Class != uploader.Paused || out.Code != "SIGN_ERROR" {
		t.Errorf("paused upload ended %+v, want paused: waiting outside the in-flight slots, never dead-lettered", out)
	}
}

func TestEveryAccountPausedFailsReadiness(t *testing.T) {
	_, url := startSandbox(t)
	obs := newObserver()
	// sp-east signs with bank-channel's key and bank-channel with sp-east's:
	// both accounts are wrong.
	sp := *creds
	sp.MchPrivateKeyFile = credsB.MchPrivateKeyFile
	path := sandboxtest.RegistryFile(t, sandboxtest.Registry{SP: &sp, Channel: credsB, ChannelKey: creds.MchPrivateKeyFile,
		Merchants: map[string]string{subChannel: "bank-channel", subSP: "sp-east"}})
	r := newRouter(t, loadRegistry(t, path), url, obs)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, sub := range []string{subChannel, subSP} {
		wg.Go(func() { upload(ctx, t, r, sub, "o-"+sub) })
	}
	kafkatest.WaitFor(t, "every account paused", func() bool { paused, _ := r.Paused(); return paused })
	if _, why := r.Paused(); !strings.Contains(why, "every merchant account is paused: bank-channel: ") || !strings.Contains(why, "; sp-east: ") {
		t.Errorf("why = %q", why)
	}
	obs.mu.Lock()
	all := obs.all
	obs.mu.Unlock()
	if !all {
		t.Error("observer not told that every account is paused")
	}
	cancel()
	wg.Wait()
}

func TestBadReloadIsRefusedWholeAndTheRegistryStays(t *testing.T) {
	_, url := startSandbox(t)
	obs := newObserver()
	good := twoAccounts(t, map[string]string{subChannel: "bank-channel", subSP: "sp-east"}, credsB.MchPrivateKeyFile)
	r := newRouter(t, loadRegistry(t, good), url, obs)
	before := r.Registry()
	for _, tt := range []struct{ name, edit, want string }{
		{"unknown mode", "mode: channel", "accounts.bank-channel.mode: unknown mode"},
		{"missing key file", "private_key_file: " + credsB.MchPrivateKeyFile, "accounts.bank-channel.private_key_file: no such file"},
		{"unknown account in merchants", subChannel + `": bank-channel`, "merchants." + subChannel + `: account "bank-chanel"`},
	} {
		doc, _ := os.ReadFile(good)
		replacement := map[string]string{
			"unknown mode":                 "mode: chanel",
			"missing key file":             "private_key_file: /nonexistent/key.pem",
			"unknown account in merchants": subChannel + `": bank-chanel`,
		}[tt.name]
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(bad, []byte(strings.Replace(string(doc), tt.edit, replacement, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		err := r.ReloadFile(bad)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: reload error = %v, want %q", tt.name, err, tt.want)
		}
		if r.Registry() != before {
			t.Errorf("%s: the registry in force changed", tt.name)
		}
	}
	if obs.reloads[false] != 3 || obs.reloads[true] != 0 {
		t.Errorf("reloads counted %v, want 3 refused", obs.reloads)
	}
}

// TestRouterPassesTheAttemptFuncThrough: an AttemptFunc on the Upload's ctx reaches the account's
// uploader, whichever account the event goes through.
func TestRouterPassesTheAttemptFuncThrough(t *testing.T) {
	_, url := startSandbox(t)
	r := newRouter(t, loadRegistry(t, twoAccounts(t, map[string]string{subChannel: "bank-channel", subSP: "sp-east"}, credsB.MchPrivateKeyFile)), url, newObserver())
	for i, sub := range []string{subChannel, subSP} {
		var told []uploader.Attempt
		ctx := uploader.WithAttemptFunc(context.Background(), func(a uploader.Attempt) { told = append(told, a) })
		_, out := upload(ctx, t, r, sub, fmt.Sprintf("attempt-%d", i))
		if out.Class != uploader.Delivered || len(told) != 1 || told[0].Result != "delivered" || told[0].HTTPStatus != 204 {
			t.Errorf("%s: outcome %+v, told %+v; want one delivered attempt", sub, out, told)
		}
	}
}
