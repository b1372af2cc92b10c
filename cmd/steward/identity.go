package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// identity is the value of --as: a name the journal keeps as it is given,
// so UTF-8 text without control characters (a byte that is not UTF-8
// would be recorded changed, and audit verify would take it for an edit).
type identity string

func (v *identity) String() string { return string(*v) }
func (v *identity) Type() string   { return "NAME" }

func (v *identity) Set(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not UTF-8 text", s)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Errorf("%q holds a control character", s)
	}
	*v = identity(s)
	return nil
}
