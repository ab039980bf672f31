package replay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// ErrLeaseHeld means another replay is republishing from the same replay
// ledger: two at once would each republish what the other has not yet
// recorded.
var ErrLeaseHeld = errors.New("another replay is running on this replay ledger")

// ErrLeaseLost means the run lost its lease (no heartbeat answered within
// the session, or the group moved it): it stops after the current batch.
var ErrLeaseLost = errors.New("lost the replay lease")

const (
	// leaseProtocol names the group protocol of the lease group.
	leaseProtocol = "ordersync-replay-lease"
	// leaseSession is the lease group's session and rebalance timeout.
	leaseSession = 10 * time.Second
	// leaseHeartbeat is the interval between heartbeats.
	leaseHeartbeat = time.Second
	// leaveTimeout bounds the LeaveGroup request when the lease is released.
	leaveTimeout = 5 * time.Second
)

// LeaseGroup is the consumer group whose member holding partition 0 of the
// replay ledger topic holds the lease on it.
func LeaseGroup(ledgerTopic string) string { return "ordersync-replay." + ledgerTopic }

// lease is a run's hold on its replay ledger: membership of LeaseGroup with
// partition 0 of the ledger topic assigned. A rebalance leaves the partition
// with the member that owns it; a member that owns none gets nothing and
// refuses to run. A goroutine heartbeats until release, and calls lost when
// the lease is gone.
type lease struct {
	client *kafka.Client
	group  string
	topic  string
	lost   func(error)

	memberID   string
	generation int

	stop context.CancelFunc // ends keep
	done chan struct{}      // closed when keep returned
	once sync.Once
}

// acquireLease takes the lease on ledgerTopic or returns an error wrapping
// ErrLeaseHeld that names the holder. lost is called, at most once, if the
// lease is lost before release.
func acquireLease(ctx context.Context, client *kafka.Client, ledgerTopic string, lost func(error)) (*lease, error) {
	l := &lease{client: client, group: LeaseGroup(ledgerTopic), topic: ledgerTopic, lost: lost,
		done: make(chan struct{})}
	if holder, err := l.holder(ctx); err != nil || holder != "" {
		return nil, errors.Join(err, l.heldBy(holder))
	}
	held, err := l.join(ctx, false)
	if err == nil && !held {
		holder, herr := l.holder(ctx)
		err = errors.Join(herr, l.heldBy(holder))
	}
	if err != nil {
		l.leave()
		return nil, err
	}
	// The heartbeats outlive ctx's cancellation (SIGTERM): the run still
	// finishes its batch under the lease; release ends them.
	kctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l.stop = stop
	go l.keep(kctx)
	return l, nil
}

// heldBy is the error for a lease held by holder ("" when the holder could
// not be named).
func (l *lease) heldBy(holder string) error {
	if holder == "" {
		holder = "another member"
	}
	return fmt.Errorf("%w: held by %s in consumer group %s; wait for it to finish", ErrLeaseHeld, holder, l.group)
}

// holder names the member of the lease group holding the ledger's
// partition 0 ("" when none does).
func (l *lease) holder(ctx context.Context) (string, error) {
	res, err := l.client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{l.group}})
	if err != nil {
		return "", fmt.Errorf("describe lease group %s: %w", l.group, err)
	}
	for _, g := range res.Groups {
		if g.Error != nil {
			return "", fmt.Errorf("describe lease group %s: %w", l.group, g.Error)
		}
		for _, m := range g.Members {
			for _, t := range m.MemberAssignments.Topics {
				if t.Topic == l.topic && slices.Contains(t.Partitions, 0) {
					return fmt.Sprintf("%s (client %s at %s)", m.MemberID, m.ClientID, m.ClientHost), nil
				}
			}
		}
	}
	return "", nil
}

