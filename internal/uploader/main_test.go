package uploader_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/sandbox/sandboxtest"
	"github.com/ordersync/ordersync/internal/uploader"
)

// creds is generated once per package: RSA key generation is slow.
var creds *sandbox.Credentials

func TestMain(m *testing.M) { os.Exit(sandboxtest.Main(m, &creds)) }

// loginToken is the secret the tests look for in error strings.
const loginToken = "LOGIN-TOKEN-071oYFSN19sCH31AyNSN15QDSN1oYFSA"

// orderBody returns a valid service-provider PAY_SUCCESS body for orderNo.
func orderBody(orderNo string) []byte {
	return fmt.Appendf(nil, `{"sp_mchid":"1230000109","sp_appid":"wx8888888888888888","sub_mchid":"1900000100",`+
		`"sub_appid":"wx8888888888888888","out_shop_no":"6895","sub_openid":"oYobu0Dmn6TdodZnFWKOEkqoRbI8",`+
		`"login_token":%q,"order_entry":"pages/menu/index","total_amount":1000,"discount_amount":100,`+
		`"user_amount":900,"status":"PAY_SUCCESS","action_time":"2026-11-26T12:30:05+08:00",`+
		`"pay_time":"2026-11-26T12:30:04+08:00","transaction_id":"1009660380201506130728806387",`+
		`"out_trade_no":"%s","out_order_no":"%s","out_table_no":"1","people_count":2,`+
		`"dish_list":[{"out_dish_no":"1","name":"清汤锅底","price":1,"unit":"BY_SHARE","count":1.5,`+
		`"discount":100,"type":"HOT_POT","priority":1,"properties":{"taste":"辣","cuisine":"炒",`+
		`"main_material":"猪肝","ingredients":"青椒 | 辣椒 | 葱 | 八角","others":"有机 | 农家"}}]}`,
		loginToken, orderNo, orderNo)
}

// env is one sandbox behind a real HTTP server.
type env struct {
	sb  *sandbox.Server
	srv *httptest.Server
}

func newEnv(t testing.TB, cfg sandbox.Config) *env {
	t.Helper()
	sb, srv := sandboxtest.Start(t, cfg, creds)
	return &env{sb: sb, srv: srv}
}

// config returns a public-key mode Config for the env with tiny intervals.
func (e *env) config() uploader.Config {
	return uploader.Config{
		BaseURL:              e.srv.URL,
		MchID:                creds.MchID,
		MchCertSerial:        creds.MchCertSerial,
		MchPrivateKey:        creds.MchPrivateKey,
		WechatPayPublicKey:   creds.WechatPayPublicKey,
		WechatPayPublicKeyID: creds.WechatPayPublicKeyID,
		MaxInFlight:          16,
		RequestTimeout:       2 * time.Second,
		Retry: uploader.RetryPolicy{
			InitialInterval: 5 * time.Millisecond,
			MaxInterval:     20 * time.Millisecond,
			MaxElapsed:      300 * time.Millisecond,
		},
		ProbeMaxInterval: 50 * time.Millisecond,
	}
}

func newUploader(t testing.TB, cfg uploader.Config) *uploader.Uploader {
	t.Helper()
	u, err := uploader.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	return u
}
