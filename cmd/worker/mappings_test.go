package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/mapping"
)

// TestWorkedMappings runs every worked program of docs/mappings through
// `worker validate` on its samples (events.jsonl) and compares each answer
// line — the mapped event and the exact body, or why not — with
// events.want.jsonl (rewrite with -update-validate).
func TestWorkedMappings(t *testing.T) {
	programs, err := filepath.Glob(filepath.Join("..", "..", "docs", "mappings", "*", "program.jq"))
	if err != nil || len(programs) != 3 {
		t.Fatalf("want the three worked programs, got %v (%v)", programs, err)
	}
	for _, file := range programs {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			prog, err := mapping.Load(file, mapping.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			runValidateMapped([]string{filepath.Join(dir, "events.jsonl")}, validateConfig(), prog, strings.NewReader(""), &stdout, &stderr)
			wantFile := filepath.Join(dir, "events.want.jsonl")
			if *updateValidate {
				if err := os.WriteFile(wantFile, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			got, wantLines := strings.Split(stdout.String(), "\n"), strings.Split(string(want), "\n")
			if len(got) != len(wantLines) {
				t.Fatalf("got %d lines, want %d:\n%s", len(got), len(wantLines), stdout.String())
			}
			for i := range got {
				if got[i] != wantLines[i] {
					t.Errorf("line %d:\n got %s\nwant %s", i+1, got[i], wantLines[i])
				}
			}
		})
	}
}
