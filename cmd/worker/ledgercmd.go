package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/config"
	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/ledger"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/report"
)

// readTimeout bounds reading a whole topic for one command.
const readTimeout = 5 * time.Minute

// cmdLedger prints an order's ledger state: its last delivered record as
// JSON. Exit 0 found, 1 not found or failed, 2 usage.
func cmdLedger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const cmd = programName + " ledger"
	s := newSettings("ledger", stderr, config.GroupKafka, config.GroupLedger)
	merchant := s.fs.String("merchant", "", "sub_mchid of the order (required)")
	order := s.fs.String("order", "", "out_order_no of the order (required)")
	cfg, _, err := s.load(args, config.NeedKafka|config.NeedTopics)
	if err == nil {
		err = s.noArgs()
	}
	if err != nil {
		return err
	}
	if *merchant == "" || *order == "" {
		return usageError(cmd, errors.New("--merchant and --order are required"))
	}
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	tr := cfg.Kafka.Transport()
	defer tr.CloseIdleConnections()
	key := ledger.Key(*merchant, *order)
	var last *ledger.Record
	history := 0
	err = ledger.ScanTopic(ctx, cfg.Kafka.Dialer(), tr, cfg.Brokers, cfg.LedgerTopic, func(m kafka.Message) {
		if string(m.Key) != key {
			return
		}
		if m.Value == nil {
			last = nil
			return
		}
		if r, err := ledger.Unmarshal(m.Value); err == nil && (last == nil || !last.DeliveredAt.After(r.DeliveredAt)) {
			last, history = &r, history+1
		}
	})
	if err != nil {
		return failed(cmd, err)
	}
	if last == nil {
		return failed(cmd, fmt.Errorf("no delivered state of %s in %s (never delivered, or older than its retention)", key, cfg.LedgerTopic))
	}
	e := json.NewEncoder(stdout)
	e.SetIndent("", "  ")
	if err := e.Encode(last); err != nil {
		return status(exitFailed) // stdout is gone: nowhere to say it
	}
	_, _ = fmt.Fprintf(stderr, "%s: %s: %d records read (older ones are compacted away)\n", cmd, key, history)
	return nil
}

// cmdReport prints, per sub-merchant and day in Asia/Shanghai, the orders
// delivered as CREATE_DEAL and PAY_SUCCESS, the user_amount paid and the
// dead letters by class.
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const cmd = programName + " report"
	s := newSettings("report", stderr, config.GroupKafka, config.GroupLedger)
	since := s.fs.String("since", "", "first day or time, RFC3339 or YYYY-MM-DD (Asia/Shanghai), or a duration meaning that long ago")
	until := s.fs.String("until", "", "end (exclusive), same forms as --since")
	format := s.fs.String("format", report.FormatTable, "table, csv or json")
	cfg, _, err := s.load(args, config.NeedKafka|config.NeedTopics)
	if err == nil {
		err = s.noArgs()
	}
	if err != nil {
		return err
	}
	now := time.Now()
	from, err := reportTime("since", *since, now)
	if err == nil {
		var to time.Time
		if to, err = reportTime("until", *until, now); err == nil {
			err = report.Write(io.Discard, *format, nil)
			if err != nil {
				err = badFlag("format", "%v", err)
			}
			if err == nil {
				return writeReport(ctx, cfg, from, to, *format, stdout, stderr)
			}
		}
	}
	return usageError(cmd, err)
}

