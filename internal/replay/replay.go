// Package replay reads the dead-letter topic and puts records back on their
// original topic once the cause of their failure is fixed (docs/runbook.md).
//
// A run reads every partition of the dead-letter topic from its earliest
// offset up to the high watermark taken when the run starts, so it always
// terminates. It uses no consumer group and commits nothing. Each selected
// record is republished with its original key, value and headers, every
// ordersync.* header dropped except ordersync.replay.count, which is set to
// the previous count + 1.
//
// Idempotence comes from a ledger topic (by default "<dlq>.replayed"): after
// a record is republished, its dead-letter position is written there, and
// every run first reads the ledger and passes over the records it lists. A
// crash between the republish and the ledger write republishes that batch
// again on the next run: at least once, never lost. An interrupted run
// (SIGTERM) finishes its current batch and ledger write first; a republish
// without a clear answer is reported as outcome unknown.
//
// A run that republishes holds a lease on its ledger for its whole length:
// partition 0 of the ledger topic in the consumer group LeaseGroup(ledger).
// A second run on the same ledger refuses to start (ErrLeaseHeld, naming the
// holder); dry runs take no lease. The ledger must be compacted
// (ErrLedgerNotCompacted), or retention would expire its entries.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/dlq"
)

// DefaultMaxReplays is the replay limit used when Options.MaxReplays is 0.
const DefaultMaxReplays = 3

// LedgerSuffix names the default ledger topic: the dead-letter topic + suffix.
const LedgerSuffix = ".replayed"

const (
	// batchSize bounds the records republished by one synchronous write,
	// and so the duplicates a crash before the ledger write can cause.
	batchSize = 100
	// progressEvery is the interval between progress lines.
	progressEvery = 2 * time.Second
)

// Static errors of Run and Inspect; option errors wrap them with the value.
var (
	ErrNoBrokers      = errors.New("no brokers")
	ErrNoDLQTopic     = errors.New("no dead-letter topic")
	ErrUnknownClass   = errors.New("unknown error class")
	ErrEmptyWindow    = errors.New("until is not after since")
	ErrNegative       = errors.New("must not be negative")
	ErrTopicLoop      = errors.New("would write into the dead-letter topic")
	ErrDLQNotFound    = errors.New("dead-letter topic does not exist")
	ErrBadLedger      = errors.New("ledger record is not a ledger entry")
	ErrNoProgress     = errors.New("no records below the high watermark")
	ErrLedgerConflict = errors.New("ledger topic is the dead-letter or target topic")
	// ErrLedgerNotCompacted: the ledger topic's cleanup.policy lacks
	// compact, so retention would expire its entries and a later run
	// republish what they list again.
	ErrLedgerNotCompacted = errors.New("replay ledger topic is not compacted (cleanup.policy must include compact: " +
		"retention would expire its entries and a later run republish them again)")
	// ErrNoDestination: the --to topic does not exist.
	ErrNoDestination = errors.New("destination topic does not exist")
)

