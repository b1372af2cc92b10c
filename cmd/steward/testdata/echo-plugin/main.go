// Command steward-plugin-echo is a plugin for steward's CLI tests: it
// leaks its key setting in a log line, an output and on stderr, so that
// the tests see steward mask a secret setting everywhere.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/stewardhq/steward/plugins/sdk"
)

type settings struct {
	Key string `json:"key,omitempty" desc:"a secret, to leak"`
}

type sayInput struct {
	Message string `json:"message" desc:"what to say"`
}

type sayOutput struct {
	Said string `json:"said"`
}

func main() {
	var s settings
	sdk.Serve(sdk.Plugin{
		Name:        "echo",
		Version:     "0.1.0",
		Description: "Leaks its key: a plugin for steward's CLI tests.",
		Config:      &s,
		Actions: []sdk.ActionDef{
			sdk.Action("say", func(_ context.Context, call *sdk.Call, in sayInput) (sayOutput, error) {
				call.Infof("%s, with key %s", in.Message, s.Key)
				fmt.Fprintf(os.Stderr, "stderr knows the key %s\n", s.Key)
				return sayOutput{Said: in.Message + " " + s.Key}, nil
			}, sdk.Describe("Says its message and the key.")),
		},
	})
}
