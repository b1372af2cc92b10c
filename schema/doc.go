// Package schema defines what a runbook is: the model of runbook format v1
// with the position of every value, a strict loader that walks a yaml.Node
// (unknown keys, wrong types and bad formats are errors with a did-you-mean),
// semantic validation (step ids, needs, the dependency graph, inputs, cron
// specs) and the expression compiler, which compiles every ${{ }} and
// condition once, against the scope it will run in.
//
// Problems are Diagnostics: FILE:LINE:COL: FIELD.PATH: message, with the
// source line, a caret and a hint. Check collects every problem of a file in
// one pass.
//
//	rb, diags := schema.Check("refund.yaml", src)
//	if len(diags) > 0 {
//		fmt.Print(diags.Render())
//	}
//
// The package imports only the standard library, yaml.v3, expr and the cron
// parser gocron uses.
package schema
