package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/mapper"
)

var updateValidate = flag.Bool("update-validate", false, "rewrite testdata/validate_mixed.want.jsonl")

func validateConfig() mapper.Config {
	return mapper.Config{Mode: mapper.ModeServiceProvider, MchID: "1900000001", SpAppID: "wx2421b1c4370ec43b",
		SkipTypes: mapper.DefaultSkipTypes}
}

// TestRunValidateMixed checks every output line for a file mixing good,
// skipped, invalid, unparseable, blank and CRLF lines against
// testdata/validate_mixed.want.jsonl, and the exit status 1.
func TestRunValidateMixed(t *testing.T) {
	in := filepath.Join("testdata", "validate_mixed.jsonl")
	var stdout, stderr bytes.Buffer
	code := exitStatus(runValidateMapped([]string{in}, validateConfig(), nil, strings.NewReader(""), &stdout, &stderr), &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr.String())
	}
	wantFile := filepath.Join("testdata", "validate_mixed.want.jsonl")
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
	// Spot checks that the recorded output says what the contract asks.
	for i, prefix := range []string{`{"payload":{"sp_mchid":"1900000001"`, `{"payload":`, `{"skipped":"event type \"order.served\"`,
		`{"violations":[{"field":"/event_type"`, `{"skipped":"blank line"}`, `{"violations":[{"field":"","reason":"invalid JSON`,
		`{"payload":`, `{"skipped":"blank line"}`, `{"skipped":"event type \"order.cancelled\"`} {
		if !strings.HasPrefix(got[i], prefix) {
			t.Errorf("line %d = %.80s, want prefix %s", i+1, got[i], prefix)
		}
	}
	if want := "9 lines: 3 ok, 4 skipped, 2 invalid\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
	if strings.Contains(stderr.String(), "071oYFSN") {
		t.Errorf("stderr shows a login_token")
	}
}

func TestRunValidateStatuses(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "validate_mixed.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	first := string(bytes.SplitN(good, []byte("\n"), 2)[0])
	// A valid event padded past any default line buffer, and a multi-MB line.
	padded := first[:1] + strings.Repeat(" ", 300<<10) + first[1:]
	huge := `{"event_id":"big","pad":"` + strings.Repeat("x", 3<<20) + `"}`
	tests := []struct {
		name       string
		giveArgs   []string
		giveStdin  string
		giveConfig mapper.Config
		wantCode   int
		wantOut    string // prefix of stdout
		wantErr    string // substring of stderr
	}{
		{name: "stdin by default", giveStdin: first + "\n", wantCode: 0, wantOut: `{"payload":{"sp_mchid"`},
		{name: "dash is stdin", giveArgs: []string{"-"}, giveStdin: first, wantCode: 0, wantOut: `{"payload":`},
		{name: "empty input", giveStdin: "", wantCode: 0, wantErr: "0 lines"},
		{name: "blank lines answer in place", giveStdin: first + "\n\n \r\n" + first, wantCode: 0,
			wantOut: `{"payload":`, wantErr: "4 lines: 2 ok, 2 skipped, 0 invalid"},
		{name: "long valid line", giveStdin: padded + "\n", wantCode: 0, wantOut: `{"payload":`},
		{name: "multi-MB line is read whole", giveStdin: huge + "\n" + first + "\n", wantCode: 1,
			wantOut: `{"violations":[{"field":"","reason":"value is 3145755 bytes, more than the 1048576 allowed"}]}` + "\n" + `{"payload":`},
		{name: "two files", giveArgs: []string{"a", "b"}, wantCode: 2, wantErr: "at most one FILE"},
		{name: "missing file", giveArgs: []string{filepath.Join(t.TempDir(), "nope.jsonl")}, wantCode: 2, wantErr: "no such file"},
		{name: "bad mode", giveConfig: mapper.Config{Mode: "both"}, giveStdin: first, wantCode: 2, wantErr: `unknown mode "both"`},
		{name: "channel mode without default", giveConfig: mapper.Config{Mode: mapper.ModeChannel}, giveStdin: first, wantCode: 1,
			wantOut: `{"violations":[{"field":"/merchant/channel_id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.giveConfig
			if cfg.Mode == "" {
				cfg = validateConfig()
			}
			var stdout, stderr bytes.Buffer
			code := exitStatus(runValidateMapped(tt.giveArgs, cfg, nil, strings.NewReader(tt.giveStdin), &stdout, &stderr), &stderr)
			if code != tt.wantCode || !strings.HasPrefix(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("exit %d stdout %.200q stderr %q; want %d, %q, %q", code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}
