package replay_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/replay"
)

// TestRunSecondConcurrentReplayRefused holds the first run's republish at
// the broker while a second run on the same ledger starts: the second is
// refused naming the lease group, the first finishes, and every record is
// republished once.
func TestRunSecondConcurrentReplayRefused(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	secondDone := make(chan struct{})
	reached := make(chan struct{})
	var held atomic.Bool
	e.cluster.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if produceTo(req, sourceTopic) {
			if held.CompareAndSwap(false, true) {
				close(reached)
				e.cluster.SleepControl(func() { <-secondDone })
			}
		}
		return nil, nil, false
	})

	type result struct {
		sum replay.Summary
		err error
	}
	first := make(chan result, 1)
	go func() {
		sum, err := replay.Run(e.ctx(), e.opts(nil), &bytes.Buffer{})
		first <- result{sum, err}
	}()
	<-reached // the first run is writing its batch

	var out bytes.Buffer
	sum, err := replay.Run(e.ctx(), e.opts(nil), &out)
	close(secondDone)
	if !errors.Is(err, replay.ErrLeaseHeld) || !strings.Contains(err.Error(), replay.LeaseGroup(dlqTopic+replay.LedgerSuffix)) {
		t.Errorf("second run: error %v, want ErrLeaseHeld naming the lease group", err)
	}
	if sum.Republished != 0 || out.Len() != 0 {
		t.Errorf("second run: %s, output %q; want nothing done", sum, out.String())
	}
	r := <-first
	if r.err != nil || r.sum.Republished != len(mixed) {
		t.Errorf("first run: %s, %v; want all %d republished", r.sum, r.err, len(mixed))
	}
	if n := e.count(sourceTopic); n != int64(len(mixed)) {
		t.Errorf("source topic holds %d records, want %d (each once)", n, len(mixed))
	}
	third, _ := e.run(nil)
	if third.AlreadyReplayed != len(mixed) {
		t.Errorf("run after both: %s, want all already replayed (the lease was released)", third)
	}
}

// TestLeaseKeptThroughRebalance has a member join the lease group while a
// run holds it (as a second run racing past the holder check would): the
// rebalance leaves partition 0 with the holder, which finishes undisturbed.
func TestLeaseKeptThroughRebalance(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	joined := make(chan struct{})
	reached := make(chan struct{})
	var held atomic.Bool
	e.cluster.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if produceTo(req, sourceTopic) && held.CompareAndSwap(false, true) {
			close(reached)
			e.cluster.SleepControl(func() { <-joined })
		}
		return nil, nil, false
	})
	first := make(chan error, 1)
	go func() {
		sum, err := replay.Run(e.ctx(), e.opts(nil), &bytes.Buffer{})
		if err == nil && sum.Republished != len(mixed) {
			err = fmt.Errorf("republished %d, want %d", sum.Republished, len(mixed))
		}
		first <- err
	}()
	<-reached

	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(e.addr), Transport: tr}
	group, topic := replay.LeaseGroup(dlqTopic+replay.LedgerSuffix), dlqTopic+replay.LedgerSuffix
	ctx := e.ctx()
	member, assigned := "", []int(nil)
	for range 5 {
		res, err := c.JoinGroup(ctx, &kafka.JoinGroupRequest{
			GroupID: group, MemberID: member, ProtocolType: "consumer",
			SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second,
			Protocols: []kafka.GroupProtocol{{Name: "ordersync-replay-lease", Metadata: kafka.GroupProtocolSubscription{Topics: []string{topic}}}},
		})
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		member = res.MemberID
		if errors.Is(res.Error, kafka.MemberIDRequired) {
			continue
		}
		if res.Error != nil {
			t.Fatalf("join: %v", res.Error)
		}
		if res.LeaderID == member {
			t.Fatalf("the joining member leads the lease group: the holder did not rejoin")
		}
		sres, err := c.SyncGroup(ctx, &kafka.SyncGroupRequest{GroupID: group, GenerationID: res.GenerationID, MemberID: member,
			ProtocolType: "consumer", ProtocolName: "ordersync-replay-lease"})
		if err != nil || sres.Error != nil {
			t.Fatalf("sync: %v %v", err, sres.Error)
		}
		assigned = sres.Assignment.AssignedPartitions[topic]
		break
	}
	if len(assigned) != 0 {
		t.Errorf("the joining member was given %v of the ledger: the lease moved", assigned)
	}
	if _, err := c.LeaveGroup(ctx, &kafka.LeaveGroupRequest{GroupID: group, Members: []kafka.LeaveGroupRequestMember{{ID: member}}}); err != nil {
		t.Errorf("leave: %v", err)
	}
	close(joined)
	if err := <-first; err != nil {
		t.Errorf("holder: %v", err)
	}
	if n := e.count(sourceTopic); n != int64(len(mixed)) {
		t.Errorf("source topic holds %d records, want %d", n, len(mixed))
	}
}