// Options selects dead-letter records and says where to put them.
type Options struct {
	// Brokers are the Kafka bootstrap addresses.
	Brokers []string
	// Transport carries TLS and SASL settings. Nil: a private transport
	// with defaults, closed when the call returns.
	Transport *kafka.Transport
	// RequestTimeout bounds every Kafka request (fetch, offsets, metadata,
	// topic creation, produce); past it the call fails wrapping
	// ErrNoAnswer. 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// DLQTopic is the dead-letter topic to read.
	DLQTopic string
	// LedgerTopic records what was republished; "" means DLQTopic + LedgerSuffix.
	LedgerTopic string
	// To, when set, replaces each record's original topic as destination.
	To string
	// Classes keeps records of these error classes; empty keeps all.
	Classes []string
	// Since and Until keep records with Since <= failed_at < Until; a zero
	// bound is open. A record without a readable failed_at fails any bound.
	Since, Until time.Time
	// Order keeps the records of one order: by key or by the order number
	// in the value.
	Order string
	// Merchants keeps the records of these sub-merchants and Accounts those
	// of these merchant accounts (dlq.HeaderSubMchID, dlq.HeaderAccount);
	// empty keeps all.
	Merchants, Accounts []string
	// Limit stops a run after the first Limit records that pass the filters
	// (in partition, then offset order), counting those already replayed,
	// so that the same command selects the same records again. 0: no limit.
	Limit int
	// MaxReplays leaves alone records already replayed that many times;
	// 0 means DefaultMaxReplays.
	MaxReplays int
	// Force republishes records over MaxReplays too.
	Force bool
	// DryRun lists what would be republished and changes nothing: no
	// republish, no ledger write, no topic created.
	DryRun bool
	// Progress, when set, receives a progress line every two seconds.
	Progress io.Writer
	// Guard, when set, says why the worker's delivery ledger would skip a
	// record's original value and headers ("" when it would upload it): a
	// dry run lists such records as guard-skips with the reason.
	Guard func(value []byte, headers []kafka.Header) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// normalized returns o with defaults applied, or an error naming the bad option.
func (o Options) normalized() (Options, error) {
	if len(o.Brokers) == 0 {
		return o, ErrNoBrokers
	}
	if o.DLQTopic == "" {
		return o, ErrNoDLQTopic
	}
	if o.LedgerTopic == "" {
		o.LedgerTopic = o.DLQTopic + LedgerSuffix
	}
	for _, c := range o.Classes {
		if !slices.Contains(dlq.Classes, c) {
			return o, fmt.Errorf("class %q: %w", c, ErrUnknownClass)
		}
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Until.After(o.Since) {
		return o, ErrEmptyWindow
	}
	if o.Limit < 0 {
		return o, fmt.Errorf("limit %d: %w", o.Limit, ErrNegative)
	}
	if o.MaxReplays < 0 {
		return o, fmt.Errorf("max replays %d: %w", o.MaxReplays, ErrNegative)
	}
	if o.MaxReplays == 0 {
		o.MaxReplays = DefaultMaxReplays
	}
	if o.To == o.DLQTopic && o.To != "" {
		return o, fmt.Errorf("to %s: %w", o.To, ErrTopicLoop)
	}
	if o.LedgerTopic == o.DLQTopic || o.LedgerTopic == o.To {
		return o, fmt.Errorf("ledger %s: %w", o.LedgerTopic, ErrLedgerConflict)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// match reports whether d passes the class, time, merchant and order filters.
func (o Options) match(d deadLetter) bool {
	if len(o.Classes) > 0 && !slices.Contains(o.Classes, d.dl.Failure.Class) {
		return false
	}
	if (!o.Since.IsZero() || !o.Until.IsZero()) && d.dl.FailedAt.IsZero() {
		return false
	}
	if !o.Since.IsZero() && d.dl.FailedAt.Before(o.Since) {
		return false
	}
	if !o.Until.IsZero() && !d.dl.FailedAt.Before(o.Until) {
		return false
	}
	if len(o.Merchants) > 0 && !slices.Contains(o.Merchants, d.dl.Failure.SubMchID) {
		return false
	}
	if len(o.Accounts) > 0 && !slices.Contains(o.Accounts, d.dl.Failure.Account) {
		return false
	}
	return o.Order == "" || d.matchesOrder(o.Order)
}

// overLimit reports whether d must be left alone for its replay count.
func (o Options) overLimit(d deadLetter) bool {
	return !o.Force && (d.dl.BadReplayCount || d.dl.ReplayCount >= o.MaxReplays)
}

// Summary counts what a run did with the dead-letter records it read.
type Summary struct {
	// DryRun is set when nothing was changed; Republished then counts the
	// records that would have been.
	DryRun bool
	// Read counts the dead-letter records read.
	Read int
	// Republished counts the records written to their destination.
	Republished int
	// Filtered counts the records passed over by the class, time or order filter.
	Filtered int
	// AlreadyReplayed counts the records the ledger lists as republished.
	AlreadyReplayed int
	// OverReplayLimit counts the records left alone for their replay count.
	OverReplayLimit int
	// Unroutable counts records with no original topic (and no To), or one
	// that is the dead-letter topic itself.
	Unroutable int
	// Omitted counts records written without the original value and
	// headers (too large for the dead-letter topic): left alone, the
	// original is at its source offset.
	Omitted int
	// LimitReached is set when the run stopped at Options.Limit.
	LimitReached bool
	// GuardSkips counts, in a dry run with Options.Guard, the records
	// that would be republished but skipped by the delivery ledger.
	GuardSkips int
	// OutcomeUnknown counts records whose republish got no clear answer
	// (no answer in time, a broken connection): they may be on their
	// destination, and the ledger does not list them, so a rerun
	// republishes them again.
	OutcomeUnknown int
}

// String renders the summary as one line.
func (s Summary) String() string {
	verb := "republished"
	if s.DryRun {
		verb = "would republish"
	}
	line := fmt.Sprintf("%s %d, passed over by filter %d, already replayed %d, over the replay limit %d, unroutable %d (read %d dead-letter records)",
		verb, s.Republished, s.Filtered, s.AlreadyReplayed, s.OverReplayLimit, s.Unroutable, s.Read)
	if s.Omitted > 0 {
		line += fmt.Sprintf("; %d without the original (too large for the dead-letter topic: republish it from its source offset)", s.Omitted)
	}
	if s.OutcomeUnknown > 0 {
		line += fmt.Sprintf("; outcome unknown %d (no clear answer from Kafka: they may be on their destination, and a rerun republishes them again)", s.OutcomeUnknown)
	}
	if s.GuardSkips > 0 {
		line += fmt.Sprintf("; of those, %d the delivery ledger would skip (guard-skip lines say why)", s.GuardSkips)
	}
	if s.LimitReached {
		line += "; stopped at the limit"
	}
	return line
}

// Run republishes the selected dead-letter records and writes one line per
// record it republished (or would, in a dry run), left alone for its replay
// count or for lacking the original, or could not route, to out. The
// summary counts what was done even when an error stopped the run.
func Run(ctx context.Context, opts Options, out io.Writer) (Summary, error) {
	o, err := opts.normalized()
	if err != nil {
		return Summary{DryRun: opts.DryRun}, err
	}
	own, done := ownTransport(o.Transport)
	defer done()
	transport := o.bounded(own)
	client := &kafka.Client{Addr: kafka.TCP(o.Brokers...), Transport: transport}

	spans, replicas, ok, err := topicSpans(ctx, client, o.DLQTopic)
	if err != nil {
		return Summary{DryRun: o.DryRun}, err
	}
	if !ok {
		return Summary{DryRun: o.DryRun}, fmt.Errorf("%s: %w", o.DLQTopic, ErrDLQNotFound)
	}
	if o.To != "" {
		ok, err := topicExists(ctx, client, o.To)
		if err != nil {
			return Summary{DryRun: o.DryRun}, err
		}
		if !ok {
			return Summary{DryRun: o.DryRun}, fmt.Errorf("to %s: %w", o.To, ErrNoDestination)
		}
	}
	exists, err := topicExists(ctx, client, o.LedgerTopic)
	if err != nil {
		return Summary{DryRun: o.DryRun}, err
	}
	if exists {
		if err := checkLedgerPolicy(ctx, client, o.LedgerTopic); err != nil {
			return Summary{DryRun: o.DryRun}, err
		}
	}
	runCtx := ctx
	if !o.DryRun {
		if !exists {
			if err := createLedger(ctx, client, o.LedgerTopic, replicas); err != nil {
				return Summary{DryRun: o.DryRun}, err
			}
		}
		var cancelRun context.CancelCauseFunc
		runCtx, cancelRun = context.WithCancelCause(ctx)
		defer cancelRun(nil)
		l, err := acquireLease(ctx, client, o.LedgerTopic, cancelRun)
		if err != nil {
			return Summary{DryRun: o.DryRun}, err
		}
		defer l.release()
	}
	led, _, err := loadLedger(runCtx, client, o.LedgerTopic, o.DLQTopic)
	if err != nil {
		return Summary{DryRun: o.DryRun}, err
	}

	r := &runner{opts: o, client: client, ledger: led, out: &stickyWriter{w: out}, total: spanTotal(spans), exists: map[string]bool{}}
	if o.To != "" {
		r.exists[o.To] = true
	}
	r.sum.DryRun = o.DryRun
	r.lastProgress = o.Now()
	if !o.DryRun {
		// kafka-go's default attempts: a republish retries what the broker
		// reports retriable before the batch counts as failed.
		if r.producer, err = dlq.NewProducer(dlq.ProducerConfig{Brokers: o.Brokers, Transport: transport,
			BatchSize: batchSize, MaxAttempts: 10}); err != nil {
			return Summary{DryRun: o.DryRun}, err
		}
	}
	err = r.run(runCtx, client, spans)
	if cause := context.Cause(runCtx); errors.Is(cause, ErrLeaseLost) {
		err = errors.Join(err, cause)
	}
	if r.producer != nil {
		err = errors.Join(err, r.producer.Close())
	}
	if werr := r.out.err; werr != nil {
		err = errors.Join(err, fmt.Errorf("write output: %w", werr))
	}
	return r.sum, err
}

// ownTransport returns t, or a private transport and the function that
// closes it.
func ownTransport(t *kafka.Transport) (*kafka.Transport, func()) {
	if t != nil {
		return t, func() {}
	}
	own := &kafka.Transport{}
	return own, own.CloseIdleConnections
}

func spanTotal(spans []span) int64 {
	var n int64
	for _, s := range spans {
		n += s.End - s.First
	}
	return n
}

// pending is a record waiting in the current republish batch.
type pending struct {
	d  deadLetter
	to string
}

// runner holds the state of one Run.
type runner struct {
	opts         Options
	client       *kafka.Client
	exists       map[string]bool // destination topics looked up, whether each exists
	ledger       ledger
	producer     *dlq.Producer // republishes a batch with one request; nil in a dry run
	out          *stickyWriter
	sum          Summary
	selected     int
	total        int64
	lastProgress time.Time
	batch        []pending
	err          error // a destination look-up that failed
}

func (r *runner) run(ctx context.Context, client *kafka.Client, spans []span) error {
	for _, s := range spans {
		if err := scanSpan(ctx, client, r.opts.DLQTopic, s, func(m message) (bool, error) {
			return r.visit(ctx, m)
		}); err != nil {
			err = errors.Join(err, r.flush(ctx))
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted (the current batch was finished): %w", err)
			}
			return err
		}
		if r.sum.LimitReached {
			break
		}
	}
	return r.flush(ctx)
}

// visit decides what to do with one dead-letter record; false stops the run.
// Once ctx is done (SIGTERM, the lease lost) it takes no more records, so
// an interrupted run finishes only the batch it holds.
func (r *runner) visit(ctx context.Context, m message) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	r.sum.Read++
	r.progress()
	d := decode(m)
	if !r.opts.match(d) {
		r.sum.Filtered++
		return true, nil
	}
	r.selected++
	r.sum.LimitReached = r.opts.Limit > 0 && r.selected >= r.opts.Limit
	goOn := !r.sum.LimitReached

	if r.ledger.has(r.opts.DLQTopic, m) {
		r.sum.AlreadyReplayed++
		return goOn, nil
	}
	to := r.opts.To
	if to == "" {
		to = d.dl.Topic
	}
	switch {
	case d.dl.Omitted > 0:
		r.sum.Omitted++
		r.line("original-omitted", d, to)
	case to == "" || to == r.opts.DLQTopic:
		r.sum.Unroutable++
		r.line("unroutable", d, to)
	case !r.destination(ctx, to):
		if r.err != nil {
			return false, r.err
		}
		r.sum.Unroutable++
		d.Reason = "destination topic " + to + " does not exist"
		r.line("unroutable", d, to)
	case r.opts.overLimit(d):
		r.sum.OverReplayLimit++
		r.line("over-replay-limit", d, to)
	case r.opts.DryRun:
		r.sum.Republished++
		if why := r.guard(d); why != "" {
			r.sum.GuardSkips++
			d.Reason = "the delivery ledger would skip it: " + why
			r.line("guard-skip", d, to)
			break
		}
		r.line("would-republish", d, to)
	default:
		r.batch = append(r.batch, pending{d: d, to: to})
		if len(r.batch) >= batchSize {
			if err := r.flush(ctx); err != nil {
				return false, err
			}
		}
	}
	return goOn, nil
}

// flush republishes the current batch with one synchronous write, then
// records the records that were written in the ledger. Both run under a
// context that ctx's cancellation (SIGTERM) does not reach, bounded by
// finishBound, so that an interrupted run leaves no batch written but
// unrecorded. A record whose write got no clear answer is listed as
// outcome unknown and left out of the ledger.
func (r *runner) flush(ctx context.Context) error {
	if len(r.batch) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.finishBound())
	defer cancel()
	batch := r.batch
	r.batch = nil
	msgs := make([]kafka.Message, len(batch))
	for i, p := range batch {
		msgs[i] = p.d.republished(p.to)
	}
	werr := r.producer.Write(ctx, msgs...)
	var perMsg kafka.WriteErrors
	errors.As(werr, &perMsg)

	now := r.opts.Now()
	var entries []kafka.Message
	unknown := 0
	for i, p := range batch {
		if werr != nil && (perMsg == nil || perMsg[i] != nil) {
			cause := werr
			if perMsg != nil {
				cause = perMsg[i]
			}
			if outcomeUnknown(cause) {
				unknown++
				r.sum.OutcomeUnknown++
				p.d.Reason = "no clear answer to the republish: " + cause.Error()
				r.line("outcome-unknown", p.d, p.to)
			}
			continue
		}
		e, err := ledgerMessage(r.opts.LedgerTopic, r.opts.DLQTopic, p.d, p.to, now)
		if err != nil {
			return errors.Join(werr, err)
		}
		entries = append(entries, e)
		r.sum.Republished++
		r.line("republished", p.d, p.to)
	}
	if werr != nil {
		werr = fmt.Errorf("republish %d of %d records (outcome unknown for %d): %w", len(batch)-len(entries), len(batch), unknown, werr)
	}
	if len(entries) == 0 {
		return werr
	}
	if err := r.producer.Write(ctx, entries...); err != nil {
		return errors.Join(werr, fmt.Errorf("record %d republished records in ledger %s (a rerun republishes them again): %w",
			len(entries), r.opts.LedgerTopic, err))
	}
	return werr
}

// destination reports whether topic exists, looking it up once a run; a
// failed look-up is kept in r.err and reports false.
func (r *runner) destination(ctx context.Context, topic string) bool {
	ok, seen := r.exists[topic]
	if seen {
		return ok
	}
	ok, err := topicExists(ctx, r.client, topic)
	if err != nil {
		r.err = err
		return false
	}
	r.exists[topic] = ok
	return ok
}

// outcomeUnknown reports whether a failed write may still have reached
// the broker: anything but an error code the broker answered with, or a
// record refused for size before it was sent.
func outcomeUnknown(err error) bool {
	var kerr kafka.Error
	return !errors.As(err, &kerr) && !dlq.TooLarge(err)
}

// guard returns why the delivery ledger would skip d's original, or "".
func (r *runner) guard(d deadLetter) string {
	if r.opts.Guard == nil {
		return ""
	}
	return r.opts.Guard(d.Value, d.Headers)
}

// line writes one line about d to the output.
func (r *runner) line(action string, d deadLetter, to string) {
	fmt.Fprintf(r.out, "%s source=%s dlq=%s/%d/%d order=%s class=%s replays=%d to=%s reason=%s\n",
		action, d.dl.Source(), r.opts.DLQTopic, d.Partition, d.Offset,
		strconv.Quote(d.OrderNumber()), orDash(d.dl.Failure.Class), d.dl.ReplayCount, orDash(to), strconv.Quote(d.Reason))
}

// progress writes a progress line when progressEvery has passed.
func (r *runner) progress() {
	if r.opts.Progress == nil {
		return
	}
	now := r.opts.Now()
	if now.Sub(r.lastProgress) < progressEvery {
		return
	}
	r.lastProgress = now
	verb := "republished"
	if r.opts.DryRun {
		verb = "would republish"
	}
	fmt.Fprintf(r.opts.Progress, "replay: read %d of %d dead-letter records, %s %d, passed over %d, already replayed %d, over the replay limit %d\n",
		r.sum.Read, r.total, verb, r.sum.Republished+len(r.batch), r.sum.Filtered, r.sum.AlreadyReplayed, r.sum.OverReplayLimit)
}

// stickyWriter remembers the first write error and drops later writes.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}
