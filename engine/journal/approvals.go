package journal

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/schema"
)

// Policy says who may decide approvals, beside each step's approvers.
//
// An approver written group:NAME is the group NAME of Groups, which must
// be defined; a name without the prefix is the group of that name when
// Groups has one, and a person's name otherwise.
type Policy struct {
	// Groups maps a group name, usable in approvers, to its members.
	Groups map[string][]string
	// AllowSelfApproval lets the person who started a run approve its
	// steps. Off by default: four eyes.
	AllowSelfApproval bool
	// Config is the file Groups come from (steward.yaml), or "" when none
	// was read: for messages, and to check a runbook's approvers before
	// it runs (see schema.CheckApprovers).
	Config string
}

// CheckApprovers returns a *schema.UndefinedGroupError for the first
// group:NAME among approvers that Groups does not define, or nil.
func (p Policy) CheckApprovers(approvers []string) error {
	for _, a := range approvers {
		if g, ok := schema.ApproverGroup(a); ok {
			if _, defined := p.Groups[g]; !defined {
				return &schema.UndefinedGroupError{Group: g, Config: p.Config}
			}
		}
	}
	return nil
}

// Guard returns an Approver that checks the approvers a step asks with,
// then asks inner (nil: every approval waits). A group:NAME the policy
// does not define fails the step with code invalid_approvers, naming the
// key of steward.yaml to add: nobody could ever decide it.
func (p Policy) Guard(inner engine.Approver) engine.Approver {
	return guard{policy: p, inner: inner}
}

type guard struct {
	policy Policy
	inner  engine.Approver
}

func (g guard) Decide(ctx context.Context, req engine.ApprovalRequest) (engine.Decision, error) {
	if !req.Interrupted {
		if err := g.policy.CheckApprovers(req.Approvers); err != nil {
			return engine.Decision{}, &actions.Error{Code: engine.CodeInvalidApprovers, Message: err.Error(), Err: err}
		}
	}
	if g.inner == nil {
		return engine.Decision{}, engine.ErrPending
	}
	return g.inner.Decide(ctx, req)
}

// Describe names approvers for a message, with the members of groups:
// "group:payments-leads (bruno, carla), dana".
func (p Policy) Describe(approvers []string) string {
	parts := make([]string, len(approvers))
	for i, a := range approvers {
		parts[i] = a
		g, explicit := schema.ApproverGroup(a)
		if !explicit {
			g = a
		}
		if members, ok := p.Groups[g]; ok {
			parts[i] = fmt.Sprintf("%s (%s)", a, strings.Join(members, ", "))
		}
	}
	return strings.Join(parts, ", ")
}

// Approver decides a run's approvals from the decisions recorded in the
// journal; it is the engine.Approver of a journaled run. now is the clock
// of approval timeouts.
func (s *State) Approver(now func() time.Time) engine.Approver {
	return approver{s, now}
}

type approver struct {
	s   *State
	now func() time.Time
}

// Decide implements engine.Approver.
func (a approver) Decide(_ context.Context, req engine.ApprovalRequest) (engine.Decision, error) {
	if d := a.s.decision(engine.StepKey{Phase: req.Phase, ID: req.Step}, req.Interrupted); d != nil {
		return engine.Decision{Approved: d.Approved, By: d.By, Comment: d.Comment}, nil
	}
	if since, ok := a.s.asked[waitKey{req.Step, req.Interrupted}]; ok {
		w := Waiting{Step: req.Step, Interrupted: req.Interrupted, Since: since}
		if w.Expired(a.now(), req.Timeout) {
			return engine.Decision{}, engine.ErrApprovalExpired
		}
	}
	return engine.Decision{}, engine.ErrPending
}

// DecisionKey is the Batch.Once key of the decision on w: one decision
// per question is recorded.
func (w *Waiting) DecisionKey() string {
	kind := "approval"
	if w.Interrupted {
		kind = "interrupted"
	}
	return fmt.Sprintf("decision/%s/%s/%d", kind, w.Step, w.Question)
}

// Expiry is when the question times out, given the approval's timeout
// (approval.timeout of the step): timeout after it was first asked. ok is
// false when it never does: no timeout, or the question of an interrupted
// attempt, which waits for a person however long it takes.
func (w *Waiting) Expiry(timeout time.Duration) (at time.Time, ok bool) {
	if w.Interrupted || timeout <= 0 {
		return time.Time{}, false
	}
	return w.Since.Add(timeout), true
}

// Expired says whether the question has timed out at now (see Expiry):
// then nobody may decide it any more, and the step fails.
func (w *Waiting) Expired(now time.Time, timeout time.Duration) bool {
	at, ok := w.Expiry(timeout)
	return ok && !now.Before(at)
}

// decision returns the decision that answers the step's current question:
// for an approval, the last one; for an interrupted attempt, the last one
// made after the step's last attempt started (a new interruption needs a
// new decision). Step ids are unique across the main steps and on_failure,
// which alone ask; a decision names the step only.
func (s *State) decision(step engine.StepKey, interrupted bool) *Decision {
	for i := len(s.Decisions) - 1; i >= 0; i-- {
		d := s.Decisions[i]
		if d.Step != step.ID || d.Interrupted != interrupted {
			continue
		}
		if interrupted && d.Seq < s.lastAttempt[step] {
			return nil
		}
		return d
	}
	return nil
}

