// Package engine executes a validated runbook (SPEC section 1): steps in
// dependency order, in parallel where they are independent, with
// conditions, templates, for_each, retries, timeouts, approvals, undo on
// failure and on_failure steps. It is a library: Run takes the runbook, its
// inputs and Options holding the actions.Registry to execute actions from,
// a Sink that receives every state change (progress output, the journal),
// and a clock.
//
//	res := engine.Run(ctx, rb, inputs, engine.Options{Registry: reg, Sink: sink})
//
// Inputs are checked before anything runs with CheckInputs; the CLI
// converts --input text with ParseInput.
package engine
