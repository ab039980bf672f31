package consumer

import (
	"context"
	"sync"
	"testing"

	"github.com/ordersync/ordersync/internal/uploader"
)

// deliverAll is an Uploader that delivers every body at once.
type deliverAll struct{}

func (deliverAll) Upload(context.Context, []byte) uploader.Outcome {
	return uploader.Outcome{Class: uploader.Delivered, Attempts: 1}
}

func newUploadPoolConsumer(t *testing.T, maxInFlight int) *Consumer {
	t.Helper()
	c := &Consumer{cfg: Config{MaxInFlight: maxInFlight}, uploads: make(chan uploadCall),
		pool: uploadPool{quit: make(chan struct{})}, obs: nopObserver{}}
	t.Cleanup(c.stopUploads)
	return c
}

// An upload handed to an upload goroutine and released costs the consumer
// no allocation once the goroutines run: it is done for every event. (Under
// the race detector a pool drops a quarter of what it is given, so a slot
// is sometimes made anew: at most one allocation per upload on average.)
func TestUploadHandOffAllocatesNothing(t *testing.T) {
	c := newUploadPoolConsumer(t, 1)
	ctx := context.Background()
	body := []byte("{}")
	run := func() {
		out, s, ok := c.upload(ctx, deliverAll{}, body)
		if !ok || out.Class != uploader.Delivered {
			t.Fatalf("upload: %+v, %v", out, ok)
		}
		s.release()
	}
	run() // starts the goroutine
	if n := testing.AllocsPerRun(100, run); n > 1 {
		t.Errorf("an upload's hand-off allocated %v times, want at most 1", n)
	}
}

// Uploads from many goroutines through fewer upload goroutines each get
// their own outcome, and every slot comes free, also when the caller's
// context ends while the upload goroutine waits for its release.
func TestUploadSlotsAreNotShared(t *testing.T) {
	c := newUploadPoolConsumer(t, 3)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				ctx, cancel := context.WithCancel(context.Background())
				body := []byte{byte(g), byte(i)}
				out, s, ok := c.upload(ctx, echoAttempts{}, body)
				if !ok {
					t.Errorf("upload not run")
				} else if want := int(g)<<8 | i; out.Attempts != want {
					t.Errorf("goroutine %d upload %d got the outcome of %d", g, i, out.Attempts)
				}
				if i%3 == 0 {
					cancel() // the upload goroutine leaves before the release
				}
				s.release()
				cancel()
			}
		})
	}
	wg.Wait()
}

// echoAttempts reports its body as the outcome's attempt count.
type echoAttempts struct{}

func (echoAttempts) Upload(_ context.Context, body []byte) uploader.Outcome {
	return uploader.Outcome{Class: uploader.Delivered, Attempts: int(body[0])<<8 | int(body[1])}
}

// BenchmarkUploadHandOff is one upload handed to an upload goroutine and
// released, the uploader itself a no-op:
//
//	go test -run '^$' -bench UploadHandOff -benchmem ./internal/consumer/
func BenchmarkUploadHandOff(b *testing.B) {
	c := &Consumer{cfg: Config{MaxInFlight: 1}, uploads: make(chan uploadCall),
		pool: uploadPool{quit: make(chan struct{})}, obs: nopObserver{}}
	defer c.stopUploads()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, s, _ := c.upload(ctx, deliverAll{}, nil)
		s.release()
	}
}
