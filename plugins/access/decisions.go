package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// Decisions of an access review, one per privileged membership.
const (
	decisionKeep      = "keep"      // no finding: the role grants it
	decisionRevoke    = "revoke"    // a finding, and no exception holds
	decisionException = "exception" // a finding the policy accepts until a date
)

// Decision is a privileged membership and what the review decides of it.
type Decision struct {
	Backend  string `json:"backend"`
	Group    string `json:"group"`
	Account  string `json:"account"`
	User     string `json:"user" desc:"the roster's person owning the account; empty when nobody does"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Decision string `json:"decision" enum:"keep,revoke,exception"`
	Finding  string `json:"finding" desc:"the finding's kind (leaver, beyond_role, not_in_roster), empty for none"`
	Reason   string `json:"reason" desc:"why: the role that grants it, the finding, the exception"`
	// Expires and ApprovedBy are the exception's, when one applies (also
	// an expired one, which decides revoke).
	Expires    string `json:"expires" desc:"the exception's last day, YYYY-MM-DD; empty without one"`
	ApprovedBy string `json:"approved_by" desc:"who accepted the exception; empty without one"`
}

// decide turns the memberships reviewed (with their findings, Kind ""
// for none) into decisions, sorted by backend, group and account, and the
// list of what to revoke, in the same order.
func decide(pol *policy, asOf time.Time, reviewed []Finding) ([]Decision, []RoleGrant) {
	out := make([]Decision, 0, len(reviewed))
	revoke := []RoleGrant{}
	for _, f := range reviewed {
		d := Decision{Backend: f.Backend, Group: f.Group, Account: f.Account, User: f.User, Name: f.Name, Role: f.Role, Finding: f.Kind}
		e := pol.exception(f.Backend, f.Group, f.Account)
		if e != nil {
			d.Expires, d.ApprovedBy = e.Expires, e.ApprovedBy
		}
		switch {
		case f.Kind == "":
			d.Decision, d.Reason = decisionKeep, fmt.Sprintf("the role %s grants %s on %s", f.Role, f.Group, f.Backend)
		case e != nil && e.holds(asOf):
			d.Decision = decisionException
			d.Reason = fmt.Sprintf("%s; accepted by %s until %s: %s", f.Detail, e.ApprovedBy, e.Expires, e.Reason)
		case e != nil:
			d.Decision = decisionRevoke
			d.Reason = fmt.Sprintf("%s; its exception (%s) expired on %s", f.Detail, e.Reason, e.Expires)
		default:
			d.Decision, d.Reason = decisionRevoke, f.Detail
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Decision) int {
		return strings.Compare(a.Backend+"\x00"+a.Group+"\x00"+a.Account, b.Backend+"\x00"+b.Group+"\x00"+b.Account)
	})
	for _, d := range out {
		if d.Decision == decisionRevoke {
			revoke = append(revoke, RoleGrant{Backend: d.Backend, Group: d.Group, User: d.Account})
		}
	}
	return out, revoke
}

// reviewDay is the day of the review: as_of (RFC 3339 or YYYY-MM-DD), or
// today (UTC) when it is not given.
func reviewDay(call *sdk.Call, asOf string) (time.Time, error) {
	if asOf == "" {
		call.Warnf("no as_of: exceptions are checked against today, %s (pass run.started_at to make the review repeatable)", time.Now().UTC().Format(time.DateOnly))
		return time.Now().UTC().Truncate(24 * time.Hour), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, asOf); err == nil {
			return t.UTC().Truncate(24 * time.Hour), nil
		}
	}
	return time.Time{}, sdk.Error(codeInvalidRequest, "with.as_of must be a time (RFC 3339) or a date (YYYY-MM-DD), got %q", asOf)
}
