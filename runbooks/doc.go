// Package runbooks finds runbook files: in folders given on the command
// line now, and in the bundled library and Git sources as they arrive.
package runbooks
