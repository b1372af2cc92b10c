package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// exceptionsPolicy accepts eve in payments-admins until the end of 2026,
// and frank in the GitHub admins team until a day already past.
const exceptionsPolicy = testPolicy + `exceptions:
  - backend: directory
    group: payments-admins
    account: eve
    reason: covers the payments lead's leave (FIN-88)
    approved_by: cfo
    expires: 2026-12-31
  - backend: github
    group: admins
    account: frank
    reason: contractor migrating the CI (SEC-12)
    approved_by: omar
    expires: 2026-12-06
`

func decisions(out map[string]any) string {
	var lines []string
	for _, d := range out["decisions"].([]any) {
		m := d.(map[string]any)
		lines = append(lines, fmt.Sprintf("%s %s/%s/%s finding=%s expires=%s by=%s: %s", m["decision"], m["backend"], m["group"], m["account"],
			m["finding"], m["expires"], m["approved_by"], m["reason"]))
	}
	return strings.Join(lines, "\n")
}

// TestReviewDecisions: every privileged membership gets a decision: keep
// (the role grants it), exception (a finding the policy accepts, up to and
// including its expiry day) or revoke (a finding, also one whose exception
// expired the day before the review); revoke lists what to revoke, as
// access.revoke takes it.
func TestReviewDecisions(t *testing.T) {
	p := start(t, nil)
	with := reviewWith(testRoster, "roster.csv", privilegedMembers(t, p))
	with["policy"] = exceptionsPolicy
	out, _, err := p.Execute("review", with)
	if err != nil {
		t.Fatal(err)
	}
	want := `exception directory/payments-admins/eve finding=beyond_role expires=2026-12-31 by=cfo: the role support does not grant payments-admins on directory (it grants directory: support; github: support); accepted by cfo until 2026-12-31: covers the payments lead's leave (FIN-88)
keep directory/prod-admins/ben finding= expires= by=: the role sre grants prod-admins on directory
revoke directory/prod-admins/dmitri finding=leaver expires= by=: Dmitri Volkov (dmitri) left but dmitri is still in prod-admins on directory
revoke directory/prod-admins/frank finding=not_in_roster expires= by=: nobody in roster.csv has the account frank on directory
keep github/admins/ben finding= expires= by=: the role sre grants admins on github
revoke github/admins/frank finding=not_in_roster expires=2026-12-06 by=omar: nobody in roster.csv has the account frank on github; its exception (contractor migrating the CI (SEC-12)) expired on 2026-12-06
keep github/sre/ben finding= expires= by=: the role sre grants sre on github
revoke github/sre/dmitri finding=leaver expires= by=: Dmitri Volkov (dmitri) left but dmitri is still in sre on github`
	if got := decisions(out); got != want {
		t.Errorf("decisions\n%s\nwant\n%s", got, want)
	}
	if got := fmt.Sprint(out["revoke"]); got != "[map[backend:directory group:prod-admins user:dmitri] map[backend:directory group:prod-admins user:frank] map[backend:github group:admins user:frank] map[backend:github group:sre user:dmitri]]" {
		t.Errorf("revoke %s", got)
	}
	if fmt.Sprint(out["counts"]) != "map[beyond_role:1 exception:1 keep:3 leaver:2 not_in_roster:2 revoke:4 total:5]" || out["as_of"] != "2026-12-07" {
		t.Errorf("counts %v, as of %v", out["counts"], out["as_of"])
	}

	// On its expiry day an exception still holds.
	with["as_of"] = "2026-12-06"
	out, _, err = p.Execute("review", with)
	if err != nil || !strings.Contains(decisions(out), "exception github/admins/frank finding=not_in_roster expires=2026-12-06 by=omar") {
		t.Errorf("on the expiry day:\n%s (%v)", decisions(out), err)
	}
	with["as_of"] = "last monday"
	_, _, err = p.Execute("review", with)
	sdktest.WantError(t, err, "invalid_request", false, `with.as_of must be a time (RFC 3339) or a date (YYYY-MM-DD), got "last monday"`)
}

// TestInvalidExceptions: every problem of the exceptions, at its place.
func TestInvalidExceptions(t *testing.T) {
	p := start(t, nil)
	policy := testPolicy + `exceptions:
  - backend: directroy
    group: prod-admins
    account: frank
    reason: x
    approved_by: omar
    expires: next year
  - {backend: github, group: admins, account: frank, reason: y, expires: 2027-01-01, approver: omar}
  - {backend: github, group: admins, account: FRANK, reason: y, approved_by: omar, expires: 2027-01-01}
  - frank
`
	_, _, err := p.Execute("read_policy", map[string]any{"policy": policy, "file": "p.yaml"})
	sdktest.WantError(t, err, "invalid_policy", false, `p.yaml:28:14: exceptions[0]: backend "directroy" is not configured; did you mean "directory"? configured backends: directory, github
p.yaml:33:14: exceptions[0].expires must be a date, YYYY-MM-DD, got "next year"
p.yaml:34:86: exceptions[1]: unknown key "approver"; keys: backend, group, account, reason, approved_by, expires
p.yaml:34:5: exceptions[1]: missing approved_by: an exception says backend, group, account, reason, approved_by, expires
p.yaml:35:5: exceptions[2]: FRANK in admins on github already has exceptions[1]
p.yaml:36:5: exceptions[3] must be a mapping with backend, group, account, reason, approved_by, expires, not a string`)
}
