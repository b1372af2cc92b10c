package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/stewardhq/steward/schema/dataschema"
)

// decode reads a JSON object into dst, strictly: it checks the object
// against s first (required fields, unknown fields, types, enums, ranges,
// patterns, durations), as the host does, then decodes it with unknown
// fields disallowed. Messages name the field from prefix: with.amount,
// settings.endpoint.
func decode(raw []byte, s *dataschema.Schema, prefix string, dst any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		raw = []byte("{}")
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("%s: not JSON: %v", prefix, err)
	}
	if _, ok := v.(map[string]any); !ok {
		return fmt.Errorf("%s must be a mapping", prefix)
	}
	if err := s.Check(v); err != nil {
		// Check names the top "with".
		msg := err.Error()
		if rest, ok := strings.CutPrefix(msg, "with"); ok {
			msg = prefix + rest
		}
		return errors.New(msg)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, prefix)
	}
	return nil
}

// jsonError rewrites an encoding/json error in the words of a step's with.
// Most problems are caught by the schema check first; these remain: a
// number too large for its Go type, a custom type's own refusal.
func jsonError(err error, prefix string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		path := prefix
		if te.Field != "" {
			path += "." + te.Field
		}
		return fmt.Errorf("%s: a JSON %s does not fit a Go %s", path, te.Value, te.Type)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return fmt.Errorf("%s: %s", prefix, msg)
}
