package consumer

import (
	"fmt"
	"strconv"
	"strings"
)

// A committed Kafka offset can only say "everything below is finished". Events
// of different orders finish out of offset order, so at any moment some
// offsets above the committed one are finished too; after a handoff or a
// crash the next owner would upload them again — older states of orders
// after newer ones, until it catches up. The commit therefore carries, in its
// metadata, the offsets finished above the committed one, and the next owner
// of the partition (any member, any process) passes over them. That is the
// only use of the metadata: a commit made by other tooling (a reset, which
// writes empty metadata) or one whose base does not match the offset is
// ignored, and every offset it does not name is processed as usual.
//
// Format: "ordersync1 <base> <gap>+<count> …" in decimal, where base is the
// committed offset and each run of finished offsets starts gap after the end
// of the previous run (or after base) and holds count offsets, e.g.
// "ordersync1 1200 3+2 5+1" names 1203, 1204 and 1209.
const metaPrefix = "ordersync1"

// maxMetaBytes bounds the metadata of one partition, and maxCommitMetaBytes
// that of one commit request, shared among its partitions. Kafka refuses a
// commit whose metadata is longer than offset.metadata.max.bytes (4096 by
// default), or whose records together outgrow the offsets topic's message
// size (INVALID_COMMIT_OFFSET_SIZE); runs that do not fit are left out, and
// their offsets are redelivered.
const (
	maxMetaBytes       = 2048
	maxCommitMetaBytes = 256 << 10
	minMetaBytes       = 64
)

// metaBudget returns the metadata bytes each of n partitions may use in one
// commit.
func metaBudget(n int) int {
	return min(maxMetaBytes, max(minMetaBytes, maxCommitMetaBytes/max(n, 1)))
}

// maxMetaRuns bounds what a metadata string read back may name.
const maxMetaRuns = 4096

// offsetRange is the offsets first through last.
type offsetRange struct{ first, last int64 }

// encodeFinished returns the metadata naming runs (sorted, disjoint, all
// above base) as finished above base, keeping the runs that fit in maxBytes.
func encodeFinished(base int64, runs []offsetRange, maxBytes int) string {
	if len(runs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(metaPrefix)
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(base, 10))
	prev := base
	var item []byte
	for _, r := range runs {
		r.first = max(r.first, prev+1)
		if r.last < r.first {
			continue
		}
		item = append(item[:0], ' ')
		item = strconv.AppendInt(item, r.first-prev, 10)
		item = append(item, '+')
		item = strconv.AppendInt(item, r.last-r.first+1, 10)
		if b.Len()+len(item) > maxBytes {
			break
		}
		b.Write(item)
		prev = r.last
	}
	if prev == base {
		return ""
	}
	return b.String()
}

// decodeFinished returns the runs meta names as finished above base, or an
// error when meta is not ordersync's or was written for another offset.
func decodeFinished(meta string, base int64) ([]offsetRange, error) {
	fields := strings.Fields(meta)
	if len(fields) < 2 || fields[0] != metaPrefix {
		return nil, fmt.Errorf("offset metadata %.40q is not ordersync's", meta)
	}
	b, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil || b != base {
		return nil, fmt.Errorf("offset metadata was written for offset %s, the committed offset is %d", fields[1], base)
	}
	if len(fields)-2 > maxMetaRuns {
		return nil, fmt.Errorf("offset metadata names %d runs, more than %d", len(fields)-2, maxMetaRuns)
	}
	runs := make([]offsetRange, 0, len(fields)-2)
	prev := base
	for _, f := range fields[2:] {
		gs, cs, ok := strings.Cut(f, "+")
		gap, err1 := strconv.ParseInt(gs, 10, 64)
		count, err2 := strconv.ParseInt(cs, 10, 64)
		if !ok || err1 != nil || err2 != nil || gap < 1 || count < 1 || gap > maxOffset-prev || count-1 > maxOffset-prev-gap {
			return nil, fmt.Errorf("offset metadata run %q is malformed", f)
		}
		r := offsetRange{first: prev + gap, last: prev + gap + count - 1}
		runs = append(runs, r)
		prev = r.last
	}
	return runs, nil
}

// maxOffset keeps decoded offsets far from overflow (2^62).
const maxOffset = int64(1) << 62

// mergeRanges returns the union of a and b (each sorted and disjoint) keeping
// only offsets from on, sorted, with adjacent runs joined.
func mergeRanges(a, b []offsetRange, from int64) []offsetRange {
	all := make([]offsetRange, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var r offsetRange
		if j == len(b) || (i < len(a) && a[i].first <= b[j].first) {
			r, i = a[i], i+1
		} else {
			r, j = b[j], j+1
		}
		if r.last < from {
			continue
		}
		r.first = max(r.first, from)
		if n := len(all); n > 0 && r.first <= all[n-1].last+1 {
			all[n-1].last = max(all[n-1].last, r.last)
			continue
		}
		all = append(all, r)
	}
	return all
}
