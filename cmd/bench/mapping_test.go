package main

import (
	"testing"
	"time"
)

func TestMappingVerdict(t *testing.T) {
	tests := []struct {
		name     string
		give     []result
		wantPass []bool
	}{
		{"only the plain case", []result{{Case: caseNoLatency, CPUPerEvent: 1000}}, nil},
		{"within 10 %", []result{{Case: caseNoLatency, CPUPerEvent: 900 * time.Microsecond, HarnessCPU: 100 * time.Microsecond},
			{Case: caseNoLatencyPOS, CPUPerEvent: 1000 * time.Microsecond, HarnessCPU: 100 * time.Microsecond}}, []bool{true}},
		{"costs more", []result{{Case: caseNoLatencyPOS, CPUPerEvent: 1120 * time.Microsecond},
			{Case: caseNoLatency, CPUPerEvent: 1000 * time.Microsecond}}, []bool{false}},
		{"the baseline build's run is not the comparison", []result{
			{Case: caseNoLatency, CPUPerEvent: 1000 * time.Microsecond},
			{Case: caseNoLatencyPOS, CPUPerEvent: 1120 * time.Microsecond},
			{Case: caseNoLatency, CPUPerEvent: 2000 * time.Microsecond, Baseline: true}}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mappingVerdicts(tt.give)
			if len(got) != len(tt.wantPass) {
				t.Fatalf("got %d verdicts, want %d", len(got), len(tt.wantPass))
			}
			for i, v := range got {
				if v.Pass != tt.wantPass[i] {
					t.Errorf("verdict %q pass %v, want %v", v.line(), v.Pass, tt.wantPass[i])
				}
			}
		})
	}
}
