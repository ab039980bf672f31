package sandbox_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/sandbox/sandboxtest"
)

func newSandbox(t *testing.T, cfg sandbox.Config) (*sandbox.Server, *httptest.Server) {
	t.Helper()
	return sandboxtest.Start(t, cfg, creds)
}

func orderJSON(t *testing.T, orderNo string) []byte {
	t.Helper()
	o := spOrder()
	o["out_order_no"] = orderNo
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sdkClient is the real wechatpay-go client in public-key or certificate mode.
func sdkClient(t *testing.T, certMode bool) *core.Client {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	opts := []core.ClientOption{option.WithHTTPClient(hc)}
	if certMode {
		opts = append(opts, option.WithMerchantCredential(creds.MchID, creds.MchCertSerial, creds.MchPrivateKey),
			option.WithWechatPayCertificate([]*x509.Certificate{creds.PlatformCert}))
	} else {
		opts = append(opts, option.WithWechatPayPublicKeyAuthCipher(creds.MchID, creds.MchCertSerial,
			creds.MchPrivateKey, creds.WechatPayPublicKeyID, creds.WechatPayPublicKey))
	}
	c, err := core.NewClient(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCredentialsFiles(t *testing.T) {
	again, err := sandbox.LoadCredentials(creds.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.MchID != creds.MchID || again.MchCertSerial != creds.MchCertSerial ||
		again.WechatPayPublicKeyID != creds.WechatPayPublicKeyID || !again.MchPrivateKey.Equal(creds.MchPrivateKey) {
		t.Error("LoadCredentials differs from GenerateCredentials")
	}
	if len(creds.MchCertSerial) != 40 || len(creds.PlatformCertSerial) != 40 {
		t.Errorf("serials %q %q, want 40 hex", creds.MchCertSerial, creds.PlatformCertSerial)
	}
	id, ok := strings.CutPrefix(creds.WechatPayPublicKeyID, "PUB_KEY_ID_0112")
	if _, err := strconv.ParseUint(id[:15], 10, 64); !ok || len(id) != 30 || err != nil {
		t.Errorf("public key id %q, want PUB_KEY_ID_ + 34 digits", creds.WechatPayPublicKeyID)
	}
	// The SDK's own loaders accept the files as a merchant portal delivers them.
	if _, err := utils.LoadPrivateKeyWithPath(creds.MchPrivateKeyFile); err != nil {
		t.Errorf("SDK LoadPrivateKeyWithPath: %v", err)
	}
	if _, err := utils.LoadPublicKeyWithPath(creds.WechatPayPublicKeyFile); err != nil {
		t.Errorf("SDK LoadPublicKeyWithPath: %v", err)
	}
	cert, err := utils.LoadCertificateWithPath(creds.PlatformCertFile)
	if err != nil {
		t.Fatalf("SDK LoadCertificateWithPath: %v", err)
	}
	if got := utils.GetCertificateSerialNumber(*cert); got != creds.PlatformCertSerial {
		t.Errorf("platform serial %s, want %s", got, creds.PlatformCertSerial)
	}
	mchCert, err := utils.LoadCertificateWithPath(creds.MchCertFile)
	if err != nil || utils.GetCertificateSerialNumber(*mchCert) != creds.MchCertSerial {
		t.Errorf("merchant certificate serial does not match: %v", err)
	}
	if fi, err := os.Stat(creds.MchPrivateKeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestLoadCredentialsErrorsNameFileNotContent(t *testing.T) {
	dir := t.TempDir()
	if _, err := sandbox.LoadCredentials(dir); err == nil {
		t.Fatal("empty dir loaded")
	}
	for _, f := range []string{sandbox.FileIDs, sandbox.FileMchPrivateKey, sandbox.FileWechatPayPrivateKey,
		sandbox.FilePlatformPrivateKey, sandbox.FileWechatPayPublicKey, sandbox.FilePlatformCert} {
		b, err := os.ReadFile(creds.Dir + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if f == sandbox.FileMchPrivateKey {
			b = bytes.Replace(b, []byte("PRIVATE KEY"), []byte("RSA PRIVATE KEY"), 2) // PKCS#1 label
		}
		if err := os.WriteFile(dir+"/"+f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := sandbox.LoadCredentials(dir)
	if !errors.Is(err, sandbox.ErrCredentials) || !strings.Contains(err.Error(), sandbox.FileMchPrivateKey) {
		t.Fatalf("err = %v, want ErrCredentials naming the file", err)
	}
	if strings.Contains(err.Error(), "MII") {
		t.Errorf("error leaks key content: %v", err)
	}
}

func TestSDKUploadAccepted(t *testing.T) {
	for _, certMode := range []bool{false, true} {
		t.Run(fmt.Sprintf("cert mode %v", certMode), func(t *testing.T) {
			sb, srv := newSandbox(t, sandbox.Config{})
			c := sdkClient(t, certMode)
			for i := range 3 {
				res, err := c.Post(context.Background(), srv.URL+sandbox.SyncStatusPath, orderJSON(t, "A"))
				if err != nil {
					t.Fatalf("post %d: %v", i, err)
				}
				if res.Response.StatusCode != http.StatusNoContent || res.Response.Header.Get("Request-ID") == "" {
					t.Fatalf("status %d", res.Response.StatusCode)
				}
				wantSerial := creds.WechatPayPublicKeyID
				if certMode {
					wantSerial = creds.PlatformCertSerial
				}
				if got := res.Response.Header.Get("Wechatpay-Serial"); got != wantSerial {
					t.Errorf("Wechatpay-Serial %s, want %s", got, wantSerial)
				}
			}
			if _, err := c.Post(context.Background(), srv.URL+sandbox.SyncStatusPath, orderJSON(t, "B")); err != nil {
				t.Fatal(err)
			}
			if got := len(sb.OrderRecords("A")); got != 3 || sb.Count() != 4 || len(sb.Records()) != 4 {
				t.Errorf("records: order A %d, count %d", got, sb.Count())
			}
			if r := sb.Records(); r[3].OrderNo != "B" || r[0].Status != "PAY_SUCCESS" || r[0].SubMchID != "1900000100" {
				t.Errorf("records %+v", r)
			}
		})
	}
}

// rawRequest builds a request signed by hand, so that each part of the
// Authorization header can be broken.
type rawRequest struct {
	key                  *rsa.PrivateKey
	mchID, serial, nonce string
	ts                   int64
	scheme               string
	signedBody, sentBody []byte
	dropPair, userAgent  string
	accept, wechatSerial string
	omitAuthorization    bool
}

func (rr rawRequest) do(t *testing.T, url string) (*http.Response, map[string]any) {
	t.Helper()
	msg := fmt.Sprintf("POST\n%s\n%d\n%s\n%s\n", sandbox.SyncStatusPath, rr.ts, rr.nonce, rr.signedBody)
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, rr.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	pairs := []string{
		fmt.Sprintf(`mchid="%s"`, rr.mchID), fmt.Sprintf(`nonce_str="%s"`, rr.nonce),
		fmt.Sprintf(`timestamp="%d"`, rr.ts), fmt.Sprintf(`serial_no="%s"`, rr.serial),
		fmt.Sprintf(`signature="%s"`, base64.StdEncoding.EncodeToString(sig)),
	}
	kept := pairs[:0]
	for _, p := range pairs {
		if rr.dropPair == "" || !strings.HasPrefix(p, rr.dropPair+"=") {
			kept = append(kept, p)
		}
	}
	req, err := http.NewRequest(http.MethodPost, url+sandbox.SyncStatusPath, bytes.NewReader(rr.sentBody))
	if err != nil {
		t.Fatal(err)
	}
	if !rr.omitAuthorization {
		req.Header.Set("Authorization", rr.scheme+" "+strings.Join(kept, ","))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", rr.accept)
	req.Header.Set("User-Agent", rr.userAgent)
	if rr.wechatSerial != "" {
		req.Header.Set("Wechatpay-Serial", rr.wechatSerial)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	return resp, body
}

func TestRequestChecks(t *testing.T) {
	// The sandbox's clock stands still: the ±300 s window is checked to the
	// second, and a request built just before a second ticks over would
	// otherwise reach it one second later.
	now := time.Now()
	_, srv := newSandbox(t, sandbox.Config{Now: func() time.Time { return now }})
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	body := orderJSON(t, "raw")
	good := func() rawRequest {
		return rawRequest{key: creds.MchPrivateKey, mchID: creds.MchID, serial: creds.MchCertSerial,
			nonce: "593BEC0C930BF1AFEB40B4A08C8FB242", ts: now.Unix(), scheme: "WECHATPAY2-SHA256-RSA2048",
			signedBody: body, sentBody: body, userAgent: "test/1", accept: "application/json"}
	}
	tests := []struct {
		name       string
		give       func(r *rawRequest)
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{name: "valid", give: func(*rawRequest) {}, wantStatus: 204},
		{name: "timestamp 299s old", give: func(r *rawRequest) { r.ts -= 299 }, wantStatus: 204},
		{name: "public key serial", give: func(r *rawRequest) { r.wechatSerial = creds.WechatPayPublicKeyID }, wantStatus: 204},
		{name: "no authorization", give: func(r *rawRequest) { r.omitAuthorization = true }, wantStatus: 401, wantCode: "SIGN_ERROR"},
		{name: "wrong scheme", give: func(r *rawRequest) { r.scheme = "WECHATPAY2-SHA256-RSA" }, wantStatus: 401, wantCode: "SIGN_ERROR"},
		{name: "four pairs", give: func(r *rawRequest) { r.dropPair = "nonce_str" }, wantStatus: 401, wantCode: "SIGN_ERROR"},
		{name: "timestamp 301s old", give: func(r *rawRequest) { r.ts -= 301 }, wantStatus: 401, wantCode: "SIGN_ERROR"},
		{name: "timestamp 301s ahead", give: func(r *rawRequest) { r.ts += 301 }, wantStatus: 401, wantCode: "SIGN_ERROR"},
		{name: "unknown mchid", give: func(r *rawRequest) { r.mchID = "1900000001" }, wantStatus: 401, wantCode: "SIGN_ERROR"},
		{name: "unknown serial", give: func(r *rawRequest) { r.serial = creds.PlatformCertSerial }, wantStatus: 401, wantCode: "SIGN_ERROR"},
		{name: "wrong key", give: func(r *rawRequest) { r.key = creds.WechatPayPrivateKey }, wantStatus: 401, wantCode: "SIGN_ERROR"},
		{name: "body differs from signed body", give: func(r *rawRequest) { r.sentBody = orderJSON(t, "other") }, wantStatus: 401, wantCode: "SIGN_ERROR"},
		{name: "no user agent", give: func(r *rawRequest) { r.userAgent = "" }, wantStatus: 400, wantCode: "INVALID_REQUEST", wantField: "User-Agent"},
		{name: "no accept", give: func(r *rawRequest) { r.accept = "" }, wantStatus: 400, wantCode: "INVALID_REQUEST", wantField: "Accept"},
		{name: "unknown Wechatpay-Serial", give: func(r *rawRequest) { r.wechatSerial = "PUB_KEY_ID_0000" }, wantStatus: 400, wantCode: "INVALID_REQUEST", wantField: "Wechatpay-Serial"},
		{name: "invalid body", give: func(r *rawRequest) {
			b := bytes.Replace(body, []byte(`"BY_SHARE"`), []byte(`"BY_BOX"`), 1)
			r.signedBody, r.sentBody = b, b
		}, wantStatus: 400, wantCode: "PARAM_ERROR", wantField: "/dish_list/0/unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := good()
			tt.give(&rr)
			resp, got := rr.do(t, srv.URL)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Request-ID") == "" {
				t.Fatalf("status %d (request id %q), want %d; body %v", resp.StatusCode, resp.Header.Get("Request-ID"), tt.wantStatus, got)
			}
			if tt.wantStatus == 204 {
				if resp.Header.Get("Wechatpay-Signature") == "" {
					t.Error("204 not signed")
				}
				return
			}
			if got["code"] != tt.wantCode {
				t.Errorf("code %v, want %s", got["code"], tt.wantCode)
			}
			if resp.Header.Get("Wechatpay-Signature") != "" {
				t.Error("error answers are unsigned")
			}
			if tt.wantField != "" {
				detail, _ := got["detail"].(map[string]any)
				if detail["field"] != tt.wantField {
					t.Errorf("detail %v, want field %s", detail, tt.wantField)
				}
			}
		})
	}
}

func TestFaultsAdminEndpoint(t *testing.T) {
	sb, srv := newSandbox(t, sandbox.Config{})
	c := srv.Client()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	put := `{"latency":"1ms","server_error_rate":0.5,"rate_limit_rate":0.1,"retry_after":"2s",` +
		`"outage":{"mode":"drop","duration":"1m"},"rejections":[{"sub_mchid":"1900000100","status":403,"code":"NO_AUTH"}],` +
		`"bad_signature":"signtest","timestamp_skew":"-10m","times":5}`
	if code, body := do(http.MethodPut, "/sandbox/faults", put); code != 200 {
		t.Fatalf("PUT %d %s", code, body)
	}
	f := sb.Faults()
	if f.ServerErrorRate != 0.5 || time.Duration(f.RetryAfter) != 2*time.Second || f.Outage.Mode != "drop" ||
		f.Rejections[0].Code != "NO_AUTH" || f.BadSignature != "signtest" || f.Times != 5 {
		t.Errorf("faults %+v", f)
	}
	if code, body := do(http.MethodGet, "/sandbox/faults", ""); code != 200 || !strings.Contains(body, `"timestamp_skew":"-10m0s"`) {
		t.Errorf("GET %d %s", code, body)
	}
	for _, bad := range []string{`{"server_error_rate":2}`, `{"bad_signature":"maybe"}`, `{"latency":5}`, `{"nope":1}`, `{"outage":{"mode":"404"}}`} {
		if code, body := do(http.MethodPut, "/sandbox/faults", bad); code != 400 {
			t.Errorf("PUT %s: %d %s", bad, code, body)
		}
	}
	if code, _ := do(http.MethodDelete, "/sandbox/faults", ""); code != 204 {
		t.Errorf("DELETE %d", code)
	}
	if f := sb.Faults(); f.Outage != nil || f.ServerErrorRate != 0 {
		t.Errorf("faults after DELETE %+v", f)
	}
	if code, body := do(http.MethodGet, "/sandbox/stats", ""); code != 200 || !strings.Contains(body, `"requests":0`) {
		t.Errorf("stats %d %s", code, body)
	}
}

func TestFaultsTimesThenHealthy(t *testing.T) {
	sb, srv := newSandbox(t, sandbox.Config{})
	if err := sb.SetFaults(sandbox.Faults{ServerErrorRate: 1, Times: 2}); err != nil {
		t.Fatal(err)
	}
	c := sdkClient(t, false)
	var statuses []int
	for range 3 {
		res, err := c.Post(context.Background(), srv.URL+sandbox.SyncStatusPath, orderJSON(t, "t"))
		var apiErr *core.APIError
		switch {
		case errors.As(err, &apiErr):
			statuses = append(statuses, apiErr.StatusCode)
		case err != nil:
			t.Fatal(err)
		default:
			statuses = append(statuses, res.Response.StatusCode)
		}
	}
	if fmt.Sprint(statuses) != "[500 500 204]" {
		t.Errorf("statuses %v, want [500 500 204]", statuses)
	}
	if st := sb.Stats(); st.Requests != 3 || st.ByStatus[500] != 2 || st.Accepted != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestBenchmarkModeReusesSignatureAndCountsOnly(t *testing.T) {
	sb, srv := newSandbox(t, sandbox.Config{ReuseSignatures: true, CountOnly: true})
	c := sdkClient(t, false)
	seen := map[string]int{}
	for range 3 {
		res, err := c.Post(context.Background(), srv.URL+sandbox.SyncStatusPath, orderJSON(t, "bench"))
		if err != nil {
			t.Fatal(err) // the SDK verified the reused signature
		}
		seen[res.Response.Header.Get("Wechatpay-Signature")]++
	}
	// Three answers within milliseconds span at most two seconds.
	if len(seen) > 2 {
		t.Errorf("%d distinct signatures for 3 answers, want reuse", len(seen))
	}
	if sb.Count() != 3 || len(sb.Records()) != 0 || len(sb.OrderRecords("bench")) != 0 {
		t.Errorf("count %d, records %d; want 3 counted, none kept", sb.Count(), len(sb.Records()))
	}
}

func TestCheckEveryChecksOneRequestInN(t *testing.T) {
	sb, srv := newSandbox(t, sandbox.Config{CheckEvery: 3})
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	body := orderJSON(t, "sampled")
	wrongKey := rawRequest{key: creds.WechatPayPrivateKey, mchID: creds.MchID, serial: creds.MchCertSerial,
		nonce: "593BEC0C930BF1AFEB40B4A08C8FB242", ts: time.Now().Unix(), scheme: "WECHATPAY2-SHA256-RSA2048",
		signedBody: body, sentBody: body, userAgent: "test/1", accept: "application/json"}
	// Requests 1, 4 and 7 are checked; the others only read.
	var got []int
	for range 7 {
		resp, _ := wrongKey.do(t, srv.URL)
		got = append(got, resp.StatusCode)
	}
	want := []int{401, 204, 204, 401, 204, 204, 401}
	if !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	st := sb.Stats()
	if st.Requests != 7 || st.Checked != 3 || st.SignErrors != 3 || st.Accepted != 4 {
		t.Errorf("stats %+v; want 7 requests, 3 checked and refused, 4 accepted", st)
	}
	if r := sb.OrderRecords("sampled"); len(r) != 4 {
		t.Errorf("%d records of the order, want the 4 unchecked ones", len(r))
	}
}

func TestCheckEveryCountOnlyStillRejects(t *testing.T) {
	sb, srv := newSandbox(t, sandbox.Config{CheckEvery: 2, CountOnly: true})
	c := sdkClient(t, false)
	if err := sb.SetFaults(sandbox.Faults{Rejections: []sandbox.Rejection{{OrderNo: "refused"}}}); err != nil {
		t.Fatal(err)
	}
	for i, order := range []string{"fine", "fine", "refused", "refused"} {
		_, err := c.Post(context.Background(), srv.URL+sandbox.SyncStatusPath, orderJSON(t, order))
		if (err != nil) != (order == "refused") {
			t.Errorf("request %d (%s, checked %v): err %v", i+1, order, i%2 == 0, err)
		}
	}
	if st := sb.Stats(); st.Checked != 2 || st.Accepted != 2 {
		t.Errorf("stats %+v; want 2 checked, 2 accepted", st)
	}
}

func TestCloseReleasesHungRequests(t *testing.T) {
	sb, srv := newSandbox(t, sandbox.Config{})
	if err := sb.SetFaults(sandbox.Faults{TimeoutRate: 1}); err != nil {
		t.Fatal(err)
	}
	c := sdkClient(t, false)
	done := make(chan error, 1)
	go func() {
		_, err := c.Post(context.Background(), srv.URL+sandbox.SyncStatusPath, orderJSON(t, "hang"))
		done <- err
	}()
	kafkatest.WaitFor(t, "the request held by the timeout fault", func() bool { return sb.Stats().Hung > 0 })
	sb.Close()
	select {
	case err := <-done:
		var apiErr *core.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
			t.Errorf("err %v, want 503 after Close", err)
		}
	case <-time.After(kafkatest.WaitBound):
		t.Fatal("hung request not released by Close")
	}
}
