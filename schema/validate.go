package schema

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(EnrichedJSONSchema))
	if err != nil {
		return nil, fmt.Errorf("schema: %s: %w", EnrichedSchemaID, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(EnrichedSchemaID, doc); err != nil {
		return nil, err
	}
	return c.Compile(EnrichedSchemaID)
})

// EnrichedSchema returns EnrichedJSONSchema compiled (once), with format
// assertions on, for callers that validate many records.
func EnrichedSchema() (*jsonschema.Schema, error) {
	return compiledSchema()
}

// ValidateEnriched checks an encoded enriched record against
// EnrichedJSONSchema. The error, if any, says which part of the record
// breaks which rule.
func ValidateEnriched(record []byte) error {
	sch, err := compiledSchema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(record))
	if err != nil {
		return fmt.Errorf("schema: record is not JSON: %w", err)
	}
	return sch.Validate(inst)
}
