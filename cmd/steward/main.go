// Command steward runs vetted runbooks and records every run.
package main

import (
	"errors"
	"fmt"
	"os"
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
	fmt.Fprintln(os.Stderr, "steward:", err)
	os.Exit(code)
}
