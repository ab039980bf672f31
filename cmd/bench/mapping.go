package main

import (
	"fmt"
	"path/filepath"

	"github.com/ordersync/ordersync/internal/sample"
)

// caseNoLatencyPOS is the no-latency case with the events produced in the
// POS export shape and the worker running docs/mappings/pos-export's
// program on each (ORDERSYNC_MAPPING_FILE).
const caseNoLatencyPOS = "no-latency-pos"

// posProgram is the worked POS mapping, relative to the repository root
// (make bench runs there).
const posProgram = "docs/mappings/pos-export/program.jq"

// maxMappingCost is the largest share of throughput the mapping may cost.
const maxMappingCost = 0.10

// posEvents rewrites evs in place into the POS export shape.
func posEvents(evs []sample.Event) ([]sample.Event, error) {
	for i, e := range evs {
		pos, err := sample.ToPOS(e)
		if err != nil {
			return nil, err
		}
		evs[i] = pos
	}
	return evs, nil
}

// mappingEnv is the worker's setting for s's mapping program, if any.
func mappingEnv(s spec) ([]string, error) {
	if s.mapping == "" {
		return nil, nil
	}
	abs, err := filepath.Abs(s.mapping)
	if err != nil {
		return nil, err
	}
	return []string{"ORDERSYNC_MAPPING_FILE=" + abs}, nil
}

// mappingVerdicts compares the POS case with the plain no-latency case when
// both ran: the mapping may cost at most maxMappingCost of the throughput.
func mappingVerdicts(results []result) []verdict {
	var plain, pos *result
	for i := range results {
		switch results[i].Case {
		case caseNoLatency:
			plain = &results[i]
		case caseNoLatencyPOS:
			pos = &results[i]
		}
	}
	if plain == nil || pos == nil {
		return nil
	}
	want := (1 - maxMappingCost) * plain.PerSecond
	return []verdict{{
		Target: fmt.Sprintf("%s: events/s ≥ %.2f × %s's", caseNoLatencyPOS, 1-maxMappingCost, caseNoLatency),
		Got: fmt.Sprintf("%.0f vs %.0f (CPU %.0f vs %.0f µs/event)",
			pos.PerSecond, want, us(pos.CPUPerEvent), us(plain.CPUPerEvent)),
		Pass: pos.PerSecond >= want,
	}}
}
