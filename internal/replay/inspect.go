package replay

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Report summarises the dead-letter records still waiting for a replay:
// what failed and why, so that the cause can be fixed before replaying.
type Report struct {
	// DLQTopic is the topic read.
	DLQTopic string
	// Read counts the dead-letter records read.
	Read int
	// Filtered counts the records passed over by the class, time or order filter.
	Filtered int
	// AlreadyReplayed counts matching records the ledger lists as
	// republished; they are left out of everything below.
	AlreadyReplayed int
	// Pending counts matching records not yet replayed.
	Pending int
	// OverReplayLimit counts pending records a replay would leave alone
	// for their replay count (unless forced).
	OverReplayLimit int
	// Omitted counts pending records written without the original value
	// and headers, which a replay leaves alone.
	Omitted int
	// ByClass, ByCode, ByField and ByTopic count pending records by error
	// class, WeChat Pay error code, offending field (array indexes shown as
	// "*") and original topic. Records without a code or field are not
	// counted in ByCode or ByField.
	ByClass, ByCode, ByField, ByTopic map[string]int
	// ByAccount and BySubMchID count pending records by merchant account
	// and sub-merchant ("-" when the record names none); Held maps each
	// sub-merchant with pending records dead-lettered while it was held
	// (dlq.HeaderMerchantHeld) to its account.
	ByAccount, BySubMchID map[string]int
	Held                  map[string]string
	// Oldest and Newest are the extreme failed_at times of pending records;
	// zero when none has one.
	Oldest, Newest time.Time
}

// Inspect reads the dead-letter topic up to its high watermark and counts
// the records that pass the filters of opts (Classes, Since, Until, Order);
// the ledger tells which were already replayed. It changes nothing.
// Options.Limit, To, Force and DryRun play no part.
func Inspect(ctx context.Context, opts Options) (Report, error) {
	o, err := opts.normalized()
	if err != nil {
		return Report{}, err
	}
	own, done := ownTransport(o.Transport)
	defer done()
	client := &kafka.Client{Addr: kafka.TCP(o.Brokers...), Transport: o.bounded(own)}

	spans, _, ok, err := topicSpans(ctx, client, o.DLQTopic)
	if err != nil {
		return Report{}, err
	}
	if !ok {
		return Report{}, fmt.Errorf("%s: %w", o.DLQTopic, ErrDLQNotFound)
	}
	led, _, err := loadLedger(ctx, client, o.LedgerTopic, o.DLQTopic)
	if err != nil {
		return Report{}, err
	}
	rep := Report{
		DLQTopic: o.DLQTopic,
		ByClass:  map[string]int{},
		ByCode:   map[string]int{},
		ByField:  map[string]int{},
		ByTopic:  map[string]int{},

		ByAccount:  map[string]int{},
		BySubMchID: map[string]int{},
		Held:       map[string]string{},
	}
	for _, s := range spans {
		err := scanSpan(ctx, client, o.DLQTopic, s, func(m message) (bool, error) {
			rep.add(o, led, m)
			return true, nil
		})
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (r *Report) add(o Options, led ledger, m message) {
	r.Read++
	d := decode(m)
	if !o.match(d) {
		r.Filtered++
		return
	}
	if led.has(o.DLQTopic, m) {
		r.AlreadyReplayed++
		return
	}
	r.Pending++
	if o.overLimit(d) {
		r.OverReplayLimit++
	}
	if d.dl.Omitted > 0 {
		r.Omitted++
	}
	r.ByClass[orDash(d.dl.Failure.Class)]++
	r.ByTopic[orDash(d.dl.Topic)]++
	r.ByAccount[orDash(d.dl.Failure.Account)]++
	r.BySubMchID[orDash(d.dl.Failure.SubMchID)]++
	if d.dl.Failure.MerchantHeld && d.dl.Failure.SubMchID != "" {
		r.Held[d.dl.Failure.SubMchID] = d.dl.Failure.Account
	}
	if d.dl.Failure.Code != "" {
		r.ByCode[d.dl.Failure.Code]++
	}
	if d.dl.Failure.Field != "" {
		r.ByField[fieldPattern(d.dl.Failure.Field)]++
	}
	if !d.dl.FailedAt.IsZero() {
		if r.Oldest.IsZero() || d.dl.FailedAt.Before(r.Oldest) {
			r.Oldest = d.dl.FailedAt
		}
		if d.dl.FailedAt.After(r.Newest) {
			r.Newest = d.dl.FailedAt
		}
	}
}

// fieldPattern replaces the array indexes of a JSON pointer by "*", so that
// /order/dishes/0/unit and /order/dishes/3/unit count together.
func fieldPattern(field string) string {
	if !strings.HasPrefix(field, "/") {
		return field // a header name such as ce_time
	}
	segs := strings.Split(field, "/")
	for i, s := range segs {
		if s != "" && strings.Trim(s, "0123456789") == "" {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, "/")
}

// WriteText writes the report for an operator: totals, the failed_at range,
// then each breakdown, largest count first.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "dead-letter topic %s: %d records read, %d passed over by filter, %d already replayed, %d pending\n",
		r.DLQTopic, r.Read, r.Filtered, r.AlreadyReplayed, r.Pending)
	if !r.Oldest.IsZero() {
		fmt.Fprintf(&b, "failed_at: oldest %s, newest %s\n",
			r.Oldest.UTC().Format(time.RFC3339), r.Newest.UTC().Format(time.RFC3339))
	}
	if r.OverReplayLimit > 0 {
		fmt.Fprintf(&b, "over the replay limit: %d (left alone by replay unless --force)\n", r.OverReplayLimit)
	}
	if r.Omitted > 0 {
		fmt.Fprintf(&b, "without the original: %d (too large for the dead-letter topic; replay leaves them alone, the originals are at their source offsets)\n", r.Omitted)
	}
	for _, t := range []struct {
		title  string
		counts map[string]int
	}{
		{"by class", r.ByClass},
		{"by error code", r.ByCode},
		{"by field", r.ByField},
		{"by original topic", r.ByTopic},
		{"by account", r.ByAccount},
		{"by sub-merchant", r.BySubMchID},
	} {
		if len(t.counts) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s:\n", t.title)
		keys := slices.SortedFunc(maps.Keys(t.counts), func(a, c string) int {
			return cmp.Or(cmp.Compare(t.counts[c], t.counts[a]), cmp.Compare(a, c))
		})
		for _, k := range keys {
			fmt.Fprintf(&b, "  %8d  %s\n", t.counts[k], k)
		}
	}
	if len(r.Held) > 0 {
		fmt.Fprintf(&b, "held sub-merchants (dead-lettered without a call; fix the merchant registry, reload, replay --merchant):\n")
		for _, sub := range slices.Sorted(maps.Keys(r.Held)) {
			fmt.Fprintf(&b, "  %s  account %s\n", sub, orDash(r.Held[sub]))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
