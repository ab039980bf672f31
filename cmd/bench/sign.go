package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// signing is the RSA-2048 SHA256withRSA bound of this machine, measured in
// the same run as the cases.
type signing struct {
	// PerSecond is signatures per second with one goroutine per core.
	PerSecond float64 `json:"signs_per_second_all_cores"`
	// Cores is the number of goroutines that signed in parallel (GOMAXPROCS).
	Cores int `json:"cores"`
	// Single is the CPU time of one signature on one core (process CPU time
	// over the signatures of one goroutine, so other load on the machine
	// does not inflate it).
	Single time.Duration `json:"single_core_sign_cpu_ns"`
}

// signingMessage is what wechatpay-go signs per request: method, URI,
// timestamp, nonce and a body of realistic size.
func signingMessage() []byte {
	body := make([]byte, 1500)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	return []byte("POST\n/v3/catering/orders/sync-status\n1764131405\n593BEC0C930BF1AFEB40B4A08C8FB242\n" + string(body) + "\n")
}

// measureSigning signs with crypto/rsa SignPKCS1v15 on every core for d and
// on one core for d/3, with key. Nothing else of the benchmark runs then.
func measureSigning(ctx context.Context, key *rsa.PrivateKey, d time.Duration) (signing, error) {
	msg := signingMessage()
	cpu0, err := selfCPU()
	if err != nil {
		return signing{}, err
	}
	n, _, err := signFor(ctx, key, msg, 1, d/3)
	if err != nil {
		return signing{}, err
	}
	cpu1, err := selfCPU()
	if err != nil {
		return signing{}, err
	}
	s := signing{Single: (cpu1 - cpu0) / time.Duration(n), Cores: runtime.GOMAXPROCS(0)}
	n, elapsed, err := signFor(ctx, key, msg, s.Cores, d)
	if err != nil {
		return signing{}, err
	}
	s.PerSecond = float64(n) / elapsed.Seconds()
	if ctx.Err() != nil {
		return signing{}, errors.New("interrupted")
	}
	return s, nil
}

// selfCPU is this process's user plus system CPU time.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// signFor runs g goroutines that sign msg until d has passed or ctx is done
// and returns the signatures made and the time taken.
func signFor(ctx context.Context, key *rsa.PrivateKey, msg []byte, g int, d time.Duration) (int64, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		count   atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		signErr error
	)
	start := time.Now()
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				sum := sha256.Sum256(msg)
				if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]); err != nil {
					errOnce.Do(func() { signErr = err; cancel() })
					return
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if signErr != nil {
		return 0, 0, fmt.Errorf("sign: %w", signErr)
	}
	if count.Load() == 0 {
		return 0, 0, fmt.Errorf("sign: no signature within %s", d)
	}
	return count.Load(), elapsed, nil
}
