package main

import (
	"fmt"
	"path/filepath"

	"github.com/ordersync/ordersync/internal/sample"
)

// mappingShape rewrites events in place into the shape the mapping program
// at path reads and returns the worker's ORDERSYNC_MAPPING_FILE setting; no
// path, no change. The demo knows one shape, the POS export of
// docs/mappings/pos-export.
func mappingShape(path string, events []sample.Event) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	if filepath.Base(filepath.Dir(path)) != "pos-export" {
		return nil, fmt.Errorf("--mapping %s: the demo produces events only in the shape of docs/mappings/pos-export/program.jq", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("--mapping: %w", err)
	}
	for i, e := range events {
		if events[i], err = sample.ToPOS(e); err != nil {
			return nil, err
		}
	}
	return []string{"ORDERSYNC_MAPPING_FILE=" + abs}, nil
}
