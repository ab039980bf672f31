package uploader_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"

	"github.com/ordersync/ordersync/internal/uploader"
)

// sentRequest is what a recording server saw of one POST.
type sentRequest struct {
	method, uri string
	header      http.Header
	body        []byte
}

// recorder answers every request 400 PARAM_ERROR (so the uploader sends
// once and stops) and keeps what it received.
type recorder struct {
	mu   sync.Mutex
	seen []sentRequest
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.seen = append(rec.seen, sentRequest{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), body: body})
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, `{"code":"PARAM_ERROR","message":"recorded"}`)
}

func (rec *recorder) last(t *testing.T) sentRequest {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) == 0 {
		t.Fatal("no request received")
	}
	return rec.seen[len(rec.seen)-1]
}

// authFields matches the Authorization header's fixed parts; nonce,
// timestamp and signature change on every request.
var authFields = regexp.MustCompile(`^WECHATPAY2-SHA256-RSA2048 mchid="([^"]+)",nonce_str="[0-9A-Za-z]{32}",timestamp="[0-9]+",serial_no="([^"]+)",signature="[A-Za-z0-9+/=]+"$`)

// TestRequestMatchesTheSDKsPost checks that an upload sends what
// wechatpay-go's core.Client.Post sends for the same body and keys: method,
// URI, body bytes, every header but those net/http or the signature vary,
// and an Authorization header of the same form — in public-key and in
// platform-certificate mode.
func TestRequestMatchesTheSDKsPost(t *testing.T) {
	for _, mode := range []string{"public key", "platform certificate"} {
		t.Run(mode, func(t *testing.T) {
			rec := &recorder{}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			cfg := uploader.Config{
				BaseURL: srv.URL + "/prefix/", MchID: creds.MchID, MchCertSerial: creds.MchCertSerial,
				MchPrivateKey: creds.MchPrivateKey, Observer: newObserver(),
			}
			sdkOpts := []core.ClientOption{option.WithHTTPClient(srv.Client())}
			if mode == "public key" {
				cfg.WechatPayPublicKey, cfg.WechatPayPublicKeyID = creds.WechatPayPublicKey, creds.WechatPayPublicKeyID
				sdkOpts = append(sdkOpts, option.WithWechatPayPublicKeyAuthCipher(creds.MchID, creds.MchCertSerial,
					creds.MchPrivateKey, creds.WechatPayPublicKeyID, creds.WechatPayPublicKey))
			} else {
				cfg.WechatPayCert = creds.PlatformCert
				sdkOpts = append(sdkOpts, option.WithMerchantCredential(creds.MchID, creds.MchCertSerial, creds.MchPrivateKey),
					option.WithWechatPayCertificate([]*x509.Certificate{creds.PlatformCert}))
			}
			body := orderBody("same-as-sdk")

			sdk, err := core.NewClient(context.Background(), sdkOpts...)
			if err != nil {
				t.Fatal(err)
			}
			if res, _ := sdk.Post(context.Background(), srv.URL+"/prefix"+uploader.SyncStatusPath, body); res != nil && res.Response != nil {
				_ = res.Response.Body.Close()
			}
			want := rec.last(t)

			u := newUploader(t, cfg)
			if out := u.Upload(context.Background(), body); out.Class != uploader.Rejected || out.Code != "PARAM_ERROR" {
				t.Fatalf("outcome %+v, want the recorder's PARAM_ERROR", out)
			}
			got := rec.last(t)

			if got.method != want.method || got.uri != want.uri || !bytes.Equal(got.body, want.body) {
				t.Errorf("sent %s %s (%d bytes), the SDK %s %s (%d bytes)", got.method, got.uri, len(got.body), want.method, want.uri, len(want.body))
			}
			for name := range want.header {
				if name == "Authorization" {
					continue
				}
				if g, w := got.header.Values(name), want.header.Values(name); len(g) != len(w) || (len(w) > 0 && g[0] != w[0]) {
					t.Errorf("header %s: %q, the SDK sends %q", name, g, w)
				}
			}
			for name := range got.header {
				if want.header.Values(name) == nil {
					t.Errorf("header %s: %q, which the SDK does not send", name, got.header.Values(name))
				}
			}
			gm, wm := authFields.FindStringSubmatch(got.header.Get("Authorization")), authFields.FindStringSubmatch(want.header.Get("Authorization"))
			if gm == nil || wm == nil || gm[1] != wm[1] || gm[2] != wm[2] {
				t.Errorf("Authorization %q, the SDK's %q", got.header.Get("Authorization"), want.header.Get("Authorization"))
			}
		})
	}
}