// join joins the lease group, owning partition 0 when owned, and reports
// whether this member holds it. The group's leader assigns the partition to
// the member that owns it, else to itself.
func (l *lease) join(ctx context.Context, owned bool) (bool, error) {
	sub := kafka.GroupProtocolSubscription{Topics: []string{l.topic}}
	if owned {
		sub.OwnedPartitions = map[string][]int{l.topic: {0}}
	}
	for range 5 {
		res, err := l.client.JoinGroup(ctx, &kafka.JoinGroupRequest{
			GroupID: l.group, MemberID: l.memberID, ProtocolType: "consumer",
			SessionTimeout: leaseSession, RebalanceTimeout: leaseSession,
			Protocols: []kafka.GroupProtocol{{Name: leaseProtocol, Metadata: sub}},
		})
		if err != nil {
			return false, fmt.Errorf("join lease group %s: %w", l.group, err)
		}
		if errors.Is(res.Error, kafka.MemberIDRequired) {
			l.memberID = res.MemberID
			continue
		}
		if res.Error != nil {
			return false, fmt.Errorf("join lease group %s: %w", l.group, res.Error)
		}
		l.memberID, l.generation = res.MemberID, res.GenerationID
		var assignments []kafka.SyncGroupRequestAssignment
		if res.LeaderID == res.MemberID {
			assignments = assign(res.Members, l.topic, res.MemberID)
		}
		sres, err := l.client.SyncGroup(ctx, &kafka.SyncGroupRequest{
			GroupID: l.group, GenerationID: l.generation, MemberID: l.memberID,
			ProtocolType: "consumer", ProtocolName: leaseProtocol, Assignments: assignments,
		})
		if err != nil {
			return false, fmt.Errorf("sync lease group %s: %w", l.group, err)
		}
		if errors.Is(sres.Error, kafka.RebalanceInProgress) {
			continue
		}
		if sres.Error != nil {
			return false, fmt.Errorf("sync lease group %s: %w", l.group, sres.Error)
		}
		return slices.Contains(sres.Assignment.AssignedPartitions[l.topic], 0), nil
	}
	return false, fmt.Errorf("join lease group %s: the group kept rebalancing", l.group)
}

// assign gives partition 0 of topic to the member that owns it, else to
// leader, and nothing to the others.
func assign(members []kafka.JoinGroupResponseMember, topic, leader string) []kafka.SyncGroupRequestAssignment {
	holder := leader
	for _, m := range members {
		if slices.Contains(m.Metadata.OwnedPartitions[topic], 0) {
			holder = m.ID
			break
		}
	}
	out := make([]kafka.SyncGroupRequestAssignment, 0, len(members))
	for _, m := range members {
		a := kafka.GroupProtocolAssignment{AssignedPartitions: map[string][]int{}}
		if m.ID == holder {
			a.AssignedPartitions[topic] = []int{0}
		}
		out = append(out, kafka.SyncGroupRequestAssignment{MemberID: m.ID, Assignment: a})
	}
	return out
}

// keep heartbeats until release; it rejoins on a rebalance and reports the
// lease lost when the group moved it, dropped this member, or no heartbeat
// was answered for a session.
func (l *lease) keep(ctx context.Context) {
	defer close(l.done)
	tick := time.NewTicker(leaseHeartbeat)
	defer tick.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		state, err := l.heartbeat(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if time.Since(lastOK) > leaseSession {
				l.lose(fmt.Errorf("no heartbeat answered for %v: %w", leaseSession, err))
				return
			}
			continue
		case state == stateGone:
			l.lose(errors.New("the lease group dropped this member"))
			return
		case state == "PreparingRebalance":
			held, err := l.join(ctx, true)
			if ctx.Err() != nil {
				return
			}
			if err != nil || !held {
				l.lose(errors.Join(err, errors.New("the lease group gave the ledger to another member")))
				return
			}
		}
		lastOK = time.Now()
	}
}

// stateGone is the state heartbeat reports when this member is no longer
// in the group.
const stateGone = "Gone"

// heartbeat keeps the session alive and returns the group's state, or
// stateGone. The state is read with DescribeGroups: kafka-go's Heartbeat
// response decodes the error code from the wrong field (v1 and later), so a
// rebalance never shows there.
func (l *lease) heartbeat(ctx context.Context) (string, error) {
	if _, err := l.client.Heartbeat(ctx, &kafka.HeartbeatRequest{
		GroupID: l.group, GenerationID: int32(l.generation), MemberID: l.memberID,
	}); err != nil {
		return "", fmt.Errorf("heartbeat: %w", err)
	}
	res, err := l.client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{l.group}})
	if err != nil {
		return "", fmt.Errorf("describe lease group %s: %w", l.group, err)
	}
	for _, g := range res.Groups {
		if g.Error != nil {
			return "", fmt.Errorf("describe lease group %s: %w", l.group, g.Error)
		}
		for _, m := range g.Members {
			if m.MemberID == l.memberID {
				return g.GroupState, nil
			}
		}
	}
	return stateGone, nil
}

func (l *lease) lose(err error) {
	l.lost(fmt.Errorf("%w (consumer group %s): %w", ErrLeaseLost, l.group, err))
}

// release stops the heartbeats and leaves the group, so that the next
// replay need not wait for the session to expire.
func (l *lease) release() {
	l.once.Do(func() {
		l.stop()
		<-l.done
		l.leave()
	})
}

// leave sends LeaveGroup for this member, if it joined; errors are ignored
// (the session expires on its own).
func (l *lease) leave() {
	if l.memberID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	_, _ = l.client.LeaveGroup(ctx, &kafka.LeaveGroupRequest{GroupID: l.group, Members: []kafka.LeaveGroupRequestMember{{ID: l.memberID}}})
}
