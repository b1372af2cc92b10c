package notice

import (
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

// message is what approvers are told.
type message struct {
	title  string
	text   string
	fields map[string]string
}

// message says what the step asks, of whom, who started the run, how to
// decide and where to look.
func (n *Notifier) message(st *journal.State, w *journal.Waiting, kind string, expires time.Time) message {
	run, rb := st.Run.ID, st.Run.Runbook
	title := fmt.Sprintf("Approval needed: %s, step %s", rb, w.Step)
	if kind == Reminder {
		title = "Reminder: " + title
	}
	var b strings.Builder
	if kind == Reminder {
		fmt.Fprintf(&b, "Still waiting: this approval times out at %s (in %s).\n\n", expires.UTC().Format(time.RFC3339),
			expires.Sub(n.cfg.Clock.Now()).Round(time.Minute))
	}
	fmt.Fprintf(&b, "Run %s of %s, started by %s, waits for approval of step %s.\n", run, rb, st.Run.Actor, w.Step)
	if w.Message != "" {
		fmt.Fprintf(&b, "\n%s\n", w.Message)
	}
	who := "anyone but " + st.Run.Actor
	if len(w.Approvers) > 0 {
		who = n.cfg.Describe(w.Approvers)
	}
	fmt.Fprintf(&b, "\nWho may decide: %s\n", who)
	fmt.Fprintf(&b, "Approve: steward approve %s %s --comment \"...\"\n", run, w.Step)
	fmt.Fprintf(&b, "Deny:    steward approve %s %s --deny --comment \"...\"\n", run, w.Step)
	link := ""
	if n.cfg.URL != "" {
		link = n.cfg.URL + "/runs/" + run
		fmt.Fprintf(&b, "Open:    %s\n", link)
	}
	fields := map[string]string{"Run": run, "Runbook": rb, "Step": w.Step, "Started by": st.Run.Actor, "Who may decide": who,
		"Approve": fmt.Sprintf("steward approve %s %s", run, w.Step)}
	if link != "" {
		fields["Link"] = link
	}
	if !expires.IsZero() {
		fields["Times out"] = expires.UTC().Format(time.RFC3339)
	}
	return message{title: title, text: b.String(), fields: fields}
}