// WaitingFor returns the step's open question, or an error naming the
// steps that do wait.
func (s *State) WaitingFor(step string) (*Waiting, error) {
	var names []string
	for _, w := range s.Waiting {
		if w.Step == step {
			return w, nil
		}
		names = append(names, w.Step)
	}
	if len(names) == 0 && s.Run.Status == string(engine.StatusWaiting) {
		return nil, fmt.Errorf("%w: every question of run %s is decided: continue it with steward resume %s", ErrNotWaiting, s.Run.ID, s.Run.ID)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: run %s has no step waiting (it is %s)", ErrNotWaiting, s.Run.ID, s.Run.Status)
	}
	return nil, fmt.Errorf("%w: step %s of run %s does not wait for one; it waits for %s", ErrNotWaiting, step, s.Run.ID, strings.Join(names, ", "))
}

// MayDecide checks that by may decide the waiting question w of the run:
// not one of the question's subjects (who the change is about, whatever
// the policy), not the person who started the run (unless the policy
// allows it), and one of approvers (names or groups; empty means anyone
// else). The caller checks the approval's timeout first: after it,
// nothing is recorded and the step fails.
func (p Policy) MayDecide(s *State, w *Waiting, by string, approvers []string) error {
	return p.Allows(s.Run.Actor, by, s.Run.ID, w.Step, approvers, w.Subjects)
}

// Allows checks that by may decide step of run runID ("" when it has
// none, as in a runbook test), started by actor, whose approvers are
// approvers and whose subjects are subjects: see MayDecide.
func (p Policy) Allows(actor, by, runID, step string, approvers, subjects []string) error {
	if by == "" {
		return fmt.Errorf("journal: who decides is unknown: pass --as NAME")
	}
	if isSubject(by, subjects) {
		// Even a member of the approver group, even with
		// allow_self_approval: nobody approves their own access.
		return fmt.Errorf("journal: %s is the subject of this change and may not approve it (step %s asks %s)", by, step, p.askWho(approvers))
	}
	if StartedBy(actor, by) && !p.AllowSelfApproval {
		run := "run " + runID
		if runID == "" {
			run = "the run"
		}
		return fmt.Errorf("journal: %s started %s and cannot approve its steps: four eyes (set approvals.allow_self_approval in steward.yaml to allow it)", by, run)
	}
	if err := p.CheckApprovers(approvers); err != nil {
		return fmt.Errorf("journal: nobody may decide step %s: %w", step, err)
	}
	if len(approvers) > 0 && !p.Member(by, approvers) {
		return fmt.Errorf("journal: %s may not decide step %s: approvers are %s", by, step, p.Describe(approvers))
	}
	return nil
}

// AssistantActor is the actor of a run an AI assistant (the MCP client
// called client) starts for a local user (steward mcp): "mcp:CLIENT
// (USER)". Four eyes see USER in it: see StartedBy.
func AssistantActor(client, user string) string {
	return "mcp:" + client + " (" + user + ")"
}

// StartedBy reports whether by started a run whose actor is actor: by
// itself, or an assistant acting for by (AssistantActor). Who asked an
// assistant to start a run may not approve it either.
func StartedBy(actor, by string) bool {
	if by == actor {
		return true
	}
	rest, ok := strings.CutPrefix(actor, "mcp:")
	if !ok || !strings.HasSuffix(rest, ")") {
		return false
	}
	i := strings.Index(rest, " (") // a client name has no blank (see mcpserver)
	return i >= 0 && rest[i+2:len(rest)-1] == by
}

// isSubject says whether by is one of subjects (compared without case:
// directory uids and GitHub logins are).
func isSubject(by string, subjects []string) bool {
	return slices.ContainsFunc(subjects, func(s string) bool { return strings.EqualFold(s, by) })
}

// askWho names approvers for a refusal: "anyone else" when there are none.
func (p Policy) askWho(approvers []string) string {
	if len(approvers) == 0 {
		return "anyone else"
	}
	return p.Describe(approvers)
}

// FirstAllowed returns the first person approvers allow who is not actor
// (unless the policy allows self-approval) nor one of subjects: a person
// named, or a member of a group named, in the order written; "" when
// there is none.
func (p Policy) FirstAllowed(actor string, approvers, subjects []string) string {
	for _, a := range approvers {
		g, explicit := schema.ApproverGroup(a)
		members, isGroup := p.Groups[g]
		if !explicit {
			members, isGroup = p.Groups[a]
		}
		if !isGroup {
			if explicit {
				continue
			}
			members = []string{a}
		}
		for _, m := range members {
			if (!StartedBy(actor, m) || p.AllowSelfApproval) && !isSubject(m, subjects) {
				return m
			}
		}
	}
	return ""
}

// Member reports whether by is one of approvers: a member of a group
// named, or named (a name that is a group names the group, never a person
// of that name).
func (p Policy) Member(by string, approvers []string) bool {
	for _, a := range approvers {
		if g, explicit := schema.ApproverGroup(a); explicit {
			if slices.Contains(p.Groups[g], by) {
				return true
			}
			continue
		}
		if members, isGroup := p.Groups[a]; isGroup {
			if slices.Contains(members, by) {
				return true
			}
		} else if a == by {
			return true
		}
	}
	return false
}
