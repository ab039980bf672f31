package main

import (
	"strings"
	"testing"
)

// TestRunStopsOnUnsupportedTracingSetting: an OTEL_* value this build cannot honour stops run at
// start, exit 2, one line naming it — instead of running without the traces that were asked for.
func TestRunStopsOnUnsupportedTracingSetting(t *testing.T) {
	for _, tt := range []struct {
		giveEnv map[string]string
		want    string
	}{
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			"worker: invalid setting OTEL_EXPORTER_OTLP_PROTOCOL=grpc"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"}, "worker: invalid setting OTEL_TRACES_EXPORTER=jaeger"},
	} {
		runEnv(t)
		for k, v := range tt.giveEnv {
			t.Setenv(k, v)
		}
		code, _, stderr := dispatchArgs(t, "run", "--http-addr", "127.0.0.1:0")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != exitUsage || len(lines) != 1 || !strings.HasPrefix(lines[0], tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line %q", tt.giveEnv, code, stderr, tt.want)
		}
	}
}
