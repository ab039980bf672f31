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
// It is judged on CPU per event (worker and harness), which sets the
// throughput of a saturated machine, because the wall-clock events/s of two
// cases run one after the other on a shared machine differ by more than the
// mapping costs; both events/s are printed beside it.
func mappingVerdicts(results []result) []verdict {
	var plain, pos *result
	for i := range results {
		if results[i].Baseline {
			continue // another build: the comparison is within one binary
		}
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
	cpuPlain, cpuPOS := plain.CPUPerEvent+plain.HarnessCPU, pos.CPUPerEvent+pos.HarnessCPU
	if cpuPlain <= 0 || cpuPOS <= 0 {
		return nil
	}
	share := float64(cpuPlain) / float64(cpuPOS) // saturated throughput with the mapping ÷ without
	return []verdict{{
		Target: fmt.Sprintf("%s: throughput at saturation ≥ %.2f × %s's (CPU per event without ÷ with the mapping)",
			caseNoLatencyPOS, 1-maxMappingCost, caseNoLatency),
		Got: fmt.Sprintf("%.2f (%.0f vs %.0f µs/event, worker + harness; wall clock %.0f vs %.0f events/s)",
			share, us(cpuPOS), us(cpuPlain), pos.PerSecond, plain.PerSecond),
		Pass: share >= 1-maxMappingCost,
	}}
}
