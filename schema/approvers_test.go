package schema

import "testing"

// TestCheckApprovers: against steward.yaml's groups, a group:NAME it does
// not define is an error at the entry, naming the key to add (or the close
// group); a plain name close to a group is taken as a typo; a person's
// name and templates pass.
func TestCheckApprovers(t *testing.T) {
	src := `version: 1
name: approvers
steps:
  - id: a
    approval:
      approvers: [group:payments-leads, group:payment-lead, payment-leads, dana, '${{ run.actor }}']
    action: core.log
    with: {message: x}
  - id: b
    approval:
      approvers:
        - group:access-admins
    action: core.log
    with: {message: x}
`
	rb, diags := Check("a.yaml", []byte(src), nil)
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	groups := map[string][]string{"payments-leads": {"bruno"}}
	want := `a.yaml:6:41: steps[0].approval.approvers[1]: approval group "payment-lead" is not defined in conf/steward.yaml
    6 |       approvers: [group:payments-leads, group:payment-lead, payment-leads, dana, '${{ run.actor }}']
      |                                         ^
  hint: did you mean "payments-leads"?
a.yaml:6:61: steps[0].approval.approvers[2]: approver "payment-leads" is not a group of conf/steward.yaml, so only a person of that name could approve
    6 |       approvers: [group:payments-leads, group:payment-lead, payment-leads, dana, '${{ run.actor }}']
      |                                                             ^
  hint: did you mean the group "payments-leads"? write group:payments-leads
a.yaml:12:11: steps[1].approval.approvers[0]: approval group "access-admins" is not defined in conf/steward.yaml
   12 |         - group:access-admins
      |           ^
  hint: add approvals.groups.access-admins: [NAME, ...] to conf/steward.yaml (defined: payments-leads)
`
	if got := CheckApprovers(rb, groups, "conf/steward.yaml").Render(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// group: alone is a mistake of the file itself.
	_, diags = Check("b.yaml", []byte("version: 1\nname: bb\nsteps:\n  - id: a\n    approval: {approvers: ['group:']}\n    action: core.log\n    with: {message: x}\n"), nil)
	if len(diags) != 1 || diags[0].Message != "group: names no group" {
		t.Errorf("group: alone: %s", diags.Render())
	}
}

// TestApprovalSubjects: approval.subjects is a list of people, each
// possibly a template over the step's scope, compiled at load; a group, an
// empty name, a non-list and an unknown input are errors at their place.
func TestApprovalSubjects(t *testing.T) {
	src := `version: 1
name: subjects
inputs:
  user: {type: string}
  login: {type: string}
steps:
  - id: a
    approval:
      approvers: [group:eng-leads]
      subjects: ['${{ inputs.user }}', '${{ [inputs.login] }}', dana]
    action: core.log
    with: {message: x}
`
	rb, diags := Check("a.yaml", []byte(src), nil)
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	a := rb.Steps[0].Approval
	if len(a.Subjects) != 3 || a.Subjects[2] != "dana" || a.SubjectsValue == nil || len(a.SubjectsValue.Items) != 3 {
		t.Fatalf("subjects %q, value %+v", a.Subjects, a.SubjectsValue)
	}
	for _, tc := range []struct{ subjects, want string }{
		{`[group:eng-leads]`, "a.yaml:6:27: steps[0].approval.subjects[0]: a subject is a person, not a group"},
		{`['']`, "a.yaml:6:27: steps[0].approval.subjects[0]: a subject cannot be empty"},
		{`gina`, `a.yaml:6:26: steps[0].approval.subjects: expected a list of names, got string "gina"`},
		{`['${{ inputs.usr }}']`, `a.yaml:6:39: steps[0].approval.subjects[0]: unknown input "usr"`},
	} {
		doc := "version: 1\nname: subjects\ninputs: {user: {type: string}}\nsteps:\n  - id: a\n    approval: {subjects: " + tc.subjects + "}\n    action: core.log\n    with: {message: x}\n"
		_, diags := Check("a.yaml", []byte(doc), nil)
		if len(diags) != 1 || diags[0].Header() != tc.want {
			t.Errorf("subjects %s: got\n%s\nwant\n%s", tc.subjects, diags.Render(), tc.want)
		}
	}
}
