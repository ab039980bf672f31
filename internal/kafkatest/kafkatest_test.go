package kafkatest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCommittedShowsTheGroupsCommits commits offsets of two partitions as
// a simple consumer: Committed returns them, and nothing for another group.
func TestCommittedShowsTheGroupsCommits(t *testing.T) {
	c := Cluster(t, kfake.SeedTopics(2, "orders"))
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(c.ListenAddrs()...), Timeout: 10 * time.Second, Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: "ordersync", GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{"orders": {{Partition: 0, Offset: 12}, {Partition: 1, Offset: 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil {
				t.Fatalf("commit partition %d: %v", p.Partition, p.Error)
			}
		}
	}
	if got := Committed(c, "ordersync", "orders"); len(got) != 2 || got[0] != 12 || got[1] != 3 {
		t.Errorf("committed %v, want map[0:12 1:3]", got)
	}
	if got := Committed(c, "other", "orders"); len(got) != 0 {
		t.Errorf("another group: committed %v, want none", got)
	}
}

// fatalTB records the failure WaitFor reports and ends the goroutine as
// testing.T's Fatalf does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// TestWaitForFailsAfterItsBoundNamingWhat runs on a fake clock: WaitFor
// returns once cond holds, and fails naming what after WaitBound when cond
// never holds.
func TestWaitForFailsAfterItsBoundNamingWhat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		polls := 0
		WaitFor(t, "the third poll", func() bool { polls++; return polls == 3 })
		if polls != 3 {
			t.Errorf("WaitFor returned after %d polls, want 3", polls)
		}

		f := &fatalTB{TB: t}
		start := time.Now()
		var waited time.Duration
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { waited = time.Since(start) }()
			WaitFor(f, "the impossible", func() bool { return false })
		}()
		<-done
		if waited < WaitBound || !strings.Contains(f.msg, "the impossible") {
			t.Errorf("WaitFor gave up after %s with %q; want after %s naming what it waited for", waited, f.msg, WaitBound)
		}
	})
}
