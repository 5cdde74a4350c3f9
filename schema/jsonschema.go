package schema

import _ "embed"

// EnrichedJSONSchema is the JSON Schema (draft 2020-12) of the enriched
// record as AppendJSON writes it (file enriched.v1.schema.json). Its $id is
// EnrichedSchemaID.
//
//go:embed enriched.v1.schema.json
var EnrichedJSONSchema []byte

// EnrichedSchemaID is the $id of EnrichedJSONSchema.
const EnrichedSchemaID = "https://github.com/wiretag/wiretag/schema/enriched.v1.schema.json"
