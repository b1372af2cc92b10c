package review

import (
	"encoding/json"
	"sort"

	"github.com/stewardhq/steward/engine/runs"
)

// Linked returns the runs of the incident id among ds, oldest first: the
// runs that have id as an input value (an alert's fingerprint, an
// incident's id, at any depth of the inputs), and the runs that escalated
// with one of the dedupe keys those runs escalated with (dedupe_keys of
// escalate-incident: alert:FINGERPRINT, incident:provider:NAME), from the
// first linked run's start to the last one's end. A sub-run is left out:
// its parent's review shows its step.
func Linked(id string, ds []*runs.Document) []*runs.Document {
	direct := map[string]bool{}
	keys := map[string]bool{"alert:" + id: true, id: true}
	for _, d := range ds {
		if d.Run.Parent == "" && hasValue(d.Inputs, id) {
			direct[d.Run.ID] = true
			for _, k := range dedupeKeys(d) {
				keys[k] = true
			}
		}
	}
	var from, to string
	for _, d := range ds {
		if !direct[d.Run.ID] {
			continue
		}
		if s := d.Run.StartedAt.UTC().Format("2006-01-02T15:04:05.000000000Z"); from == "" || s < from {
			from = s
		}
		end := d.Run.FinishedAt
		if end.IsZero() {
			end = d.Run.UpdatedAt
		}
		if s := end.UTC().Format("2006-01-02T15:04:05.000000000Z"); s > to {
			to = s
		}
	}
	var out []*runs.Document
	for _, d := range ds {
		if d.Run.Parent != "" {
			continue
		}
		linked := direct[d.Run.ID]
		if !linked && from != "" {
			at := d.Run.StartedAt.UTC().Format("2006-01-02T15:04:05.000000000Z")
			for _, k := range dedupeKeys(d) {
				if keys[k] && at >= from && at <= to {
					linked = true
				}
			}
		}
		if linked {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Run.StartedAt.Before(out[j].Run.StartedAt) })
	return out
}

// hasValue says whether v holds the string s, at any depth.
func hasValue(v any, s string) bool {
	switch v := v.(type) {
	case string:
		return v == s
	case map[string]any:
		for _, x := range v {
			if hasValue(x, s) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if hasValue(x, s) {
				return true
			}
		}
	}
	return false
}

// dedupeKeys are the dedupe keys a run's steps escalated with: the
// dedupe_keys members, at any depth, of the resolved with its
// step.started (and attempt.started) records hold.
func dedupeKeys(d *runs.Document) []string {
	var keys []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if l, ok := x.([]any); ok && k == "dedupe_keys" {
					for _, s := range l {
						if s, ok := s.(string); ok {
							keys = append(keys, s)
						}
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, e := range d.Timeline {
		if e.Type != "step.started" && e.Type != "attempt.started" {
			continue
		}
		var m any
		if json.Unmarshal(e.Data, &m) == nil {
			walk(m)
		}
	}
	return keys
}
