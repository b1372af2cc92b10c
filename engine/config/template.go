package config

import _ "embed"

// Template is the commented steward.yaml that steward init writes: the
// approval groups the bundled runbooks name, with a placeholder member,
// and the bundled plugins on their sandboxes. It parses (see Parse).
//
//go:embed init.yaml
var Template string
