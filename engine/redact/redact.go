// Package redact replaces secret values by "***" wherever they appear:
// whole values, inside longer strings, and in the forms a secret takes on
// its way out (see Set.Add): inside JSON or URLs carried in strings, base64
// (a Basic Authorization header built from it), hex, trimmed of its
// whitespace. The engine feeds it every secret it learns (secret inputs,
// secret() values, sensitive action outputs) and redacts every event and
// document before anything stores or prints it.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Mask replaces a secret.
const Mask = "***"

// MinDerived is the length, in characters, from which a secret is also
// redacted in the forms derived from it (its encodings, its trimmed and
// whitespace-normalised forms, its lines): the encoding of a shorter value
// is too likely to occur by chance in ordinary text. A secret is always
// redacted as it is, and URL- and JSON-escaped, whatever its length.
const MinDerived = 6

// MinPiece is the length, in bytes, from which the piece of a secret that
// a cut leaves (its start before the cut, or its end after it) is masked:
// see Set.CutEnd and Cut. Shorter pieces are left, since masking them
// would mask ordinary text that merely starts like a secret.
const MinPiece = 3

// Cut is the mark of a text cut short: a piece of a secret next to it is
// masked by Set.String.
const Cut = "…"

// maxCuts bounds the cut marks looked at in one string, so that a text
// made of marks costs no more than a few of them.
const maxCuts = 64

// Set is a set of secret values. The zero value is empty and ready; a Set
// is safe for concurrent use.
type Set struct {
	mu       sync.RWMutex
	values   map[string]struct{}
	compiled *compiled // nil when it must be rebuilt
}

// compiled is what redacting uses, built from the values when they change.
type compiled struct {
	r     *strings.Replacer
	forms []string // the values, longest first
}

// Add makes v a secret, with the forms it takes on its way out:
//
//   - inside a URL (query and path escaping, and every reserved byte
//     escaped as RFC 3986 does) and inside JSON (escaped, with and without
//     HTML escaping, with non-ASCII as \uXXXX, and escaped twice: JSON
//     carried in a JSON string);
//   - when v has MinDerived characters or more: its base64 (standard and
//     URL alphabets, padded or not), also where it is encoded after other
//     bytes, such as a Basic Authorization header (base64 of user:v), and
//     its hex (lower and upper case);
//   - the same for v trimmed of surrounding whitespace, for v with each run
//     of whitespace made one space (a YAML | block quoted on one line), and
//     for each line of a value of several lines, when these have
//     MinDerived characters or more.
//
// Empty values are ignored: they cannot be found.
func (s *Set) Add(v string) {
	if v == "" {
		return
	}
	forms := map[string]struct{}{}
	for i, b := range bases(v) {
		if i > 0 && utf8.RuneCountInString(b) < MinDerived {
			continue
		}
		for _, f := range escaped(b) {
			forms[f] = struct{}{}
		}
		if utf8.RuneCountInString(b) >= MinDerived {
			for _, f := range encoded(b) {
				forms[f] = struct{}{}
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]struct{}{}
	}
	for f := range forms {
		if f == "" {
			continue
		}
		if _, ok := s.values[f]; !ok {
			s.values[f] = struct{}{}
			s.compiled = nil
		}
	}
}

// bases are v, then the values derived from it that are redacted with
// their own forms: trimmed, whitespace-normalised, and its lines.
func bases(v string) []string {
	out := []string{v}
	seen := map[string]bool{v: true}
	add := func(b string) {
		if b != "" && !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	add(strings.TrimSpace(v))
	add(strings.Join(strings.Fields(v), " "))
	if lines := strings.Split(strings.TrimSpace(v), "\n"); len(lines) > 1 {
		for _, l := range lines {
			add(strings.TrimSpace(l))
		}
	}
	return out
}

// escaped are v and the forms it takes inside URLs and JSON.
func escaped(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v), strictEscape(v)}
	j := jsonEscape(v, true)
	out = append(out, j, jsonEscape(v, false), asciiJSON(j), jsonEscape(j, false))
	return out
}

// jsonEscape is v inside a JSON string, without its quotes.
func jsonEscape(v string, html bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	if enc.Encode(v) != nil {
		return ""
	}
	b := bytes.TrimSpace(buf.Bytes())
	return string(b[1 : len(b)-1])
}

// asciiJSON is a JSON-escaped string with every non-ASCII character
// written \uXXXX (a surrogate pair beyond the BMP), as Python's json.dumps
// writes it.
func asciiJSON(j string) string {
	var b strings.Builder
	for _, r := range j {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			b.WriteString(`\u` + strconv.FormatInt(int64(0xD800+(r>>10)), 16))
			b.WriteString(`\u` + strconv.FormatInt(int64(0xDC00+(r&0x3FF)), 16))
		default:
			b.WriteString(`\u` + leftPad(strconv.FormatInt(int64(r), 16)))
		}
	}
	return b.String()
}

