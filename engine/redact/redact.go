// Package redact replaces secret values by "***" wherever they appear:
// whole values, inside longer strings, and inside JSON or URLs carried in
// strings. The engine feeds it every secret it learns (secret inputs,
// secret() values, sensitive action outputs) and redacts every event and
// document before anything stores or prints it.
package redact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Mask replaces a secret.
const Mask = "***"

// Set is a set of secret values. The zero value is empty and ready; a Set
// is safe for concurrent use.
type Set struct {
	mu       sync.RWMutex
	values   map[string]struct{}
	replacer *strings.Replacer // nil when it must be rebuilt
}

// Add makes v a secret, with the forms it takes inside JSON and URLs.
// Empty values are ignored: they cannot be found.
func (s *Set) Add(v string) {
	if v == "" {
		return
	}
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v)}
	if b, err := json.Marshal(v); err == nil {
		forms = append(forms, string(b[1:len(b)-1]))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		b := bytes.TrimSpace(buf.Bytes())
		forms = append(forms, string(b[1:len(b)-1]))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]struct{}{}
	}
	for _, f := range forms {
		if _, ok := s.values[f]; !ok {
			s.values[f] = struct{}{}
			s.replacer = nil
		}
	}
}

// Empty says whether there is nothing to redact.
func (s *Set) Empty() bool {
	if s == nil {
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.values) == 0
}

func (s *Set) get() *strings.Replacer {
	s.mu.RLock()
	r := s.replacer
	s.mu.RUnlock()
	if r != nil {
		return r
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replacer == nil {
		vals := make([]string, 0, len(s.values))
		for v := range s.values {
			vals = append(vals, v)
		}
		// The longest secret wins where two overlap.
		sort.Slice(vals, func(i, j int) bool {
			if len(vals[i]) != len(vals[j]) {
				return len(vals[i]) > len(vals[j])
			}
			return vals[i] < vals[j]
		})
		pairs := make([]string, 0, 2*len(vals))
		for _, v := range vals {
			pairs = append(pairs, v, Mask)
		}
		s.replacer = strings.NewReplacer(pairs...)
	}
	return s.replacer
}

// String returns x with every secret replaced.
func (s *Set) String(x string) string {
	if s.Empty() || x == "" {
		return x
	}
	return s.get().Replace(x)
}

// Value returns a copy of v with every secret replaced in its strings, map
// keys included; a number that is a secret is replaced by Mask. Maps and
// slices of JSON-like values are copied; other values are returned as they
// are. v itself is not changed.
func (s *Set) Value(v any) any {
	if s.Empty() {
		return v
	}
	return s.value(s.get(), v)
}

// Map is Value for a map.
func (s *Set) Map(m map[string]any) map[string]any {
	if s.Empty() || m == nil {
		return m
	}
	return s.value(s.get(), m).(map[string]any)
}

func (s *Set) value(r *strings.Replacer, v any) any {
	switch x := v.(type) {
	case string:
		return r.Replace(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[r.Replace(k)] = s.value(r, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.value(r, e)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, e := range x {
			out[r.Replace(k)] = r.Replace(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = r.Replace(e)
		}
		return out
	case json.RawMessage:
		return json.RawMessage(r.Replace(string(x)))
	case int:
		return s.number(strconv.Itoa(x), v)
	case int64:
		return s.number(strconv.FormatInt(x, 10), v)
	case float64:
		return s.number(strconv.FormatFloat(x, 'f', -1, 64), v)
	}
	return v
}

// number returns Mask when the number, written as text, is a secret (a
// secret input of type integer, a sensitive output holding a number), and
// v otherwise.
func (s *Set) number(text string, v any) any {
	s.mu.RLock()
	_, ok := s.values[text]
	s.mu.RUnlock()
	if ok {
		return Mask
	}
	return v
}
