package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/config"
	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/replay"
)

// replayConfig is what `worker replay` and `worker dlq` take from the loaded
// configuration.
type replayConfig struct {
	Brokers  []string
	DLQTopic string
	// Transport reaches Kafka for fetches, offsets, topic creation and writes.
	Transport *kafka.Transport
	// Guard, for a dry run with the delivery ledger on, says why the
	// ledger would skip a record (replay.Options.Guard).
	Guard func(value []byte, headers []kafka.Header) string
	full  *config.Config
}

// classList is a repeatable flag that also takes comma-separated lists.
type classList []string

func (c *classList) String() string { return strings.Join(*c, ",") }

func (c *classList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*c = append(*c, s)
		}
	}
	return nil
}

// filterFlags are the flags `worker replay` and `worker dlq` share.
type filterFlags struct {
	classes     classList
	merchants   classList
	accounts    classList
	since       string
	until       string
	order       string
	dlq         string
	ledgerTopic string
	maxReplays  int
	timeout     time.Duration
}

// replayFlags are the flags of `worker replay`.
type replayFlags struct {
	filterFlags
	limit  int
	to     string
	dryRun bool
	force  bool
}

// dlqFlags are the flags of `worker dlq`.
type dlqFlags struct {
	filterFlags
}

func bindFilterFlags(fs *flag.FlagSet, f *filterFlags) {
	fs.Var(&f.classes, "class", "error class to select: invalid_event, rejected or retries_exhausted (repeatable, or a comma list; default all)")
	fs.StringVar(&f.since, "since", "", "select records that failed at or after this RFC3339 time, or this long ago (e.g. 2h)")
	fs.StringVar(&f.until, "until", "", "select records that failed before this RFC3339 time, or this long ago")
	fs.StringVar(&f.order, "order", "", "select the records of this order number (record key or order.order_no)")
	fs.Var(&f.merchants, "merchant", "select the records of these sub-merchants, SUB_MCHID[,…] (repeatable)")
	fs.Var(&f.accounts, "account", "select the records of these merchant accounts, NAME[,…] (repeatable)")
	fs.StringVar(&f.dlq, "dlq", "", "dead-letter topic to read (default ORDERSYNC_DLQ_TOPIC)")
	fs.StringVar(&f.ledgerTopic, "replayed-topic", "", "topic recording what was replayed (default <dead-letter topic>"+replay.LedgerSuffix+")")
	fs.IntVar(&f.maxReplays, "max-replays", replay.DefaultMaxReplays, "leave alone records already replayed this many times")
	fs.DurationVar(&f.timeout, "timeout", replay.DefaultRequestTimeout, "longest wait for Kafka to answer one request")
}

// bindReplayFlags registers the flags of `worker replay` on fs.
func bindReplayFlags(fs *flag.FlagSet) *replayFlags {
	f := &replayFlags{}
	bindFilterFlags(fs, &f.filterFlags)
	fs.IntVar(&f.limit, "limit", 0, "take only the first N selected records (0: all); the same command takes the same records again")
	fs.StringVar(&f.to, "to", "", "republish to this topic instead of each record's original topic")
	fs.BoolVar(&f.dryRun, "dry-run", false, "list what would be republished and change nothing")
	fs.BoolVar(&f.force, "force", false, "republish records over --max-replays too")
	return f
}

// bindDLQFlags registers the flags of `worker dlq` on fs.
func bindDLQFlags(fs *flag.FlagSet) *dlqFlags {
	f := &dlqFlags{}
	bindFilterFlags(fs, &f.filterFlags)
	return f
}

// flagError is a bad flag value: one line naming the flag.
type flagError struct {
	flag string
	msg  string
}

func (e *flagError) Error() string { return "--" + e.flag + ": " + e.msg }

func badFlag(name, format string, args ...any) error {
	return &flagError{flag: name, msg: fmt.Sprintf(format, args...)}
}

