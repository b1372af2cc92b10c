package engine

import (
	"errors"

	"github.com/stewardhq/steward/schema"
)

// ConcurrencyKey evaluates the runbook's concurrency.key as its run will
// see it: over the inputs (defaults applied, as CheckInputs returns them),
// the vars, and run; "" when the runbook has none or it is null (then the
// run waits for no one). A secret in the key is
// redacted (opts.Redact). The run service makes runs that share a key
// wait for each other (see runs.Service.Start).
func ConcurrencyKey(rb *schema.Runbook, inputs map[string]any, opts Options) (string, error) {
	if rb.Concurrency == nil || rb.Concurrency.Key == nil {
		return "", nil
	}
	r := newRunner(rb, inputs, opts)
	if fail := r.evalVars(); fail != nil {
		return "", errors.New(fail.Message)
	}
	v, err := (&scope{r: r, env: r.base}).expr(rb.Concurrency.Key)
	if err != nil {
		return "", err
	}
	return r.opts.Redact.String(text(v)), nil
}
