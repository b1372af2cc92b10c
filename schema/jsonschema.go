package schema

import _ "embed"

//go:embed runbook.schema.json
var jsonSchema []byte

// JSONSchema returns the runbook format's JSON Schema (2020-12), for editors
// with yaml-language-server and for tools that check runbooks without
// Steward. The Go loader is stricter: it also checks expressions, references
// and the dependency graph.
func JSONSchema() []byte { return append([]byte(nil), jsonSchema...) }
