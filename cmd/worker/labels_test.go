package main

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/config"
)

// TestMapperErrorNamesTheSetting: a payload default mapper.New refuses is
// reported as the setting that holds it, flag included when the command
// registers it.
func TestMapperErrorNamesTheSetting(t *testing.T) {
	long := strings.Repeat("9", 33)
	for _, tt := range []struct {
		giveEnv     map[string]string
		wantSetting string
	}{
		{map[string]string{"ORDERSYNC_MCHID": long}, "ORDERSYNC_MCHID (--mchid)"},
		{map[string]string{"ORDERSYNC_SP_APPID": long}, "ORDERSYNC_SP_APPID (--sp-appid)"},
		{map[string]string{"ORDERSYNC_MODE": "channel", "ORDERSYNC_CHANNEL_ID": long}, "ORDERSYNC_CHANNEL_ID (--channel-id)"},
	} {
		t.Run(tt.wantSetting, func(t *testing.T) {
			for k, v := range tt.giveEnv {
				t.Setenv(k, v)
			}
			cfg, _, err := newSettings("validate", io.Discard, config.GroupMapper).load(nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, err = newMapper(cfg)
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Setting != tt.wantSetting {
				t.Errorf("newMapper: %v, want a config.Error naming %s", err, tt.wantSetting)
			}
		})
	}
}

// TestSubcommandErrorIsOneLine: a subcommand's usage error reaches stderr
// once, as one line, with its exit status.
func TestSubcommandErrorIsOneLine(t *testing.T) {
	clearEnv(t)
	t.Setenv("ORDERSYNC_BROKERS", "127.0.0.1:1")
	t.Setenv("ORDERSYNC_DLQ_TOPIC", "orders.dlq")
	for _, tt := range []struct {
		giveArgs   []string
		wantStderr string
	}{
		{[]string{"validate", "a", "b"}, "worker validate: want at most one FILE (or - for stdin), got 2 arguments\n"},
		{[]string{"replay", "--limit", "-1"}, "worker replay: --limit: must be 0 (no limit) or more, got -1\n"},
		{[]string{"dlq", "--since", "soon"}, "worker dlq: --since: want an RFC3339 time such as 2026-11-26T08:00:00Z or a duration such as 2h, got \"soon\"\n"},
	} {
		code, _, stderr := dispatchArgs(t, tt.giveArgs...)
		if code != exitUsage || stderr != tt.wantStderr {
			t.Errorf("%q: exit %d, stderr %q; want %d, %q", tt.giveArgs, code, stderr, exitUsage, tt.wantStderr)
		}
	}
}