func leftPad(h string) string { return strings.Repeat("0", 4-len(h)) + h }

// strictEscape percent-encodes every byte but the unreserved characters
// of RFC 3986 (A-Z a-z 0-9 - . _ ~), as OAuth signatures and most
// clients' "encode component" functions do.
func strictEscape(v string) string {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
	return b.String()
}

// encoded are the base64 and hex forms of v. Besides the encodings of v
// alone, it has, for each of the three alignments v may have after other
// bytes (user: in a Basic header), the characters of the base64 that
// depend on v's bytes only: so base64("anyone:" + v) loses all of v but
// the few bits that share a character with its neighbours.
func encoded(v string) []string {
	b := []byte(v)
	out := []string{hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b))}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		out = append(out, enc.EncodeToString(b))
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for off := 0; off < 3; off++ {
			src := make([]byte, off+len(b))
			copy(src[off:], b)
			e := enc.EncodeToString(src)
			// Character i holds bits [6i, 6i+6) of src; v holds bits
			// [8off, 8(off+len)).
			first, end := (8*off+5)/6, 8*(off+len(b))/6
			out = append(out, e[first:end])
		}
	}
	return out
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

func (s *Set) get() *compiled {
	s.mu.RLock()
	c := s.compiled
	s.mu.RUnlock()
	if c != nil {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.compiled == nil {
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
		s.compiled = &compiled{r: strings.NewReplacer(pairs...), forms: vals}
	}
	return s.compiled
}

// String returns x with every secret replaced. Next to each mark of a cut
// (Cut, "…"), a piece of a secret of MinPiece bytes or more is masked too:
// the start of a secret before the mark, its end after it, which is what
// a text cut through a secret keeps of it.
func (s *Set) String(x string) string {
	if s.Empty() || x == "" {
		return x
	}
	return s.str(s.get(), x)
}

// str is String with c.
func (s *Set) str(c *compiled, x string) string {
	x = c.r.Replace(x)
	if !strings.Contains(x, Cut) {
		return x
	}
	forms := c.forms
	var b strings.Builder
	rest, n := x, 0
	for n < maxCuts {
		i := strings.Index(rest, Cut)
		if i < 0 {
			break
		}
		n++
		before := rest[:i]
		if k := startPiece(before, forms); k > 0 {
			before = before[:len(before)-k] + Mask
		}
		b.WriteString(before)
		b.WriteString(Cut)
		rest = rest[i+len(Cut):]
		if k := endPiece(rest, forms); k > 0 {
			b.WriteString(Mask)
			rest = rest[k:]
		}
	}
	b.WriteString(rest)
	return b.String()
}

// CutEnd returns x, a text cut at its end, with the start of a secret
// (MinPiece bytes or more) that the cut left at its end masked; the rest
// is unchanged. The output of a program kept up to a size goes through it,
// and an action's text quoted up to a length goes through String first.
func (s *Set) CutEnd(x string) string {
	if s.Empty() || x == "" {
		return x
	}
	if k := startPiece(x, s.get().forms); k > 0 {
		return x[:len(x)-k] + Mask
	}
	return x
}

// startPiece is the length of the longest start of a form, of MinPiece
// bytes or more but not the whole form, that x ends with; 0 if none.
func startPiece(x string, forms []string) int {
	best := 0
	for _, f := range forms {
		for k := min(len(f)-1, len(x)); k >= MinPiece && k > best; k-- {
			if x[len(x)-k] == f[0] && x[len(x)-k:] == f[:k] {
				best = k
				break
			}
		}
	}
	return best
}

// endPiece is the length of the longest end of a form, of MinPiece bytes
// or more but not the whole form, that x starts with; 0 if none.
func endPiece(x string, forms []string) int {
	best := 0
	for _, f := range forms {
		for k := min(len(f)-1, len(x)); k >= MinPiece && k > best; k-- {
			if x[k-1] == f[len(f)-1] && x[:k] == f[len(f)-k:] {
				best = k
				break
			}
		}
	}
	return best
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

func (s *Set) value(r *compiled, v any) any {
	switch x := v.(type) {
	case string:
		return s.str(r, x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[s.str(r, k)] = s.value(r, e)
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
			out[s.str(r, k)] = s.str(r, e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = s.str(r, e)
		}
		return out
	case json.RawMessage:
		return json.RawMessage(s.str(r, string(x)))
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
