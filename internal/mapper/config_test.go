package mapper

import (
	"errors"
	"testing"
)

// TestNewConfigError checks that New names the Config field it refuses, so
// a caller can point at the setting that holds it.
func TestNewConfigError(t *testing.T) {
	tests := []struct {
		give      Config
		wantField string
	}{
		{Config{Mode: "partner"}, "Mode"},
		{Config{Mode: ModeServiceProvider, MchID: long("1", 33)}, "MchID"},
		{Config{Mode: ModeServiceProvider, SpAppID: "wx😀"}, "SpAppID"},
		{Config{Mode: ModeChannel, ChannelID: "1", MaxValueBytes: -1}, "MaxValueBytes"},
		{Config{Mode: ModeChannel, ChannelID: long("2", 40)}, "ChannelID"},
	}
	for _, tt := range tests {
		_, err := New(tt.give)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.wantField || ce.Reason == "" {
			t.Errorf("New(%+v) = %v (%T), want a *ConfigError for %s", tt.give, err, err, tt.wantField)
		}
	}
	if _, err := New(Config{Mode: "partner"}); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("unknown mode error %v does not wrap ErrUnknownMode", err)
	}
}
