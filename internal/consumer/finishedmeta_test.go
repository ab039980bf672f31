package consumer

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFinishedMetadataRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		base int64
		runs []offsetRange
		want string
	}{
		{"none", 7, nil, ""},
		{"one", 1200, []offsetRange{{1203, 1204}}, "ordersync1 1200 3+2"},
		{"two", 1200, []offsetRange{{1203, 1204}, {1209, 1209}}, "ordersync1 1200 3+2 5+1"},
		{"large offsets", 1 << 40, []offsetRange{{1<<40 + 1, 1<<40 + 1000}}, "ordersync1 1099511627776 1+1000"},
		{"runs at or below base clipped", 10, []offsetRange{{4, 6}, {9, 12}}, "ordersync1 10 1+2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := encodeFinished(tt.base, tt.runs, maxMetaBytes)
			if got != tt.want {
				t.Fatalf("encode = %q, want %q", got, tt.want)
			}
			if got == "" {
				return
			}
			runs, err := decodeFinished(got, tt.base)
			if err != nil {
				t.Fatal(err)
			}
			if want := mergeRanges(tt.runs, nil, tt.base+1); !slices.Equal(runs, want) {
				t.Errorf("decode = %v, want %v", runs, want)
			}
		})
	}
}

// TestFinishedMetadataTruncated: runs that do not fit are left out — their
// offsets are redelivered, never skipped unfinished.
func TestFinishedMetadataTruncated(t *testing.T) {
	var runs []offsetRange
	for off := int64(100); off < 100+2*5000; off += 2 {
		runs = append(runs, offsetRange{off + 1, off + 1})
	}
	meta := encodeFinished(100, runs, maxMetaBytes)
	if len(meta) > maxMetaBytes || len(meta) < maxMetaBytes-20 {
		t.Fatalf("metadata is %d bytes, want just under %d", len(meta), maxMetaBytes)
	}
	got, err := decodeFinished(meta, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || !slices.Equal(got, runs[:len(got)]) {
		t.Errorf("decoded %d runs, not a prefix of what was encoded", len(got))
	}
}

// TestFinishedMetadataRejected: metadata that is not ordersync's, was
// written for another offset or is malformed names nothing.
func TestFinishedMetadataRejected(t *testing.T) {
	for _, meta := range []string{
		"",
		"some other tool's note",
		"ordersync1",
		"ordersync1 99 3+2",      // written for another offset
		"ordersync1 100 0+2",     // run at the base, which is unfinished
		"ordersync1 100 3+0",     // empty run
		"ordersync1 100 -3+2",    // backwards
		"ordersync1 100 3",       // no count
		"ordersync1 100 3+x",     // not a number
		"ordersync1 100 3+2 0+1", // overlaps the previous run
		"ordersync1 100 4611686018427387904+1",
		"ordersync1 100 1+9223372036854775807",
		"ordersync1 100 " + strings.Repeat("1+1 ", maxMetaRuns+1),
	} {
		if runs, err := decodeFinished(meta, 100); err == nil {
			t.Errorf("decodeFinished(%.60q) = %v, want an error", meta, runs)
		}
	}
}

// TestTrackerSkipAndMetadata: offsets finished before they are fetched count
// as finished when added, and the commit's metadata names the finished
// offsets above the commit point — including skip runs not fetched yet.
func TestTrackerSkipAndMetadata(t *testing.T) {
	tr := newTracker(100)
	tr.setSkip([]offsetRange{{2, 3}, {7, 7}, {20, 25}})
	now := time.Now()
	var skipped []int64
	for off := int64(0); off < 10; off++ {
		if tr.add(off, now, 30) {
			skipped = append(skipped, off)
		}
	}
	if want := []int64{2, 3, 7}; !slices.Equal(skipped, want) {
		t.Fatalf("skipped %v, want %v", skipped, want)
	}
	tr.finish(5)
	tr.finish(8)
	// Offset 0 is unfinished: only the metadata is worth committing.
	if off, meta, ok := tr.committable(maxMetaBytes); !ok || off != 0 || meta != "ordersync1 0 2+2 2+1 2+2 12+6" {
		t.Fatalf("committable = %d %q %v, want 0 with 2–3, 5, 7–8 and 20–25 finished ahead", off, meta, ok)
	}
	if _, _, ok := tr.committable(0); ok {
		t.Fatal("committable without metadata before offset 0 finished")
	}
	tr.finish(0)
	tr.finish(1)
	off, meta, ok := tr.committable(maxMetaBytes)
	if !ok || off != 4 || meta != "ordersync1 4 1+1 2+2 12+6" {
		t.Fatalf("committable = %d %q %v, want 4 with 5, 7–8 and 20–25 finished ahead", off, meta, ok)
	}
	tr.committed(off, meta)
	if _, _, ok := tr.committable(maxMetaBytes); ok {
		t.Error("committable again with nothing changed")
	}
	tr.finish(9)
	off2, meta2, ok := tr.committable(maxMetaBytes)
	if !ok || off2 != 4 || meta2 != "ordersync1 4 1+1 2+3 11+6" {
		t.Errorf("after 9 finished: %d %q %v, want the same offset with new metadata", off2, meta2, ok)
	}
	if _, advanced := tr.committed(off2, meta2); advanced {
		t.Error("new metadata at the same offset counted as the offset moving")
	}
	if _, meta3, _ := tr.committable(0); meta3 != "" {
		t.Errorf("metadata %q without withMeta", meta3)
	}
}

// TestMetaBudget: one commit request's metadata stays under
// maxCommitMetaBytes however many partitions it carries, down to a floor
// that still names a few runs.
func TestMetaBudget(t *testing.T) {
	for _, n := range []int{0, 1, 6, 128, 1000, 100000} {
		b := metaBudget(n)
		if b > maxMetaBytes || b < minMetaBytes || (b > minMetaBytes && b*n > maxCommitMetaBytes) {
			t.Errorf("metaBudget(%d) = %d", n, b)
		}
	}
	if metaBudget(1000) >= maxMetaBytes {
		t.Error("1,000 partitions get the full per-partition budget each")
	}
}
