package journal_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/schema"
)

// TestPolicyGroups: group:NAME is always a group and must be defined; a
// plain name is the group of that name when there is one, a person
// otherwise.
func TestPolicyGroups(t *testing.T) {
	p := journal.Policy{Groups: map[string][]string{"leads": {"ana", "bruno"}, "admins": {"sam"}}, Config: "steward.yaml"}
	for _, c := range []struct {
		by        string
		approvers []string
		want      string
	}{
		{"bruno", []string{"group:leads"}, ""},
		{"bruno", []string{"leads"}, ""},
		{"leads", []string{"leads"}, "leads may not decide step s: approvers are leads (ana, bruno)"},
		{"dana", []string{"group:leads", "dana"}, ""},
		{"sam", []string{"group:leads", "dana"}, "sam may not decide step s: approvers are group:leads (ana, bruno), dana"},
		{"carol", nil, ""},
		{"ana", []string{"group:leads"}, "ana started run r1 and cannot approve its steps: four eyes (set approvals.allow_self_approval in steward.yaml to allow it)"},
		{"bruno", []string{"group:payments-leads", "group:leads"},
			`nobody may decide step s: approval group "payments-leads" is not defined in steward.yaml: add approvals.groups.payments-leads: [NAME, ...]`},
	} {
		err := p.Allows("ana", c.by, "r1", "s", c.approvers, nil)
		if got := fmtErr(err); got != c.want {
			t.Errorf("%s for %v: %q, want %q", c.by, c.approvers, got, c.want)
		}
	}
	if got := p.FirstAllowed("ana", []string{"group:leads", "dana"}, nil); got != "bruno" {
		t.Errorf("first allowed %q, want bruno", got)
	}
	if got := p.FirstAllowed("ana", []string{"group:nobody", "ana", "dana"}, nil); got != "dana" {
		t.Errorf("first allowed %q, want dana", got)
	}
	// Who asked an assistant (steward mcp) to start the run is its
	// requester too.
	assisted := journal.AssistantActor("claude-desktop", "ana")
	if got := fmtErr(p.Allows(assisted, "ana", "r1", "s", nil, nil)); got != "ana started run r1 and cannot approve its steps: four eyes (set approvals.allow_self_approval in steward.yaml to allow it)" {
		t.Errorf("ana deciding her assistant's run: %q", got)
	}
	if err := p.Allows(assisted, "bruno", "r1", "s", nil, nil); err != nil {
		t.Errorf("bruno deciding ana's assistant's run: %v", err)
	}
	if got := p.FirstAllowed(assisted, []string{"group:leads"}, nil); got != "bruno" {
		t.Errorf("first allowed of ana's assistant's run %q, want bruno", got)
	}
	for _, c := range []struct {
		actor, by string
		want      bool
	}{
		{"ana", "ana", true}, {"mcp:x (ana)", "ana", true}, {"mcp:x (ana)", "x", false}, {"mcp:x (ana)", "mcp:x (ana)", true},
		{"mcp:x (ana", "ana", false}, {"x (ana)", "ana", false}, {"mcp:x (bo (ana))", "ana)", false}, {"mcp:x (bo (ana))", "bo (ana)", true},
	} {
		if got := journal.StartedBy(c.actor, c.by); got != c.want {
			t.Errorf("StartedBy(%q, %q) = %v", c.actor, c.by, got)
		}
	}
	none := journal.Policy{}
	var ug *schema.UndefinedGroupError
	if err := none.CheckApprovers([]string{"leads", "group:leads"}); !errors.As(err, &ug) || ug.Group != "leads" ||
		err.Error() != `approval group "leads" is not defined: add approvals.groups.leads: [NAME, ...] to steward.yaml (none was read)` {
		t.Errorf("without steward.yaml: %v", err)
	}
}

// TestPolicySubjects: a subject of the change (approval.subjects) may not
// decide it, even as a member of the approver group, even with
// allow_self_approval, even when no approvers are named; case does not
// hide them. FirstAllowed passes over subjects.
func TestPolicySubjects(t *testing.T) {
	for _, self := range []bool{false, true} {
		p := journal.Policy{Groups: map[string][]string{"leads": {"gina", "lena"}}, AllowSelfApproval: self}
		for _, c := range []struct {
			by        string
			approvers []string
			want      string
		}{
			{"gina", []string{"group:leads"}, "gina is the subject of this change and may not approve it (step grant asks group:leads (gina, lena))"},
			{"Gina", nil, "Gina is the subject of this change and may not approve it (step grant asks anyone else)"},
			{"lena", []string{"group:leads"}, ""},
		} {
			err := p.Allows("hr-bot", c.by, "r1", "grant", c.approvers, []string{"gina"})
			if got := fmtErr(err); got != c.want {
				t.Errorf("self %v: %s for %v: %q, want %q", self, c.by, c.approvers, got, c.want)
			}
		}
		if got := p.FirstAllowed("hr-bot", []string{"group:leads"}, []string{"gina"}); got != "lena" {
			t.Errorf("first allowed %q, want lena", got)
		}
	}
}

// TestPolicyGuard: the Approver of a run fails a step whose approvers name
// an undefined group (code invalid_approvers) before asking, and asks
// otherwise; an interrupted attempt's question is not about approvers.
func TestPolicyGuard(t *testing.T) {
	p := journal.Policy{Groups: map[string][]string{"leads": {"ana"}}, Config: "steward.yaml"}
	g := p.Guard(nil)
	ctx := context.Background()
	if _, err := g.Decide(ctx, engine.ApprovalRequest{Step: "s", Approvers: []string{"group:leads"}}); !errors.Is(err, engine.ErrPending) {
		t.Errorf("defined group: %v", err)
	}
	_, err := g.Decide(ctx, engine.ApprovalRequest{Step: "s", Approvers: []string{"group:lead"}})
	var ae *actions.Error
	if !errors.As(err, &ae) || ae.Code != engine.CodeInvalidApprovers {
		t.Errorf("undefined group: %v", err)
	}
	if _, err := g.Decide(ctx, engine.ApprovalRequest{Step: "s", Interrupted: true}); !errors.Is(err, engine.ErrPending) {
		t.Errorf("interrupted: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > 9 && s[:9] == "journal: " {
		return s[9:]
	}
	return s
}