// options checks the shared flags and turns them into replay options.
func (f *filterFlags) options(cfg replayConfig, now time.Time) (replay.Options, error) {
	o := replay.Options{Brokers: cfg.Brokers, Transport: cfg.Transport, DLQTopic: cfg.DLQTopic, Order: f.order}
	if f.dlq != "" {
		o.DLQTopic = f.dlq
	}
	if o.DLQTopic == "" {
		return o, badFlag("dlq", "no dead-letter topic: set --dlq, --dlq-topic or ORDERSYNC_DLQ_TOPIC")
	}
	for _, c := range f.classes {
		if !slices.Contains(dlq.Classes, c) {
			return o, badFlag("class", "unknown class %q, want one of %s", c, strings.Join(dlq.Classes, ", "))
		}
	}
	o.Classes = f.classes
	o.Merchants, o.Accounts = f.merchants, f.accounts
	var err error
	if o.Since, err = parseWhen("since", f.since, now); err != nil {
		return o, err
	}
	if o.Until, err = parseWhen("until", f.until, now); err != nil {
		return o, err
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Until.After(o.Since) {
		return o, badFlag("until", "must be after --since")
	}
	if f.maxReplays < 1 {
		return o, badFlag("max-replays", "must be at least 1, got %d", f.maxReplays)
	}
	o.MaxReplays = f.maxReplays
	if f.timeout <= 0 {
		return o, badFlag("timeout", "must be positive, got %v", f.timeout)
	}
	o.RequestTimeout = f.timeout
	o.LedgerTopic = f.ledgerTopic
	if o.LedgerTopic == o.DLQTopic {
		return o, badFlag("replayed-topic", "must differ from the dead-letter topic")
	}
	return o, nil
}

// parseWhen reads an RFC3339 time, or a positive duration meaning that long
// before now. "" is the zero time.
func parseWhen(name, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, badFlag(name, "want an RFC3339 time such as 2026-11-26T08:00:00Z or a duration such as 2h, got %q", v)
}

// runReplay runs `worker replay`; its error carries the exit status: exit 2
// for a bad flag value (one line naming the flag), exit 1 for a failed
// replay. Record lines go to stdout; progress and the summary to stderr.
func runReplay(ctx context.Context, cfg replayConfig, f *replayFlags, stdout, stderr io.Writer) error {
	const cmd = programName + " replay"
	opts, err := f.options(cfg, time.Now())
	if err == nil {
		err = f.check(opts)
	}
	if err != nil {
		return usageError(cmd, err)
	}
	opts.To, opts.Limit, opts.Force, opts.DryRun = f.to, f.limit, f.force, f.dryRun
	opts.Progress = stderr
	opts.Guard = cfg.Guard

	sum, err := replay.Run(ctx, opts, stdout)
	if flagErr := topicFlagError(err, opts); flagErr != nil {
		return usageError(cmd, flagErr)
	}
	_, _ = fmt.Fprintf(stderr, "%s: %s\n", cmd, sum)
	if err != nil {
		return failed(cmd, runError(err, f.timeout))
	}
	return nil
}

// topicFlagError turns a Run error about a topic the flags name (a --to
// topic that does not exist, a replay ledger that is not compacted) into a
// usage error naming the flag; other errors give nil.
func topicFlagError(err error, o replay.Options) error {
	switch {
	case errors.Is(err, replay.ErrNoDestination):
		return badFlag("to", "%s: %v", o.To, replay.ErrNoDestination)
	case errors.Is(err, replay.ErrLedgerNotCompacted):
		return badFlag("replayed-topic", "%v", err)
	}
	return nil
}

// check validates the flags only replay has.
func (f *replayFlags) check(o replay.Options) error {
	if f.limit < 0 {
		return badFlag("limit", "must be 0 (no limit) or more, got %d", f.limit)
	}
	if f.to != "" && f.to == o.DLQTopic {
		return badFlag("to", "is the dead-letter topic %s", o.DLQTopic)
	}
	if f.to != "" && f.to == o.LedgerTopic {
		return badFlag("to", "is the replay ledger topic %s", o.LedgerTopic)
	}
	return nil
}

// runDLQ prints the summary of the dead-letter topic; its error carries
// the exit status: exit 2 for a bad flag value, exit 1 for a failed read.
func runDLQ(ctx context.Context, cfg replayConfig, f *dlqFlags, stdout, stderr io.Writer) error {
	const cmd = programName + " dlq"
	opts, err := f.options(cfg, time.Now())
	if err != nil {
		return usageError(cmd, err)
	}
	rep, err := replay.Inspect(ctx, opts)
	if err == nil {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return failed(cmd, runError(err, f.timeout))
	}
	return nil
}

// runError is the error of a failed replay or dlq command; a request that
// ran out of time names --timeout.
func runError(err error, timeout time.Duration) error {
	if errors.Is(err, replay.ErrNoAnswer) {
		return fmt.Errorf("%w (--timeout %v)", err, timeout)
	}
	return err
}
