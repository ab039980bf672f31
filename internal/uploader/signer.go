package uploader

import (
	"context"
	"runtime"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
)

// timedSigner is the SDK's signer with the CPU time of each signature,
// measured on the signing thread, reported to Observer.SignCPU
// (ordersync_signature_cpu_seconds): the signature is what bounds the
// worker's throughput, and the metric lets make bench subtract it
// (docs/benchmarks.md). The signature itself is the wrapped signer's.
type timedSigner struct {
	auth.Signer
	observer Observer
}

// Sign signs message with the wrapped signer on a locked OS thread, so both
// clock readings are of the thread that did the work.
func (s timedSigner) Sign(ctx context.Context, message string) (*auth.SignatureResult, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, ok0 := threadCPU()
	res, err := s.Signer.Sign(ctx, message)
	if t1, ok1 := threadCPU(); ok0 && ok1 && t1 >= t0 {
		s.observer.SignCPU(t1 - t0)
	}
	return res, err
}

var _ auth.Signer = timedSigner{}
