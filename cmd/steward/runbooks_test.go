package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRunbooksList: steward runbooks (and its alias list) lists the
// runbooks of the folders, then the bundled ones, by name, with title,
// inputs and source; a folder's runbook hides the bundled one of its
// name, and says so; -o json holds the inputs whole.
func TestRunbooksList(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "refund.yaml"), `version: 1
name: refund
title: Refund a card payment
inputs:
  payment_id: {type: string, required: true, description: From the ticket, pattern: '^pay_'}
  channel: {type: string, enum: [email, chat], default: email}
  note: {type: string, default: ""}
steps:
  - id: s
    action: core.log
    with: {message: hi}
`)
	writeFile(t, filepath.Join(dir, "runbooks", "decline-reply.yaml"), `version: 1
name: decline-reply
title: Our own decline reply
steps:
  - id: s
    action: core.log
    with: {message: hi}
`)
	writeFile(t, filepath.Join(dir, "runbooks", "broken.yaml"), "version: [\n")
	for _, cmd := range []string{"runbooks", "list"} {
		r := cli(t, dir, home, cmd)
		wantCode(t, r, exitOK, cmd)
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if !regexp.MustCompile(`^NAME\s+TITLE\s+INPUTS\s+SOURCE$`).MatchString(lines[0]) {
			t.Fatalf("%s: header %q", cmd, lines[0])
		}
		for _, re := range []string{
			`(?m)^refund\s+Refund a card payment\s+payment_id\*, channel=email, note=""\s+runbooks/refund.yaml$`,
			`(?m)^decline-reply\s+Our own decline reply\s+runbooks/decline-reply.yaml \(hides the bundled one\)$`,
			`(?m)^check-endpoint\s+Check that an HTTP endpoint answers\s+url\*, expect_status=200\s+bundled$`,
			`(?m)^broken\s+\(invalid: 1 problem; steward validate runbooks/broken.yaml\)\s+runbooks/broken.yaml$`,
		} {
			if !regexp.MustCompile(re).MatchString(r.stdout) {
				t.Errorf("%s: no line matches %s:\n%s", cmd, re, r.stdout)
			}
		}
		if n := strings.Count(r.stdout, "\ndecline-reply "); n != 1 {
			t.Errorf("%s: decline-reply is listed %d times:\n%s", cmd, n, r.stdout)
		}
	}

	r := cli(t, dir, home, "runbooks", "-o", "json")
	wantCode(t, r, exitOK, "runbooks -o json")
	var list []listedRunbook
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("runbooks -o json: %v\n%s", err, r.stdout)
	}
	byName := map[string]listedRunbook{}
	for _, e := range list {
		byName[e.Name] = e
	}
	ref := byName["refund"]
	if ref.File != "runbooks/refund.yaml" || ref.Bundled || len(ref.Inputs) != 3 {
		t.Fatalf("refund: %+v", ref)
	}
	if in := ref.Inputs[0]; in.Name != "payment_id" || !in.Required || in.Type != "string" || in.Pattern != "^pay_" || in.Description != "From the ticket" {
		t.Errorf("payment_id: %+v", in)
	}
	if in := ref.Inputs[1]; in.Default != "email" || len(in.Enum) != 2 {
		t.Errorf("channel: %+v", in)
	}
	if d := byName["decline-reply"]; d.Bundled || len(d.Hides) != 1 || d.Hides[0] != "bundled/decline-reply.yaml" {
		t.Errorf("decline-reply: %+v", d)
	}
	if c := byName["check-endpoint"]; !c.Bundled || c.File != "bundled/check-endpoint.yaml" || c.Title == "" {
		t.Errorf("check-endpoint: %+v", c)
	}
	if b := byName["broken"]; b.Problems != 1 {
		t.Errorf("broken: %+v", b)
	}

	// Folders of steward.yaml, in order; relative to it.
	writeFile(t, filepath.Join(dir, "conf", "steward.yaml"), "runbooks: [../more, ../runbooks]\n")
	writeFile(t, filepath.Join(dir, "more", "refund.yaml"), `version: 1
name: refund
title: The other refund
steps:
  - id: s
    action: core.log
    with: {message: hi}
`)
	r = cli(t, dir, home, "--config", "conf/steward.yaml", "runbooks")
	if !regexp.MustCompile(`(?m)^refund\s+The other refund\s+more/refund.yaml \(hides runbooks/refund.yaml\)$`).MatchString(r.stdout) {
		t.Errorf("with steward.yaml:\n%s", r.stdout)
	}
	r = cli(t, dir, home, "runbooks", "-o", "yaml")
	wantCode(t, r, exitInvalid, "-o yaml")
}

// TestRunbooksRunHelp: steward run NAME --help describes that runbook:
// title, file, description, and each input with its type, whether it is
// required, its default, description, enum and pattern; then the usage.
func TestRunbooksRunHelp(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "refund.yaml"), `version: 1
name: refund
title: Refund a card payment
description: Refunds the payment after an approval.
inputs:
  payment_id: {type: string, required: true, description: From the ticket, pattern: '^pay_'}
  channel: {type: string, enum: [email, chat], default: email, description: How to tell the customer}
  amount: {type: number, min: 0.5, max: 500}
  token: {type: string, secret: true}
steps:
  - id: s
    action: core.log
    with: {message: hi}
`)
	for _, args := range [][]string{{"run", "refund", "--help"}, {"run", "--help", "refund"}, {"run", "runbooks/refund.yaml", "-h"}} {
		r := cli(t, dir, home, args...)
		wantCode(t, r, exitOK, strings.Join(args, " "))
		want := `refund: Refund a card payment
  runbooks/refund.yaml

Refunds the payment after an approval.

Inputs (--input NAME=VALUE, or --inputs FILE):
  NAME        TYPE    REQUIRED  DEFAULT  DESCRIPTION
  payment_id  string  yes                From the ticket; matches ^pay_
  channel     string  no        email    How to tell the customer; one of: email, chat
  amount      number  no                 at least 0.5; at most 500
  token       string  no                 secret: never stored or printed

Usage:
  steward run NAME|FILE [flags]
`
		if !strings.HasPrefix(r.stdout, want) {
			t.Fatalf("%s:\n%s\nwant it to start with\n%s", strings.Join(args, " "), r.stdout, want)
		}
		if !strings.Contains(r.stdout, "--input stringArray") {
			t.Fatalf("%s: no flags:\n%s", strings.Join(args, " "), r.stdout)
		}
	}
	// A bundled runbook.
	r := cli(t, dir, home, "run", "check-endpoint", "--help")
	if !regexp.MustCompile(`(?m)^  url\s+string\s+yes\s+`).MatchString(r.stdout) || !strings.HasPrefix(r.stdout, "check-endpoint: ") {
		t.Fatalf("run check-endpoint --help:\n%s", r.stdout)
	}
	// Without a name: the command's help. An unknown name: that help, and why.
	r = cli(t, dir, home, "run", "--help")
	if !strings.HasPrefix(r.stdout, "Run a runbook") {
		t.Fatalf("run --help:\n%s", r.stdout)
	}
	r = cli(t, dir, home, "run", "refnd", "--help")
	wantCode(t, r, exitOK, "run refnd --help")
	if !strings.HasPrefix(r.stdout, "Run a runbook") || !strings.Contains(r.stderr, `no runbook named "refnd"`) || !strings.Contains(r.stderr, `did you mean "refund"?`) {
		t.Fatalf("run refnd --help:\n%s%s", r.stdout, r.stderr)
	}
}
