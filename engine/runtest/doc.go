// Package runtest runs runbook tests: NAME.test.yaml files beside runbooks,
// each a list of cases that run the runbook with given inputs, mocked
// actions and approval decisions, and check how the run ended (its status,
// error and outputs, and each step's status, attempts, error, outputs and
// resolved with). The file format is documented in docs/runbook-tests.md.
//
// Runs are real engine runs on a virtual Clock: retry delays and core.sleep
// take no time, and timeouts never fire. Every action that is not core.*
// must be mocked; core.* actions run for real unless mocked.
//
//	files, err := runtest.Find([]string{"runbooks"})
//	sum := runtest.RunFiles(ctx, os.Stdout, files, runtest.Options{Registry: reg})
//
// Load, Suite.Run and CaseResult give the same without the report.
package runtest
