package main

import "testing"

func TestMappingVerdict(t *testing.T) {
	tests := []struct {
		name     string
		give     []result
		wantPass []bool
	}{
		{"only the plain case", []result{{Case: caseNoLatency, PerSecond: 1000}}, nil},
		{"within 10 %", []result{{Case: caseNoLatency, PerSecond: 1000}, {Case: caseNoLatencyPOS, PerSecond: 901}}, []bool{true}},
		{"costs more", []result{{Case: caseNoLatencyPOS, PerSecond: 899}, {Case: caseNoLatency, PerSecond: 1000}}, []bool{false}},
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
