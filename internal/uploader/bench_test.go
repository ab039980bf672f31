//go:build unix

package uploader_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/uploader"
)

// BenchmarkUpload measures uploads/s through the full stack (SDK signing,
// HTTP, sandbox verification and validation) with the sandbox reusing one
// response signature per second. Compare with BenchmarkRSASign from the
// same run:
//
//	go test -run ^$ -bench . -benchtime 3s ./internal/uploader/
func BenchmarkUpload(b *testing.B) {
	e := newEnv(b, sandbox.Config{ReuseSignatures: true, CountOnly: true})
	cfg := e.config()
	cfg.MaxInFlight = 64
	cfg.RequestTimeout = 10 * time.Second
	cfg.Retry.MaxElapsed = time.Minute
	cpu0 := uploadInParallel(b, newUploader(b, cfg))
	reportRates(b, cpu0, "uploads/s")
}

// BenchmarkUploadBesideSignature measures what an upload costs beside its
// request signature: process CPU per upload minus the signature's CPU as
// the uploader reports it (Observer.SignCPU), with the allocations per
// upload. The sandbox checks only the first request and reuses its response
// signature, so the figure is the uploader, wechatpay-go and net/http on
// both ends of a loopback connection. Run it under both builds:
//
//	go test -run '^$' -bench BesideSignature -benchmem -count 6 ./internal/uploader/
//	CGO_ENABLED=1 GOEXPERIMENT=boringcrypto go test -run '^$' -bench BesideSignature -benchmem -count 6 ./internal/uploader/
func BenchmarkUploadBesideSignature(b *testing.B) {
	e := newEnv(b, sandbox.Config{ReuseSignatures: true, CountOnly: true, CheckEvery: 1 << 30})
	cfg := e.config()
	cfg.MaxInFlight = 64
	cfg.RequestTimeout = 10 * time.Second
	cfg.Retry.MaxElapsed = time.Minute
	sign := &signCPUSum{}
	cfg.Observer = sign
	cpu0 := uploadInParallel(b, newUploader(b, cfg))
	cpu := cpuTime(b) - cpu0
	signed := time.Duration(sign.total.Load())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(signed.Microseconds())/float64(b.N), "sign-cpu-µs/op")
	b.ReportMetric(float64((cpu-signed).Microseconds())/float64(b.N), "beside-sign-cpu-µs/op")
}

// uploadInParallel uploads b.N bodies through u from two goroutines per
// core, each expected delivered, and returns the process CPU time it started at.
func uploadInParallel(b *testing.B, u *uploader.Uploader) (cpu0 time.Duration) {
	body := orderBody("bench")
	b.SetParallelism(2)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 = cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if out := u.Upload(context.Background(), body); out.Class != uploader.Delivered {
				b.Errorf("outcome %+v", out)
				return
			}
		}
	})
	b.StopTimer()
	return cpu0
}

// signCPUSum is an Observer that adds up the signatures' CPU time.
type signCPUSum struct{ total atomic.Int64 }

func (s *signCPUSum) UploadAttempt(string, int, time.Duration) {}
func (s *signCPUSum) Paused(bool, string)                      {}
func (s *signCPUSum) SignCPU(d time.Duration)                  { s.total.Add(int64(d)) }

// BenchmarkRSASign is the crypto bound: SHA256withRSA PKCS#1 v1.5 with the
// merchant's RSA-2048 key on all cores.
func BenchmarkRSASign(b *testing.B) {
	msg := []byte("POST\n/v3/catering/orders/sync-status\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n" + string(orderBody("bench")) + "\n")
	b.ResetTimer()
	cpu0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sum := sha256.Sum256(msg)
			if _, err := rsa.SignPKCS1v15(rand.Reader, creds.MchPrivateKey, crypto.SHA256, sum[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	reportRates(b, cpu0, "signs/s")
}

// cpuTime is the process's user+system CPU time. Reported per operation
// next to the wall-clock rate, it keeps the comparison meaningful when other
// processes share the machine.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportRates(b *testing.B, cpu0 time.Duration, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}
