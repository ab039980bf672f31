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

// TestMappingFileThatDoesNotCompileStopsAtStart: run and validate stop with
// exit 2 and one line naming ORDERSYNC_MAPPING_FILE, the file, the line and
// the column; a file that cannot be read is reported the same way.
func TestMappingFileThatDoesNotCompileStopsAtStart(t *testing.T) {
	runEnv(t)
	bad := filepath.Join(t.TempDir(), "bad.jq")
	if err := os.WriteFile(bad, []byte("{\n  event_id: .id,\n  order: {order_no: .no}}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, giveFile, want string
	}{
		{"syntax error", bad, "worker: invalid setting ORDERSYNC_MAPPING_FILE (--mapping-file): " + bad + `: line 3, column 26: unexpected token "}"`},
		{"missing file", "/nonexistent/map.jq", "worker: invalid setting ORDERSYNC_MAPPING_FILE (--mapping-file): read mapping program: open /nonexistent/map.jq"},
	}
	for _, tt := range tests {
		for _, cmd := range []string{"run", "validate"} {
			t.Run(tt.name+"/"+cmd, func(t *testing.T) {
				t.Setenv("ORDERSYNC_MAPPING_FILE", tt.giveFile)
				code, _, stderr := dispatchArgs(t, cmd)
				lines := strings.Split(strings.TrimSpace(stderr), "\n")
				if code != exitUsage || len(lines) != 1 || !strings.HasPrefix(lines[0], tt.want) {
					t.Errorf("exit %d, stderr %q; want exit 2 and one line starting %q", code, stderr, tt.want)
				}
			})
		}
	}
}
