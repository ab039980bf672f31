package consumer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// topicIDsTimeout bounds one read of the source topics' ids.
const topicIDsTimeout = 5 * time.Second

// topicID is a topic's id (Metadata v10+); zero means unknown: the topic
// does not exist or the broker predates topic ids.
type topicID [16]byte

// knownTopicIDs holds, across generations, the last non-zero id seen of
// each source topic. It is safe for concurrent use.
type knownTopicIDs struct {
	mu    sync.Mutex
	byTop map[string]topicID
}

// changed returns the topics whose id in now is non-zero and differs from
// a known non-zero id: topics deleted and created again since. With record
// set it then keeps now's non-zero ids as the known ones.
func (k *knownTopicIDs) changed(now map[string]topicID, record bool) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.byTop == nil {
		k.byTop = map[string]topicID{}
	}
	var out []string
	for t, id := range now {
		if id == (topicID{}) {
			continue
		}
		if old, ok := k.byTop[t]; ok && old != id {
			out = append(out, t)
		}
		if record {
			k.byTop[t] = id
		}
	}
	return out
}

// newTopicIDClient returns the franz-go client that reads topic ids, which
// kafka-go's Metadata (v8 at most) does not carry; Run owns and closes it.
func (c *Consumer) newTopicIDClient() (*kgo.Client, error) {
	opts := append([]kgo.Opt{kgo.SeedBrokers(c.cfg.Brokers...)}, c.cfg.KgoOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("topic id client: %w", err)
	}
	return cl, nil
}

// readTopicIDs returns the ids of the source topics that exist; a missing
// topic, or a broker without topic ids, gives no or a zero id.
func (c *Consumer) readTopicIDs(ctx context.Context) (map[string]topicID, error) {
	if c.idClient == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, topicIDsTimeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range c.cfg.Topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, c.idClient)
	if err != nil {
		return nil, fmt.Errorf("topic ids of %v: %w", c.cfg.Topics, err)
	}
	ids := map[string]topicID{}
	for _, t := range resp.Topics {
		if t.Topic == nil || t.ErrorCode != 0 {
			continue // missing (or not readable now): no id to compare
		}
		ids[*t.Topic] = topicID(t.TopicID)
	}
	return ids, nil
}

// recreatedTopics reads the source topics' ids, records them and returns
// the topics recreated since their id was last seen, each logged as an
// error: their partitions restart from the earliest offset (see checkStart).
// A failed read returns none.
func (c *Consumer) recreatedTopics(ctx context.Context, gen int32) map[string]bool {
	ids, err := c.readTopicIDs(ctx)
	if err != nil {
		c.warnings.Warn(&c.log, "topic ids").Err(err).Msg("cannot read the source topics' ids; a recreated topic is noticed at the next read")
		return nil
	}
	for t, id := range ids {
		if id == (topicID{}) {
			c.noTopicIDs.Do(func() {
				c.log.Warn().Str("topic", t).Msg("the brokers report no topic ids (Kafka before 2.8): a deleted and recreated source topic is noticed only when a fetch position is past its end")
			})
		}
	}
	out := map[string]bool{}
	for _, t := range c.topicIDs.changed(ids, true) {
		c.log.Error().Str("topic", t).Int32("generation", gen).
			Msg("source topic was deleted and recreated (new topic id); restarting its partitions from the earliest offset")
		out[t] = true
	}
	return out
}

// sameTopicID returns nil when topic's id, read after the call began, is the
// one recorded at the generation's start, or either is unknown; an error
// wrapping errRecreated when they differ; the read's error when the ids
// cannot be read (the fetch is then retried: no record is handed on
// unchecked).
func (c *Consumer) sameTopicID(ctx context.Context, topic string) error {
	ids, err := c.freshIDs.get(ctx, c.readTopicIDs)
	if err != nil {
		return err
	}
	if len(c.topicIDs.changed(map[string]topicID{topic: ids[topic]}, false)) > 0 {
		return fmt.Errorf("%w: %s has a new topic id", errRecreated, topic)
	}
	return nil
}

// freshTopicIDs serves reads of the source topics' ids that start after
// they were asked for, one read at a time: the fetches that ask while a
// read runs share the next one, run by one of them. The zero value is ready.
type freshTopicIDs struct {
	mu      sync.Mutex
	running bool
	next    *idRead // the read the askers since the running one started wait for
}

// idRead is one read of the ids, shared by the askers that joined it before
// it started.
type idRead struct {
	done chan struct{} // closed once ids and err are set
	lead chan struct{} // one token: its taker runs the read
	ids  map[string]topicID
	err  error
}

// errReaderLeft marks a shared read whose runner's context ended first: the
// others wait for the next read.
var errReaderLeft = errors.New("topic id read abandoned")

// get returns the ids from a read started after get was called.
func (f *freshTopicIDs) get(ctx context.Context, read func(context.Context) (map[string]topicID, error)) (map[string]topicID, error) {
	for {
		f.mu.Lock()
		if f.next == nil {
			f.next = &idRead{done: make(chan struct{}), lead: make(chan struct{}, 1)}
			if !f.running {
				f.next.lead <- struct{}{}
			}
		}
		r := f.next
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err() // a token left in r.lead goes to r's next asker
		case <-r.done:
			if errors.Is(r.err, errReaderLeft) {
				continue
			}
			return r.ids, r.err
		case <-r.lead:
			return f.run(ctx, r, read)
		}
	}
}

// run performs r's read, then hands the token to the read askers formed
// meanwhile, if any.
func (f *freshTopicIDs) run(ctx context.Context, r *idRead, read func(context.Context) (map[string]topicID, error)) (map[string]topicID, error) {
	f.mu.Lock()
	f.running = true
	f.next = nil // later askers wait for the next read
	f.mu.Unlock()
	r.ids, r.err = read(ctx)
	if ctx.Err() != nil {
		r.err = errReaderLeft
	}
	close(r.done)
	f.mu.Lock()
	f.running = false
	if f.next != nil {
		f.next.lead <- struct{}{}
	}
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.ids, r.err
}
