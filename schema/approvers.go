package schema

import (
	"fmt"
	"sort"
	"strings"
)

// GroupPrefix marks an approver that names a group of approvals.groups in
// steward.yaml: approvers: [group:payments-leads]. Such a group must be
// defined; a name without the prefix is a group when steward.yaml defines
// one of that name, and a person's name otherwise.
const GroupPrefix = "group:"

// ApproverGroup returns the group an approver names explicitly
// (group:NAME), and whether it names one.
func ApproverGroup(approver string) (string, bool) {
	g, ok := strings.CutPrefix(approver, GroupPrefix)
	return strings.TrimSpace(g), ok
}

// GroupKey is the key of steward.yaml that defines a group.
func GroupKey(group string) string { return "approvals.groups." + group }

// UndefinedGroupError is an approver group that steward.yaml does not
// define. Its message names the key to add.
type UndefinedGroupError struct {
	Group  string
	Config string // the configuration file, or "" when none was read
}

func (e *UndefinedGroupError) Error() string {
	if e.Config == "" {
		return fmt.Sprintf("approval group %q is not defined: add %s: [NAME, ...] to steward.yaml (none was read)", e.Group, GroupKey(e.Group))
	}
	return fmt.Sprintf("approval group %q is not defined in %s: add %s: [NAME, ...]", e.Group, e.Config, GroupKey(e.Group))
}

// CheckApprovers checks the approvers a runbook's steps name as they are
// written (a template is resolved when the step asks, and checked then)
// against the approval groups of steward.yaml: a group:NAME that it does
// not define is an error naming the key to add, and so is a plain name
// that is not a group but is close to one (a typo would make it a person
// nobody is). config is the configuration file, for messages.
func CheckApprovers(rb *Runbook, groups map[string][]string, config string) Diagnostics {
	if rb == nil || rb.src == nil {
		return nil
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	where := "steward.yaml"
	if config != "" {
		where = config
	}
	var diags Diagnostics
	for _, list := range [][]*Step{rb.Steps, rb.OnFailure} {
		for i, st := range list {
			a := st.Approval
			if a == nil || a.ApproversValue == nil {
				continue
			}
			for j, it := range a.ApproversValue.Items {
				if it.Kind != KindString || it.Template != nil {
					continue
				}
				path := idx(sub(sub(stepPath(st, i), "approval"), "approvers"), j)
				name := it.Str
				if g, explicit := ApproverGroup(name); explicit {
					if _, ok := groups[g]; ok {
						continue
					}
					hint := didYouMean(g, names)
					if hint == "" {
						hint = fmt.Sprintf("add %s: [NAME, ...] to %s", GroupKey(g), where)
						if len(names) > 0 {
							hint += " (defined: " + shortList(names) + ")"
						}
					}
					diags = append(diags, rb.src.diag(it.Pos, path, hint, "approval group %q is not defined in %s", g, where))
					continue
				}
				if _, ok := groups[name]; ok {
					continue
				}
				if s := Suggest(name, names); s != "" {
					diags = append(diags, rb.src.diag(it.Pos, path,
						fmt.Sprintf("did you mean the group %q? write %s%s", s, GroupPrefix, s),
						"approver %q is not a group of %s, so only a person of that name could approve", name, where))
				}
			}
		}
	}
	diags.Sort()
	return diags
}
