package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ordersync/ordersync/internal/config"
)

// TestLoggerMillisecondTimestamps: every line's time has milliseconds, in both formats.
func TestLoggerMillisecondTimestamps(t *testing.T) {
	for _, tt := range []struct {
		giveFormat string
		wantTime   *regexp.Regexp
	}{
		{"json", regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$`)},
		{"console", regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d) `)},
	} {
		t.Run(tt.giveFormat, func(t *testing.T) {
			var buf bytes.Buffer
			log := newLogger(&config.Config{LogFormat: tt.giveFormat, LogLevel: zerolog.InfoLevel}, &buf)
			log.Info().Msg("consumer started")
			got := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(buf.String(), "")
			if tt.giveFormat == "json" {
				var line struct{ Time string }
				if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
					t.Fatalf("%v: %s", err, got)
				}
				got = line.Time
			}
			if !tt.wantTime.MatchString(got) {
				t.Fatalf("time %q does not match %s", got, tt.wantTime)
			}
		})
	}
}
