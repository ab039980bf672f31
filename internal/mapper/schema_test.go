package mapper

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaPath = "../../docs/order-event.schema.json"

// TestSchemaAgreesWithMapper runs docs/order-event.schema.json over the rule
// table and the plain-shape golden inputs: whatever Map accepts the schema
// accepts, and whatever Map rejects the schema rejects, except the rules the
// schema documents as enforced by the worker only (goOnly cases).
func TestSchemaAgreesWithMapper(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	check := func(t *testing.T, value []byte, wantValid bool) {
		t.Helper()
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(value))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		err = sch.Validate(inst)
		switch {
		case wantValid && err != nil:
			t.Errorf("schema rejects an event the mapper accepts: %v", err)
		case !wantValid && err == nil:
			t.Errorf("schema accepts an event the mapper rejects")
		}
	}
	for _, rc := range ruleCases {
		if rc.goOnly || rc.noSchema {
			continue
		}
		t.Run(rc.name, func(t *testing.T) { check(t, rc.value(t), rc.want == nil) })
	}
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*_plain_*.input.json"))
	if len(inputs) == 0 {
		t.Fatal("no plain golden inputs")
	}
	for _, input := range inputs {
		t.Run(filepath.Base(input), func(t *testing.T) {
			value, err := os.ReadFile(input)
			if err != nil {
				t.Fatal(err)
			}
			check(t, value, !strings.Contains(input, "invalid"))
		})
	}
}
