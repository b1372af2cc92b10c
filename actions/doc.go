// Package actions defines what a step can do: the Action interface, the
// Spec every action declares next to its code (input and output schemas,
// whether it mutates, whether it is idempotent, which outputs are secret),
// and the Registry the engine looks actions up in.
//
// Built-in actions live in actions/core (core.*), actions/http
// (http.request) and actions/exec (exec). Plugin actions (package plugins)
// arrive in the same Registry; the engine never knows the difference.
//
// An action returns its outputs as a map of plain data (strings, numbers,
// booleans, lists, maps), or an error. An *Error says whether retrying may
// help; any other error is treated as not retryable.
package actions
