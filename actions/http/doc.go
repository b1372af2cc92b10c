// Package httpaction is the built-in action http.request: one HTTP request,
// its status checked against what the step expects, its answer returned as
// status, headers, body and (when the answer is JSON) json.
//
// Each action value made by New owns its own http.Client and Transport
// (dial, TLS handshake and response header timeouts; no global client).
// The whole exchange, body included, is bounded by the input's timeout and
// by the step's context; the body read is capped at max_bytes.
//
// Errors are *actions.Error with these codes:
//
//	invalid_input       the with does not fit (json and body both set...)
//	unexpected_status   the status is not the expected one; retryable for
//	                    408, 429 and 5xx
//	timeout             no complete answer in time (retryable)
//	connection          refused, reset, DNS failure (retryable)
//	tls                 the TLS handshake failed (certificate...)
//	cancelled           the run was cancelled
//	response_too_large  the body is larger than max_bytes
//	too_many_redirects  more than 5 redirects
//	failed              anything else
//
// Messages name the method and the URL without its query string, fragment
// or user info, and never hold header values: they may be credentials.
package httpaction
