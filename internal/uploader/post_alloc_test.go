package uploader

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// cannedAnswer answers every request with the same signed 204, read from
// no connection, so that what one post allocates can be counted without a
// server in the process.
type cannedAnswer struct{ header http.Header }

func (c cannedAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusNoContent, Status: "204 No Content", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: c.header, Body: http.NoBody, Request: req}, nil
}

// cannedPoster returns a public-key mode poster whose answers are a 204
// signed with the WeChat Pay key of c.
func cannedPoster(t *testing.T, c *sandbox.Credentials) *poster {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
	sig, err := utils.SignSHA256WithRSA(ts+"\n"+nonce+"\n\n", c.WechatPayPrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header{}
	header.Set("Wechatpay-Serial", c.WechatPayPublicKeyID)
	header.Set("Wechatpay-Signature", sig)
	header.Set("Wechatpay-Timestamp", ts)
	header.Set("Wechatpay-Nonce", nonce)
	header.Set("Request-Id", "08F78BB5AF0610D302E2C8D6C8D8CC8A")
	cfg := Config{BaseURL: "http://127.0.0.1:1", MchID: c.MchID, MchCertSerial: c.MchCertSerial, MchPrivateKey: c.MchPrivateKey,
		WechatPayPublicKey: c.WechatPayPublicKey, WechatPayPublicKeyID: c.WechatPayPublicKeyID}
	client := &http.Client{Transport: cappedTransport{rt: cannedAnswer{header: header}, max: maxResponseBytes}}
	p, err := newPoster(&cfg, client, cfg.BaseURL+SyncStatusPath)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPostAllocations bounds what one delivered POST allocates in the
// uploader, the SDK and net/http's client (the connection left out): the
// request, its Authorization header and the verification of a signed 204.
// These are per event in the worker, and the collector's CPU grows with
// them (docs/benchmarks.md, "Session 7: allocations per event").
func TestPostAllocations(t *testing.T) {
	c, err := sandbox.GenerateCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := cannedPoster(t, c)
	body := []byte(fmt.Sprintf(`{"sp_mchid":"1230000109","sub_mchid":"1900000100","login_token":"T","out_order_no":"%0900d"}`, 1))
	ctx := context.Background()
	post := func() {
		res, err := p.post(ctx, body)
		if err != nil || res.Response.StatusCode != http.StatusNoContent {
			t.Fatalf("post: %v", err)
		}
	}
	post()
	const maxAllocs, maxBytes = 45, 8300
	// The least of three rounds: another test's goroutine allocating
	// meanwhile can only add to a round.
	allocs, bytes := math.Inf(1), uint64(math.MaxUint64)
	for range 3 {
		allocs = min(allocs, testing.AllocsPerRun(20, post))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const runs = 20
		for range runs {
			post()
		}
		runtime.ReadMemStats(&after)
		bytes = min(bytes, (after.TotalAlloc-before.TotalAlloc)/runs)
	}
	t.Logf("%.0f allocations, %d bytes per post", allocs, bytes)
	if allocs > maxAllocs || bytes > maxBytes {
		t.Errorf("one post allocates %.0f times, %d bytes; want at most %d and %d", allocs, bytes, maxAllocs, maxBytes)
	}
}

// TestVerifyMatchesTheSDKsValidator checks that poster.verify accepts and
// refuses the answers wechatpay-go's response validator does, with the same
// error text, and leaves the body readable as the validator does.
func TestVerifyMatchesTheSDKsValidator(t *testing.T) {
	c, err := sandbox.GenerateCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := cannedPoster(t, c)
	sdk := validators.NewWechatPayResponseValidator(verifiers.NewSHA256WithRSAPubkeyVerifier(c.WechatPayPublicKeyID, *c.WechatPayPublicKey))
	now := time.Now().Unix()
	signed := func(ts int64, nonce, body string) http.Header {
		sig, err := utils.SignSHA256WithRSA(fmt.Sprintf("%d\n%s\n%s\n", ts, nonce, body), c.WechatPayPrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("Wechatpay-Serial", c.WechatPayPublicKeyID)
		h.Set("Wechatpay-Signature", sig)
		h.Set("Wechatpay-Timestamp", strconv.FormatInt(ts, 10))
		h.Set("Wechatpay-Nonce", nonce)
		h.Set("Request-Id", " REQ-1 ")
		return h
	}
	tests := []struct {
		name string
		body string
		edit func(h http.Header)
	}{
		{name: "signed 204", edit: func(http.Header) {}},
		{name: "signed 200 with a body", body: `{"ok":true}`, edit: func(http.Header) {}},
		{name: "body not the one signed", body: `{"ok":false}`, edit: func(h http.Header) {
			h.Set("Wechatpay-Signature", signed(now, "N1", `{"ok":true}`).Get("Wechatpay-Signature"))
		}},
		{name: "no serial", edit: func(h http.Header) { h.Del("Wechatpay-Serial") }},
		{name: "blank signature", edit: func(h http.Header) { h.Set("Wechatpay-Signature", "  ") }},
		{name: "no timestamp", edit: func(h http.Header) { h.Del("Wechatpay-Timestamp") }},
		{name: "timestamp not a number", edit: func(h http.Header) { h.Set("Wechatpay-Timestamp", "12a") }},
		{name: "no nonce", edit: func(h http.Header) { h.Del("Wechatpay-Nonce") }},
		{name: "timestamp six minutes old", edit: func(h http.Header) {
			for k, v := range signed(now-360, "N1", "") {
				h[k] = v
			}
		}},
		{name: "other serial", edit: func(h http.Header) { h.Set("Wechatpay-Serial", "PUB_KEY_ID_0000") }},
		{name: "signature not base64", edit: func(h http.Header) { h.Set("Wechatpay-Signature", "!!") }},
		{name: "nonce not the one signed", edit: func(h http.Header) { h.Set("Wechatpay-Nonce", "N2") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer := func() *http.Response {
				h := signed(now, "N1", tt.body)
				tt.edit(h)
				var body io.ReadCloser = http.NoBody
				if tt.body != "" {
					body = io.NopCloser(strings.NewReader(tt.body))
				}
				return &http.Response{StatusCode: http.StatusOK, Header: h, Body: body}
			}
			mine, theirs := answer(), answer()
			got, want := p.verify(context.Background(), mine), sdk.Validate(context.Background(), theirs)
			if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
				t.Fatalf("verify: %v; the SDK's validator: %v", got, want)
			}
			gb, _ := io.ReadAll(mine.Body)
			wb, _ := io.ReadAll(theirs.Body)
			if string(gb) != string(wb) {
				t.Errorf("body left %q, the SDK leaves %q", gb, wb)
			}
		})
	}
}
