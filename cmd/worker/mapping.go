package main

import (
	"github.com/ordersync/ordersync/internal/config"
	"github.com/ordersync/ordersync/internal/consumer"
	"github.com/ordersync/ordersync/internal/mapping"
)

// loadMapping compiles the program ORDERSYNC_MAPPING_FILE names, or returns
// nil when it is not set. An error (unreadable file, or a program that does
// not compile, with its line and column) names the setting.
func loadMapping(cfg *config.Config) (*mapping.Program, error) {
	if cfg.MappingFile == "" {
		return nil, nil
	}
	p, err := mapping.Load(cfg.MappingFile, mapping.Limits{})
	if err != nil {
		return nil, &config.Error{Setting: cfg.Settings.MappingFile.Label(), Reason: err.Error()}
	}
	return p, nil
}

// consumerMapping is p as the consumer's seam: nil (no program) stays a nil
// interface.
func consumerMapping(p *mapping.Program) consumer.Mapping {
	if p == nil {
		return nil
	}
	return p
}
