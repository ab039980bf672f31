package mapping

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkApplyPOS runs the worked POS program on its first sample: the
// mapping's own cost per event, before the mapper.
func BenchmarkApplyPOS(b *testing.B) {
	dir := filepath.Join("..", "..", "docs", "mappings", "pos-export")
	p, err := Load(filepath.Join(dir, "program.jq"), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	samples, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Value: []byte(strings.SplitN(string(samples), "\n", 2)[0]), Topic: "orders"}
	b.ReportAllocs()
	b.SetBytes(int64(len(in.Value)))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	n := 0
	for b.Loop() {
		if _, err := p.Apply(context.Background(), in); err != nil {
			b.Fatal(err)
		}
		n++
	}
	// cpu-ns/op is the thread's CPU time, meaningful on a shared machine.
	if end, ok2 := threadCPU(); ok && ok2 && n > 0 {
		b.ReportMetric(float64(end-start)/float64(n), "cpu-ns/op")
	}
}
