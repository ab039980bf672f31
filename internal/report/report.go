// Package report turns the delivery ledger and the dead-letter topic into
// the figures a provider reconciles against WeChat Pay's trade bill: per
// sub-merchant and day in Asia/Shanghai, the orders whose delivered state is
// CREATE_DEAL and PAY_SUCCESS, the user_amount paid, and the dead letters by
// class (README "The delivery ledger and the reconciliation report").
package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/ledger"
)

// Shanghai is the time zone of the report's days (UTC+8, no daylight saving).
var Shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// Row is one sub-merchant's day.
type Row struct {
	SubMchID       string         `json:"sub_mchid"`
	Day            string         `json:"day"` // YYYY-MM-DD in Asia/Shanghai
	CreateDeal     int            `json:"create_deal"`
	PaySuccess     int            `json:"pay_success"`
	PaidUserAmount int64          `json:"paid_user_amount"` // fen
	DeadLetters    map[string]int `json:"dead_letters"`     // by class
}

// DeadLetter is what the report needs of one dead-letter record.
type DeadLetter struct {
	SubMchID string // "" when unknown
	Class    string
	FailedAt time.Time
}

// Build returns the rows for [since, until) (a zero bound is open), sorted
// by day then sub-merchant. An order counts on the day of its last
// delivered state's action_time, as CREATE_DEAL or PAY_SUCCESS; a dead
// letter on the day it failed.
func Build(latest map[string]ledger.Record, dead []DeadLetter, since, until time.Time) []Row {
	rows := map[[2]string]*Row{}
	row := func(sub string, t time.Time) *Row {
		k := [2]string{t.In(Shanghai).Format(time.DateOnly), sub}
		r, ok := rows[k]
		if !ok {
			r = &Row{SubMchID: sub, Day: k[0], DeadLetters: map[string]int{}}
			rows[k] = r
		}
		return r
	}
	in := func(t time.Time) bool {
		return (since.IsZero() || !t.Before(since)) && (until.IsZero() || t.Before(until))
	}
	for _, rec := range latest {
		if !in(rec.ActionTime) {
			continue
		}
		r := row(rec.SubMchID, rec.ActionTime)
		switch rec.Status {
		case ledger.StatusPaySuccess:
			r.PaySuccess++
			if rec.UserAmount != nil {
				r.PaidUserAmount += *rec.UserAmount
			}
		default:
			r.CreateDeal++
		}
	}
	for _, d := range dead {
		if !in(d.FailedAt) {
			continue
		}
		sub := d.SubMchID
		if sub == "" {
			sub = "-"
		}
		row(sub, d.FailedAt).DeadLetters[d.Class]++
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Day != out[j].Day {
			return out[i].Day < out[j].Day
		}
		return out[i].SubMchID < out[j].SubMchID
	})
	return out
}

// Formats Write takes.
const (
	FormatTable = "table"
	FormatCSV   = "csv"
	FormatJSON  = "json"
)

// Write renders rows as a table, CSV (a header line, then one line a row,
// one column per dead-letter class) or a JSON array.
func Write(w io.Writer, format string, rows []Row) error {
	header := []string{"day", "sub_mchid", "create_deal", "pay_success", "paid_user_amount"}
	header = append(header, dlq.Classes...)
	cells := func(r Row) []string {
		c := []string{r.Day, r.SubMchID, strconv.Itoa(r.CreateDeal), strconv.Itoa(r.PaySuccess), strconv.FormatInt(r.PaidUserAmount, 10)}
		for _, class := range dlq.Classes {
			c = append(c, strconv.Itoa(r.DeadLetters[class]))
		}
		return c
	}
	switch format {
	case FormatJSON:
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		if rows == nil {
			rows = []Row{}
		}
		return e.Encode(rows)
	case FormatCSV:
		cw := csv.NewWriter(w)
		_ = cw.Write(header)
		for _, r := range rows {
			_ = cw.Write(cells(r))
		}
		cw.Flush()
		return cw.Error()
	case FormatTable:
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		line := func(c []string) {
			for _, s := range c {
				_, _ = fmt.Fprint(tw, s, "\t")
			}
			_, _ = fmt.Fprintln(tw)
		}
		line(header)
		for _, r := range rows {
			line(cells(r))
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown format %q: want table, csv or json", format)
}
