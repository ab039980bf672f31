package merchants_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/merchants"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/uploader"
)

// benchSubMerchants are spread round robin over the accounts of a case.
const benchSubMerchants = 1000

var (
	benchOnce  sync.Once
	benchExtra []*sandbox.Credentials // accounts besides creds
	benchErr   error
)

// BenchmarkRouterUpload uploads through the router the events of 1,000
// sub-merchants filed under one account and under 20, against the
// in-process sandbox (one request in 16 verified): the cost of an account
// shows as the difference. docs/benchmarks.md quotes it.
func BenchmarkRouterUpload(b *testing.B) {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ordersync-bench-accounts-")
		if err != nil {
			benchErr = err
			return
		}
		for i := range 19 {
			c, err := sandbox.GenerateAccount(filepath.Join(dir, fmt.Sprint(i)), fmt.Sprint(1230001000+i))
			if err != nil {
				benchErr = err
				return
			}
			benchExtra = append(benchExtra, c)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	for _, n := range []int{1, 20} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) { benchRouter(b, append([]*sandbox.Credentials{creds}, benchExtra[:n-1]...)) })
	}
}

func benchRouter(b *testing.B, accounts []*sandbox.Credentials) {
	extra := make([]sandbox.Account, 0, len(accounts)-1)
	for _, c := range accounts[1:] {
		extra = append(extra, sandbox.Account{Credentials: c})
	}
	sb, err := sandbox.New(sandbox.Config{Credentials: creds, Accounts: extra, ReuseSignatures: true, CountOnly: true, CheckEvery: 16})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	defer func() { srv.Close(); sb.Close() }()
	var doc strings.Builder
	doc.WriteString("accounts:\n")
	for i, c := range accounts {
		fmt.Fprintf(&doc, "  acct-%02d:\n    mode: service_provider\n    mchid: %q\n    cert_serial: %s\n    private_key_file: %s\n"+
			"    wechatpay_public_key_file: %s\n    wechatpay_public_key_id: %s\n    sp_appid: wx1234567890abcdef\n",
			i, c.MchID, c.MchCertSerial, c.MchPrivateKeyFile, c.WechatPayPublicKeyFile, c.WechatPayPublicKeyID)
	}
	doc.WriteString("merchants:\n")
	for i := range benchSubMerchants {
		fmt.Fprintf(&doc, "  \"%d\": acct-%02d\n", 1900100000+i, i%len(accounts))
	}
	reg, err := merchants.Parse([]byte(doc.String()), merchants.LoadOptions{Keys: true})
	if err != nil {
		b.Fatal(err)
	}
	const inFlight = 64
	r, err := merchants.NewRouter(reg, merchants.RouterConfig{
		Uploader:  uploader.Config{BaseURL: srv.URL, MaxInFlight: inFlight, RequestTimeout: 10 * time.Second},
		SkipTypes: mapper.DefaultSkipTypes, Hold: time.Hour, Observer: newObserver(), Logger: zerolog.Nop(),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	type job struct {
		up   *merchants.EventUploader
		body []byte
	}
	jobs := make([]job, benchSubMerchants)
	for i := range jobs {
		res, err := r.Map(orderEvent(fmt.Sprint(1900100000+i), fmt.Sprintf("B%07d", i)), nil)
		if err != nil {
			b.Fatal(err)
		}
		jobs[i] = job{up: r.Uploader(res), body: res.Body}
	}
	var next atomic.Uint64
	b.SetParallelism(inFlight / 2) // 2 CPUs: 64 uploads in flight
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j := jobs[next.Add(1)%benchSubMerchants]
			if out := j.up.Upload(context.Background(), j.body); out.Class != uploader.Delivered {
				b.Errorf("upload: %v", out.Err)
				return
			}
		}
	})
}
