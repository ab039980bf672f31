package config

import "testing"

func TestMaxPendingBytes(t *testing.T) {
	base := map[string]string{"ORDERSYNC_BROKERS": "k:9092", "ORDERSYNC_TOPICS": "orders"}
	tests := []struct {
		give    string
		want    int64
		wantErr bool
	}{
		{"", 64 << 20, false},
		{"1048576", 1 << 20, false},
		{"512KiB", 512 << 10, false},
		{"64MiB", 64 << 20, false},
		{"2GiB", 2 << 30, false},
		{"0", 0, true},
		{"-1MiB", 0, true},
		{"64MB", 0, true},
		{"lots", 0, true},
	}
	for _, tt := range tests {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		if tt.give != "" {
			env["ORDERSYNC_MAX_PENDING_BYTES"] = tt.give
		}
		cfg, _, err := load(t, nil, env, 0)
		switch {
		case tt.wantErr && err == nil:
			t.Errorf("%q: no error, want one naming ORDERSYNC_MAX_PENDING_BYTES", tt.give)
		case tt.wantErr:
			if cerr, ok := err.(*Error); !ok || cerr.Setting != "ORDERSYNC_MAX_PENDING_BYTES (--max-pending-bytes)" {
				t.Errorf("%q: err %v, want one naming ORDERSYNC_MAX_PENDING_BYTES", tt.give, err)
			}
		case err != nil:
			t.Errorf("%q: %v", tt.give, err)
		case cfg.MaxPendingBytes != tt.want:
			t.Errorf("%q: %d bytes, want %d", tt.give, cfg.MaxPendingBytes, tt.want)
		}
	}
}
