package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/metadata"
)

// maxBatch and maxBatchBytes bound the records of one produce request and
// their keys' and values' bytes (a request carries one record at least),
// well under a broker's default limit of 1 MiB a batch.
const (
	maxBatch      = 256
	maxBatchBytes = 256 << 10
)

// errClosed is the answer to a write after Close.
var errClosed = errors.New("ledger closed")

// partitionWriter sends the ledger writes of one source partition, one
// produce request at a time: each request carries the writes that queued
// while the one before it was outstanding (within maxBatch and
// maxBatchBytes), so a burst of deliveries costs few requests and a write
// waits behind at most one request besides its own. Its goroutine is started by the Ledger and ends
// on Close, after sending what was queued.
type partitionWriter struct {
	l      *Ledger
	source int
	wake   chan struct{} // capacity 1: something was queued

	mu     sync.Mutex
	queue  []*pendingWrite
	closed bool
}

// pendingWrite is one record waiting for its produce request; done
// (capacity 1) receives the request's result.
type pendingWrite struct {
	key, value []byte
	done       chan error
}

// enqueue queues p, or reports false once the writer has stopped.
func (pw *partitionWriter) enqueue(p *pendingWrite) bool {
	pw.mu.Lock()
	if pw.closed {
		pw.mu.Unlock()
		return false
	}
	pw.queue = append(pw.queue, p)
	pw.mu.Unlock()
	select {
	case pw.wake <- struct{}{}:
	default:
	}
	return true
}

// take moves the first queued writes, up to maxBatch and maxBatchBytes,
// into batch; once stop is set the writer accepts no more.
func (pw *partitionWriter) take(batch []*pendingWrite, stop bool) []*pendingWrite {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.closed = pw.closed || stop
	n, size := 0, 0
	for n < len(pw.queue) && n < maxBatch {
		size += len(pw.queue[n].key) + len(pw.queue[n].value)
		if n > 0 && size > maxBatchBytes {
			break
		}
		n++
	}
	batch = append(batch, pw.queue[:n]...)
	rest := copy(pw.queue, pw.queue[n:])
	clear(pw.queue[rest:])
	pw.queue = pw.queue[:rest]
	return batch
}

// run sends the queued writes until the Ledger closes, then sends what is
// left and returns.
func (pw *partitionWriter) run() {
	defer pw.l.wg.Done()
	var batch []*pendingWrite
	var recs []kafka.Record
	for {
		stop := false
		select {
		case <-pw.wake:
		case <-pw.l.closing:
			stop = true
		}
		for {
			batch = pw.take(batch[:0], stop)
			if len(batch) == 0 {
				break
			}
			var err error
			recs, err = pw.l.produce(pw.source, batch, recs[:0])
			for _, p := range batch {
				p.done <- err
			}
			clear(batch)
			clear(recs)
		}
		if stop {
			return
		}
	}
}

// produce sends batch in one produce request to the ledger partition of
// source partition source, acknowledged by every in-sync replica; recs is
// room for the request's records, returned for reuse.
func (l *Ledger) produce(source int, batch []*pendingWrite, recs []kafka.Record) ([]kafka.Record, error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.WriteTimeout)
	defer cancel()
	n, err := l.partitions(ctx)
	if err != nil {
		return recs, err
	}
	for _, p := range batch {
		recs = append(recs, kafka.Record{Key: kafka.NewBytes(p.key), Value: kafka.NewBytes(p.value)})
	}
	resp, err := l.client.Produce(ctx, &kafka.ProduceRequest{
		Topic: l.cfg.Topic, Partition: source % n, RequiredAcks: kafka.RequireAll,
		Records: kafka.NewRecordReader(recs...),
	})
	if err != nil {
		return recs, fmt.Errorf("produce: %w", err)
	}
	return recs, resp.Error
}

// partitions returns the ledger topic's partition count from the
// transport's metadata cache (refreshed by the transport), asking the
// transport directly as kafka-go's Writer does: Client.Metadata would
// build a copy of the whole answer for each request.
func (l *Ledger) partitions(ctx context.Context) (int, error) {
	m, err := l.cfg.Transport.RoundTrip(ctx, l.client.Addr, &metadata.Request{TopicNames: []string{l.cfg.Topic}})
	if err != nil {
		return 0, fmt.Errorf("metadata of %s: %w", l.cfg.Topic, err)
	}
	resp, ok := m.(*metadata.Response)
	if !ok {
		return 0, fmt.Errorf("metadata of %s: unexpected response %T", l.cfg.Topic, m)
	}
	for _, t := range resp.Topics {
		if t.Name != l.cfg.Topic {
			continue
		}
		if t.ErrorCode != 0 {
			return 0, fmt.Errorf("metadata of %s: %w", l.cfg.Topic, kafka.Error(t.ErrorCode))
		}
		if len(t.Partitions) == 0 {
			break
		}
		return len(t.Partitions), nil
	}
	return 0, fmt.Errorf("metadata of %s: %w", l.cfg.Topic, kafka.UnknownTopicOrPartition)
}

// writer returns the partitionWriter of source partition source, starting
// it on first use, or errClosed after Close.
func (l *Ledger) writer(source int) (*partitionWriter, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.closed {
		return nil, errClosed
	}
	pw := l.writers[source]
	if pw == nil {
		pw = &partitionWriter{l: l, source: source, wake: make(chan struct{}, 1)}
		l.writers[source] = pw
		l.wg.Add(1)
		go pw.run()
	}
	return pw, nil
}

// send queues key and value on source partition source's writer and waits
// for its produce request, or for ctx: then the record may still be
// written.
func (l *Ledger) send(ctx context.Context, source int, key, value []byte) error {
	pw, err := l.writer(source)
	if err != nil {
		return err
	}
	p := pendingWrites.Get().(*pendingWrite)
	p.key, p.value = key, value
	if !pw.enqueue(p) {
		pendingWrites.Put(p)
		return errClosed
	}
	select {
	case err := <-p.done:
		p.key, p.value = nil, nil
		pendingWrites.Put(p)
		return err
	case <-ctx.Done():
		return ctx.Err() // p's result comes later: p is not reused
	}
}

// pendingWrites recycles the pendingWrites whose result was received.
var pendingWrites = sync.Pool{New: func() any { return &pendingWrite{done: make(chan error, 1)} }}
