package journal

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine"
)

// Policy says who may decide approvals, beside each step's approvers.
type Policy struct {
	// Groups maps a group name, usable in approvers, to its members.
	Groups map[string][]string
	// AllowSelfApproval lets the person who started a run approve its
	// steps. Off by default: four eyes.
	AllowSelfApproval bool
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
	if d := a.s.decision(req.Step, req.Interrupted); d != nil {
		return engine.Decision{Approved: d.Approved, By: d.By, Comment: d.Comment}, nil
	}
	if !req.Interrupted && req.Timeout > 0 {
		if since, ok := a.s.asked[waitKey{req.Step, false}]; ok && a.now().Sub(since) >= req.Timeout {
			return engine.Decision{}, engine.ErrApprovalExpired
		}
	}
	return engine.Decision{}, engine.ErrPending
}

// decision returns the decision that answers the step's current question:
// for an approval, the last one; for an interrupted attempt, the last one
// made after the step's last attempt started (a new interruption needs a
// new decision).
func (s *State) decision(step string, interrupted bool) *Decision {
	for i := len(s.Decisions) - 1; i >= 0; i-- {
		d := s.Decisions[i]
		if d.Step != step || d.Interrupted != interrupted {
			continue
		}
		if interrupted && d.Seq < s.lastAttempt[engine.StepKey{ID: step}] {
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
	return nil, fmt.Errorf("%w: %s; waiting: %s", ErrNotWaiting, step, strings.Join(names, ", "))
}

// MayDecide checks that by may decide the waiting question w of the run:
// not the person who started the run (unless the policy allows it), and
// one of approvers (names or groups; empty means anyone else). The caller
// checks the approval's timeout first: after it, nothing is recorded and
// the step fails.
func (p Policy) MayDecide(s *State, w *Waiting, by string, approvers []string) error {
	if by == "" {
		return fmt.Errorf("journal: who decides is unknown: pass --as NAME")
	}
	if by == s.Run.Actor && !p.AllowSelfApproval {
		return fmt.Errorf("journal: %s started run %s and cannot approve its steps: four eyes (set approvals.allow_self_approval in steward.yaml to allow it)", by, s.Run.ID)
	}
	if len(approvers) > 0 && !p.member(by, approvers) {
		return fmt.Errorf("journal: %s may not decide step %s: approvers are %s", by, w.Step, strings.Join(approvers, ", "))
	}
	return nil
}

func (p Policy) member(by string, approvers []string) bool {
	for _, a := range approvers {
		if a == by || slices.Contains(p.Groups[a], by) {
			return true
		}
	}
	return false
}
