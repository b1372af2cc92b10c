// Command steward runs vetted runbooks and records every run.
package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sync"

	"github.com/stewardhq/steward/engine/printable"
)

func main() {
	err := newRootCmd().Execute()
	if err == nil {
		return
	}
	code := 2 // bad usage unless the command said otherwise
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			os.Exit(code)
		}
		err = ee.err
	}
	// An error may quote what an action, a plugin or the journal said:
	// its control characters are escaped, as in every text output.
	fmt.Fprintln(os.Stderr, "steward:", printable.String(userMessage(err.Error())))
	os.Exit(code)
}

// internalPrefix is the name of one of Steward's packages where an
// error's message, or a cause wrapped in it, starts: Go's convention
// ("journal: run not found") names the package for its developers.
var internalPrefix = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(^|: |; |\n|\()(journal|engine|runs|runbooks|sources|actions|plugins|config|sqlite|schema|redact|evidence|auth|checkpoint): `)
})

// userMessage is an error's message as a user reads it: what went wrong,
// without the internal package that said so.
func userMessage(s string) string {
	for {
		t := internalPrefix().ReplaceAllString(s, "$1")
		if t == s {
			return s
		}
		s = t
	}
}
