package uploader_test

import (
	"context"
	"testing"

	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/uploader"
)

func TestUploadDelivered(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	certCfg := e.config()
	certCfg.WechatPayPublicKey, certCfg.WechatPayPublicKeyID = nil, ""
	certCfg.WechatPayCert = creds.PlatformCert
	tests := []struct {
		name string
		give uploader.Config
	}{
		{name: "public key mode", give: e.config()},
		{name: "platform certificate mode", give: certCfg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUploader(t, tt.give)
			order := "order-" + tt.name
			out := u.Upload(context.Background(), orderBody(order))
			if out.Class != uploader.Delivered || out.Attempts != 1 || out.HTTPStatus != 204 || out.Err != nil {
				t.Fatalf("outcome = %+v, want delivered in 1 attempt", out)
			}
			if out.RequestID == "" {
				t.Error("no request id")
			}
			if got := e.sb.OrderRecords(order); len(got) != 1 || got[0].Status != "PAY_SUCCESS" {
				t.Errorf("sandbox records = %+v", got)
			}
		})
	}
}
