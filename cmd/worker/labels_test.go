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
