package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// Restore reads the ledger partition holding the records of source
// partition partition, from its first offset to its end when called, into
// the guard's state, and returns how many records it read. A record that
// cannot be decoded is passed over (counted, not fatal): the guard then
// knows less about one order, and at least once still holds.
func (l *Ledger) Restore(ctx context.Context, partition int) (records int, err error) {
	start := time.Now()
	n, err := Partitions(ctx, l.cfg.Transport, l.cfg.Brokers, l.cfg.Topic)
	if err != nil {
		err = fmt.Errorf("restore ledger: %w", err)
		l.setFailing("ledger restore failing, partition %d not consumed: %v", partition, err)
		return 0, err
	}
	if n == 0 {
		return 0, fmt.Errorf("restore ledger: %s has no partitions", l.cfg.Topic)
	}
	lp := partition % n
	now := time.Now()
	records, err = l.Scan(ctx, lp, func(m kafka.Message) {
		if m.Value == nil {
			l.state.remove(m.Key)
			return
		}
		if g, ok := decodeGuard(m.Value); ok {
			l.state.put(l.state.keyID(m.Key), g, now, true)
		}
	})
	if err != nil {
		err = fmt.Errorf("restore ledger partition %s/%d: %w", l.cfg.Topic, lp, err)
		l.setFailing("ledger restore failing, partition %d not consumed: %v", partition, err)
		return records, err
	}
	l.obs.LedgerRestored(records, time.Since(start))
	l.mu.Lock()
	l.failing = ""
	l.mu.Unlock()
	return records, nil
}

// Scan calls fn with every record of ledger partition lp, from its first
// offset to its end when called, in order, and returns how many it read.
func (l *Ledger) Scan(ctx context.Context, lp int, fn func(kafka.Message)) (int, error) {
	return scanPartition(ctx, l.cfg.Dialer, l.cfg.Brokers, l.cfg.Topic, lp, l.cfg.ReadTimeout, fn)
}

func scanPartition(ctx context.Context, dialer *kafka.Dialer, brokers []string, topic string, lp int,
	timeout time.Duration, fn func(kafka.Message)) (int, error) {
	conn, err := dialLeader(ctx, dialer, brokers, topic, lp)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	first, last, err := conn.ReadOffsets()
	if err != nil {
		return 0, fmt.Errorf("offsets: %w", err)
	}
	if last <= first {
		return 0, nil
	}
	if _, err := conn.Seek(first, kafka.SeekAbsolute); err != nil {
		return 0, fmt.Errorf("seek: %w", err)
	}
	records := 0
	next := first
	for next < last {
		if ctx.Err() != nil {
			return records, ctx.Err()
		}
		_ = conn.SetReadDeadline(time.Now().Add(timeout))
		b := conn.ReadBatch(1, 16<<20)
		got := 0
		for {
			m, err := b.ReadMessage()
			if err != nil {
				break
			}
			if m.Offset >= last {
				next = last
				break
			}
			fn(m)
			records++
			got++
			next = m.Offset + 1
		}
		if err := b.Close(); err != nil && !errors.Is(err, io.EOF) {
			if ctx.Err() != nil {
				return records, ctx.Err()
			}
			return records, fmt.Errorf("read at offset %d: %w", next, err)
		}
		if got == 0 { // the rest is compacted away or control records
			break
		}
		if next < last {
			if _, err := conn.Seek(next, kafka.SeekAbsolute); err != nil {
				return records, fmt.Errorf("seek: %w", err)
			}
		}
	}
	return records, nil
}

// dialLeader connects to the leader of topic's partition lp through any of
// the brokers.
func dialLeader(ctx context.Context, dialer *kafka.Dialer, brokers []string, topic string, lp int) (*kafka.Conn, error) {
	var errs []error
	for _, b := range brokers {
		conn, err := dialer.DialContext(ctx, "tcp", b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		parts, err := conn.ReadPartitions(topic)
		conn.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range parts {
			if p.ID == lp {
				addr := net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port))
				lc, err := dialer.DialLeader(ctx, "tcp", addr, topic, lp)
				if err != nil {
					return nil, fmt.Errorf("dial the leader of %s/%d: %w", topic, lp, err)
				}
				return lc, nil
			}
		}
		return nil, fmt.Errorf("%s has no partition %d", topic, lp)
	}
	return nil, fmt.Errorf("dial the brokers: %w", errors.Join(errs...))
}
