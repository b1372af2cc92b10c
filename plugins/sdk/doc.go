// Package sdk is how to write a Steward action plugin in Go.
//
// A plugin is a program named steward-plugin-NAME that Steward starts on
// first use and talks to over hashicorp/go-plugin (gRPC, protocol
// plugins/proto/v1). With this package it is a set of Go functions over
// typed structs, and a main that is one call to Serve:
//
//	package main
//
//	import (
//		"context"
//		"errors"
//		"time"
//
//		"github.com/stewardhq/steward/plugins/sdk"
//	)
//
//	// Settings come from plugins.settings.payments in steward.yaml.
//	type Settings struct {
//		Endpoint string `json:"endpoint" desc:"base URL of the payments API"`
//		APIKey   string `json:"api_key" desc:"API key; write {secret: PAYMENTS_KEY}" steward:"sensitive"`
//	}
//
//	type GetPaymentInput struct {
//		PaymentID string `json:"payment_id" pattern:"^pay_[a-z0-9]+$" desc:"the card payment"`
//		Expand    bool   `json:"expand,omitempty" desc:"include the authorization history"`
//	}
//
//	type GetPaymentOutput struct {
//		Status   string    `json:"status" enum:"authorized,declined,settled,refunded"`
//		Amount   int64     `json:"amount" desc:"in minor units"`
//		Currency string    `json:"currency"`
//		Created  time.Time `json:"created"`
//	}
//
//	type payments struct{ settings Settings }
//
//	// getPayment is payments.get_payment. fetch, errNotFound and
//	// errThrottled are the plugin's API client (not shown).
//	func (p *payments) getPayment(ctx context.Context, call *sdk.Call, in GetPaymentInput) (GetPaymentOutput, error) {
//		call.Infof("looking up %s at %s", in.PaymentID, p.settings.Endpoint)
//		pay, err := fetch(ctx, p.settings, in.PaymentID)
//		switch {
//		case errors.Is(err, errNotFound):
//			return GetPaymentOutput{}, sdk.Error("not_found", "no payment %s", in.PaymentID)
//		case errors.Is(err, errThrottled):
//			return GetPaymentOutput{}, sdk.Retryable("rate_limited", "the payments API throttled us: %w", err)
//		case err != nil:
//			return GetPaymentOutput{}, err // code failed, not retryable
//		}
//		return GetPaymentOutput{Status: pay.Status, Amount: pay.Amount, Currency: pay.Currency, Created: pay.Created}, nil
//	}
//
//	func main() {
//		p := &payments{}
//		sdk.Serve(sdk.Plugin{
//			Name:    "payments",
//			Version: "1.0.0",
//			Config:  &p.settings,
//			Actions: []sdk.ActionDef{
//				sdk.Action("get_payment", p.getPayment, sdk.Describe("Looks up a card payment.")),
//			},
//		})
//	}
//
// A runbook then uses payments.get_payment like any built-in action, and
// `steward validate` checks its with against the schema derived from
// GetPaymentInput. docs/plugins.md is the tutorial; plugins/example is a
// complete plugin with its tests.
//
// # Schemas
//
// The JSON Schemas of an action's input and output, and of the settings,
// are derived from the structs by reflection, the way encoding/json sees
// them:
//
//   - The property name is the json tag's name, or the Go field's name.
//     Fields tagged json:"-" and unexported fields are left out; the
//     fields of an embedded struct are flattened into the outer one. Two
//     fields with the same JSON name are an error.
//   - A field is required unless its json tag says omitempty (or
//     omitzero) or it is a pointer. A required field must be present in
//     a step's with, even when its value would be the zero value.
//   - Objects are closed: a with with a key the struct does not have is
//     an error. (The schema leaves additionalProperties out: Steward reads
//     an object with properties as closed.)
//   - Types: string → string; bool → boolean; ints → integer (uints also
//     get minimum 0); floats → number; slices and arrays → array with
//     items; []byte → string (base64, as encoding/json writes it); maps
//     with string keys → object with additionalProperties; structs →
//     closed objects; pointers → the type they point to, optional; any
//     and json.RawMessage → any value; time.Time → string with format
//     date-time; Duration → string with format duration (a Go duration
//     such as 1m30s). A type with its own MarshalJSON or UnmarshalJSON is
//     a string if it is also an encoding.TextMarshaler, else any value.
//   - Unsupported: channels, functions, complex numbers, interfaces with
//     methods, maps whose keys are not strings, recursive types, and the
//     json option ",string". Serve refuses to start, naming the action
//     and the field; sdktest.Start fails the test.
//
// Tags read besides json (each a constraint on the value, or on each item
// of a list; one that does not fit the type is an error at startup):
//
//	desc:"..."            the description shown by `steward plugins describe`
//	enum:"a,b,c"          allowed values (strings, or numbers for number fields)
//	pattern:"^pay_"       a regular expression a string must match
//	min:"0" max:"100"     bounds of a number
//	format:"duration"     a string's format ("duration" is checked by steward validate)
//	steward:"sensitive"   the value is a secret: x-sensitive in the schema; on an
//	                      output field, the field is listed as sensitive and its
//	                      value redacted from the run's record and output
//
// An output field that contains a sensitive field anywhere below it is
// listed as sensitive as a whole.
//
// # Calls
//
// The step's with is checked against the input schema and decoded into
// the input struct with unknown fields disallowed; a problem is an
// invalid_input error naming the field (with.amount must be at least 0)
// and the handler is not called. The handler's context is cancelled when
// the step times out or the run is cancelled: pass it on. *Call says who
// calls (run, step, for_each index, attempt, dry-run, undo, deadline),
// carries the idempotency key, and streams log lines to the run while the
// handler runs (Call.Infof and friends).
//
// A handler's error becomes the step's error: Error makes a failure that
// trying again will not fix, Retryable one that it may; any other error
// has code failed and is not retryable, except the context's errors
// (timeout, retryable; cancelled). A panic in a handler is recovered: its
// stack is logged at error level and the call fails with the retryable
// code plugin_panic. A panic in another goroutine kills the process:
// Steward reports the retryable plugin_crashed and starts a fresh process
// on the next call.
//
// An action declared with Mutates is never executed in a dry-run (the SDK
// refuses with code dry_run should a host ask). Declare Idempotent only
// when running the action twice with the same Call.IdempotencyKey has the
// effect of running it once.
//
// # Settings
//
// Plugin.Config points to a settings struct. Steward sends the settings
// of plugins.settings.NAME in steward.yaml, secrets resolved, once per
// process before the first call; the SDK checks them against the
// struct's schema and decodes them into it, then calls Plugin.Configure
// if set. A refusal (an unknown key, a missing required field, an error
// from Configure) stops the plugin from starting, and the message is
// shown to the user. The SDK never runs a handler while it writes the
// settings, so handlers read the struct without locking. A plugin with no
// Config refuses any settings.
//
// # Serving
//
// Serve is the whole main. It checks the plugin (names, schemas), serves
// the go-plugin handshake with the protocol version 1, logs go-plugin's own
// messages at warn level only, and exits when Steward is gone. A plugin
// must not write to stdout before Serve: stdout carries the handshake.
// Test a plugin with package sdktest, in process.
package sdk
