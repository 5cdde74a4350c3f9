package config

import _ "embed"

// DefaultRulesName is how the embedded rules are named in errors and logs.
const DefaultRulesName = "config/rules.yaml (embedded)"

//go:embed rules.yaml
var defaultRules []byte

// DefaultRules returns the embedded alert rules (config/rules.yaml).
func DefaultRules() []byte { return defaultRules }
