package ldaptest

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Record is one entry of an LDIF text.
type Record struct {
	DN         string
	Attributes []Attribute // in the order of the text, one per name
	Line       int         // the line of its dn:
}

// Attribute is an attribute of a Record and its values.
type Attribute struct {
	Name   string
	Values []string
}

// ParseLDIF reads the add records of an LDIF text (RFC 2849, without
// change records other than add, and without URL values): records separated
// by blank lines, "name: value" and "name:: base64" lines, lines that
// continue the previous one when they start with a space, # comments, and an
// optional "version: 1" first. Errors name the line.
func ParseLDIF(text string) ([]Record, error) {
	type line struct {
		n    int
		text string
	}
	var records [][]line
	var cur []line
	flush := func() {
		if len(cur) > 0 {
			records = append(records, cur)
			cur = nil
		}
	}
	for i, raw := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		n := i + 1
		switch {
		case strings.TrimSpace(raw) == "":
			flush()
		case strings.HasPrefix(raw, "#"):
		case strings.HasPrefix(raw, " "):
			if len(cur) == 0 {
				return nil, fmt.Errorf("ldif line %d: a continuation line (starting with a space) must follow another line", n)
			}
			cur[len(cur)-1].text += raw[1:]
		default:
			cur = append(cur, line{n, raw})
		}
	}
	flush()
	var out []Record
	for ri, rec := range records {
		var r Record
		for li, l := range rec {
			name, value, ok := strings.Cut(l.text, ":")
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return nil, fmt.Errorf("ldif line %d: %q is not \"name: value\"", l.n, l.text)
			}
			switch {
			case strings.HasPrefix(value, ":"):
				b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value[1:]))
				if err != nil {
					return nil, fmt.Errorf("ldif line %d: the base64 value of %s does not decode: %v", l.n, name, err)
				}
				value = string(b)
			case strings.HasPrefix(value, "<"):
				return nil, fmt.Errorf("ldif line %d: URL values (%s:<) are not supported: write the value", l.n, name)
			default:
				value = strings.TrimLeft(value, " ")
			}
			switch {
			case ri == 0 && li == 0 && strings.EqualFold(name, "version"):
				continue
			case r.DN == "" && r.Line == 0:
				if !strings.EqualFold(name, "dn") {
					return nil, fmt.Errorf("ldif line %d: a record starts with dn, not %s", l.n, name)
				}
				r.DN, r.Line = value, l.n
				continue
			case strings.EqualFold(name, "changetype"):
				if value != "add" {
					return nil, fmt.Errorf("ldif line %d: changetype %s is not supported: Seed only adds entries", l.n, value)
				}
				continue
			}
			found := false
			for i := range r.Attributes {
				if strings.EqualFold(r.Attributes[i].Name, name) {
					r.Attributes[i].Values = append(r.Attributes[i].Values, value)
					found = true
					break
				}
			}
			if !found {
				r.Attributes = append(r.Attributes, Attribute{Name: name, Values: []string{value}})
			}
		}
		if r.Line == 0 {
			continue // a lone version: line
		}
		if len(r.Attributes) == 0 {
			return nil, fmt.Errorf("ldif line %d: the record of %s has no attributes", r.Line, r.DN)
		}
		out = append(out, r)
	}
	return out, nil
}