// writeReport reads the ledger and dead-letter topics and writes the report
// in format; its error is an exit 1 failure.
func writeReport(ctx context.Context, cfg *config.Config, since, until time.Time, format string, stdout, stderr io.Writer) error {
	const cmd = programName + " report"
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	tr := cfg.Kafka.Transport()
	defer tr.CloseIdleConnections()
	latest, bad, err := ledger.Latest(ctx, cfg.Kafka.Dialer(), tr, cfg.Brokers, cfg.LedgerTopic)
	if err != nil {
		return failed(cmd, err)
	}
	var dead []report.DeadLetter
	err = ledger.ScanTopic(ctx, cfg.Kafka.Dialer(), tr, cfg.Brokers, cfg.DLQTopic, func(m kafka.Message) {
		dead = append(dead, deadLetterOf(m))
	})
	if err != nil {
		return failed(cmd, err)
	}
	if err := report.Write(stdout, format, report.Build(latest, dead, since, until)); err != nil {
		return failed(cmd, err)
	}
	if bad > 0 {
		_, _ = fmt.Fprintf(stderr, "%s: %d ledger values could not be read and are not counted\n", cmd, bad)
	}
	return nil
}

// reportTime reads an RFC3339 time, a day in Asia/Shanghai, or a duration
// meaning that long ago.
func reportTime(name, v string, now time.Time) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, v, report.Shanghai); err == nil {
		return t, nil
	}
	return parseWhen(name, v, now)
}

// deadLetterOf reads the class, failure time and sub-merchant of a dead
// letter: the ordersync.sub_mchid header when present, else merchant.sub_mchid
// of the value (inside data for a CloudEvents structured envelope).
func deadLetterOf(m kafka.Message) report.DeadLetter {
	var d report.DeadLetter
	for _, h := range m.Headers {
		switch h.Key {
		case dlq.HeaderErrorClass:
			d.Class = string(h.Value)
		case dlq.HeaderFailedAt:
			d.FailedAt, _ = time.Parse(time.RFC3339Nano, string(h.Value))
		case "ordersync.sub_mchid":
			d.SubMchID = string(h.Value)
		}
	}
	if d.SubMchID == "" {
		var v struct {
			Merchant struct {
				SubMchID string `json:"sub_mchid"`
			} `json:"merchant"`
			Data struct {
				Merchant struct {
					SubMchID string `json:"sub_mchid"`
				} `json:"merchant"`
			} `json:"data"`
		}
		if json.Unmarshal(m.Value, &v) == nil {
			d.SubMchID = v.Merchant.SubMchID
			if d.SubMchID == "" {
				d.SubMchID = v.Data.Merchant.SubMchID
			}
		}
	}
	return d
}

// dryRunGuard returns the function that says why the delivery ledger would
// skip a dead letter's original: mapped as the worker maps it, compared with
// the ledger's state of its order. A ledger topic that does not exist yet
// holds nothing: every record passes, and stderr says so.
func dryRunGuard(ctx context.Context, cfg *config.Config, stderr io.Writer) (func([]byte, []kafka.Header) string, error) {
	mp, err := newMapper(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	tr := cfg.Kafka.Transport()
	defer tr.CloseIdleConnections()
	latest, _, err := ledger.Latest(ctx, cfg.Kafka.Dialer(), tr, cfg.Brokers, cfg.LedgerTopic)
	switch {
	case errors.Is(err, kafka.UnknownTopicOrPartition):
		fmt.Fprintf(stderr, "%s replay: the delivery ledger topic %s does not exist (no worker has delivered with the ledger on): it would skip nothing\n",
			programName, cfg.LedgerTopic)
	case err != nil:
		return nil, fmt.Errorf("read the delivery ledger: %w", err)
	}
	state := ledger.Load(latest, cfg.LedgerRetention, time.Now())
	return func(value []byte, headers []kafka.Header) string {
		hs := make([]mapper.Header, len(headers))
		for i, h := range headers {
			hs[i] = mapper.Header{Key: h.Key, Value: h.Value}
		}
		res, err := mp.Map(value, hs)
		if err != nil || res.Skipped {
			return ""
		}
		return state.Check(ledger.Event{SubMchID: res.SubMchID, OutOrderNo: res.OrderNo, Status: res.Status,
			ActionTime: res.OccurredAt, Body: res.Body})
	}, nil
}
