package main

// The access runbooks (onboard-user, offboard-user, access-review) through
// the CLI, with the real access and notify plugins as processes, against a
// real OpenLDAP slapd (plugins/access/ldaptest) and a real SMTP server that
// requires STARTTLS and AUTH (plugins/notify/smtptest). The plugins' github
// backends stay on their sandboxes: no GitHub is reachable here (the
// plugins' own tests cover the GitHub REST shapes with httptest).

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/stewardhq/steward/plugins/access/ldaptest"
	"github.com/stewardhq/steward/plugins/notify/smtptest"
	"gopkg.in/yaml.v3"
)

// accessApprovers are the approvals groups the access policy's owners and
// offboard-user's approvers name.
var accessApprovers = map[string][]string{
	"eng-leads":     {"lena"},
	"sre-leads":     {"omar", "ben"}, // ben: moved in TestAccessMove, he may not approve it
	"support-leads": {"petra"},
	"access-admins": {"sam"},
}

// accessEnv is a home with the access and notify plugins pinned, and a
// steward.yaml that points the access plugin's directory backend at dir
// and the notify plugin's email at mail. Passwords are secrets from the
// environment, never in steward.yaml.
type accessEnv struct {
	*supportEnv
	dir  *ldaptest.Server
	mail *smtptest.Server
}

func newAccessEnv(t *testing.T, dir *ldaptest.Server, mail *smtptest.Server) *accessEnv {
	t.Helper()
	ldapSettings := dir.Settings()
	ldapSettings["bind_password"] = map[string]any{"secret": "LDAP_BIND_PASSWORD"}
	email := mail.Settings()
	email["password"] = map[string]any{"secret": "SMTP_PASSWORD"}
	cfg := map[string]any{
		"approvals": map[string]any{"groups": accessApprovers},
		"plugins": map[string]any{"settings": map[string]any{
			"access": map[string]any{"backends": map[string]any{
				"directory": map[string]any{"type": "ldap", "ldap": ldapSettings},
				"github":    map[string]any{"type": "sandbox"},
			}},
			"notify": map[string]any{"email": email},
		}},
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"STEWARD_SECRET_LDAP_BIND_PASSWORD=" + dir.BindPassword, "STEWARD_SECRET_SMTP_PASSWORD=" + mail.Password}
	return &accessEnv{supportEnv: newSupportEnv(t, string(b), env, "access", "notify"), dir: dir, mail: mail}
}

// directory starts a seeded slapd for one test: the tests change it.
func directory(t *testing.T) *ldaptest.Server {
	t.Helper()
	ldaptest.Path(t)
	s, err := ldaptest.Start(ldaptest.Options{GroupType: ldaptest.GroupOfNames})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// seededGroups are the groups of the seeded directory.
var seededGroups = []string{"engineering", "finance", "legacy-vpn", "payments-admins", "prod-admins", "support", "vpn"}

// groupsOf lists the groups user is a member of, as the directory holds them.
func (e *accessEnv) groupsOf(user string) []string {
	e.t.Helper()
	var out []string
	for _, g := range seededGroups {
		members, err := e.dir.Members(g)
		if err != nil {
			if strings.Contains(err.Error(), "no group") {
				continue // deleted by the test
			}
			e.t.Fatalf("members of %s: %v", g, err)
		}
		if slices.Contains(members, user) {
			out = append(out, g)
		}
	}
	return out
}

func (e *accessEnv) deleteGroup(cn string) {
	e.t.Helper()
	c, err := e.dir.Conn()
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Del(ldap.NewDelRequest(ldaptest.GroupDN(cn), nil)); err != nil {
		e.t.Fatal(err)
	}
}

// accessDoc is a run document (run -o json) whose step outputs may be
// lists (for_each steps).
type accessDoc struct {
	ID      string
	Status  string
	Outputs map[string]any
	Error   *supportError
	Steps   []struct {
		ID, Status, Phase string
		Outputs           any
		Error             *supportError
	}
}

func (e *accessEnv) runDoc(code int, args ...string) accessDoc {
	e.t.Helper()
	r := e.cmd(code, append(append([]string{"run"}, args...), "-o", "json")...)
	var doc accessDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		e.t.Fatalf("run -o json: %v\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return doc
}

// goOn decides (or resumes) a run and returns its document.
func (e *accessEnv) goOn(code int, args ...string) accessDoc {
	e.t.Helper()
	r := e.cmd(code, append(args, "-o", "json")...)
	var doc accessDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		e.t.Fatalf("%s -o json: %v\n%s\nstderr:\n%s", args[0], err, r.stdout, r.stderr)
	}
	return doc
}

// exportLines are the run's journal records (audit export), decoded.
func (e *accessEnv) exportLines(id string) []map[string]any {
	e.t.Helper()
	r := e.cmd(exitOK, "audit", "export", "--run", id)
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			e.t.Fatalf("export line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestAccessOnboard: onboarding waits for the role owner, grants exactly
// the role's groups once approved (nothing before), sends the welcome
// email over STARTTLS with AUTH, and the journal shows who approved the
// grants. The requester and someone who does not own the role are
// refused. No password reaches a file or an output.
func TestAccessOnboard(t *testing.T) {
	e := newAccessEnv(t, directory(t), smtptest.New(t))
	if got := e.groupsOf("gina"); len(got) != 0 {
		t.Fatalf("gina starts with %v", got)
	}
	doc := e.runDoc(exitWaiting, "onboard-user", "--input", "user=gina", "--input", "role=sre",
		"--input", "email=gina@example.org", "--as", "hr-bot")
	if doc.Status != "waiting" {
		t.Fatalf("status %s", doc.Status)
	}
	if stderr := e.printed[len(e.printed)-1]; !strings.Contains(stderr, "who may decide: group:sre-leads (omar, ben)") {
		t.Errorf("the waiting run does not say who may approve:\n%s", stderr)
	}
	if got := e.groupsOf("gina"); len(got) != 0 {
		t.Fatalf("granted before the approval: %v", got)
	}
	r := e.cmd(exitFailed, "approve", doc.ID, "grant", "--as", "sam")
	if !strings.Contains(r.stderr, "sam may not decide step grant: approvers are group:sre-leads (omar, ben)") {
		t.Errorf("an outsider's approval: %s", r.stderr)
	}
	r = e.cmd(exitFailed, "approve", doc.ID, "grant", "--as", "hr-bot")
	if !strings.Contains(r.stderr, "hr-bot started run "+doc.ID+" and cannot approve its steps") {
		t.Errorf("the requester's approval: %s", r.stderr)
	}
	done := e.goOn(exitOK, "approve", doc.ID, "grant", "--as", "omar", "--comment", "new SRE, ticket IT-42")
	if done.Status != "succeeded" {
		t.Fatalf("after approval: %s %+v", done.Status, done.Error)
	}
	if got, want := e.groupsOf("gina"), []string{"engineering", "prod-admins", "vpn"}; !slices.Equal(got, want) {
		t.Errorf("gina's groups %v, want exactly the sre role's %v", got, want)
	}
	granted := fmt.Sprint(done.Outputs["granted"])
	if granted != "[directory/engineering directory/prod-admins directory/vpn github/backend github/sre]" {
		t.Errorf("granted %s", granted)
	}
	if done.Outputs["owner"] != "group:sre-leads" || done.Outputs["welcome"] != "succeeded" {
		t.Errorf("outputs %v", done.Outputs)
	}

	// The welcome email, as the SMTP server received it.
	msgs, err := e.mail.Messages()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if !m.TLS || m.Login != e.mail.Username || !slices.Equal(m.Recipients, []string{"gina@example.org"}) ||
		m.Subject != "Welcome, your sre access is ready" || !strings.Contains(m.Body, "- directory: prod-admins") {
		t.Errorf("welcome email: tls %v login %q to %v subject %q\n%s", m.TLS, m.Login, m.Recipients, m.Subject, m.Body)
	}

	// Who approved the grants: in show, and in the journal before every
	// grant's attempt.
	shown := e.shown(doc.ID)
	if len(shown.Approvals) != 1 || shown.Approvals[0].Step != "grant" || shown.Approvals[0].By != "omar" ||
		!shown.Approvals[0].Approved || shown.Approvals[0].Comment != "new SRE, ticket IT-42" {
		t.Errorf("approvals %+v", shown.Approvals)
	}
	decided, grants := -1, 0
	for i, rec := range e.exportLines(doc.ID) {
		data, _ := rec["data"].(map[string]any)
		switch {
		case rec["type"] == "approval.decided":
			if data["by"] != "omar" || data["step"] != "grant" {
				t.Errorf("decision %v", data)
			}
			decided = i
		case rec["type"] == "step.waiting" && data["step"] == "grant":
			if fmt.Sprint(data["approvers"]) != "[group:sre-leads]" {
				t.Errorf("the journal asked %v, want the role owner sre-leads", data["approvers"])
			}
		case rec["type"] == "attempt.started" && data["step"] == "grant":
			grants++
			if decided < 0 {
				t.Errorf("a grant started before the decision: %v", data)
			}
		}
	}
	if decided < 0 || grants != 5 {
		t.Errorf("decision at %d, %d grant attempts", decided, grants)
	}
	e.secretsNowhere(e.dir.BindPassword, e.mail.Password)
}

// TestAccessOnboardUndo: the policy's third grant of legacy-engineer
// names a group the directory no longer has; the first two grants are
// undone and the run fails, saying why. Memberships that existed before
// the run are left alone.
func TestAccessOnboardUndo(t *testing.T) {
	e := newAccessEnv(t, directory(t), smtptest.New(t))
	e.deleteGroup("legacy-vpn")

	doc := e.runDoc(exitWaiting, "onboard-user", "--input", "user=gina", "--input", "role=legacy-engineer", "--as", "hr-bot")
	failed := e.goOn(exitFailed, "approve", doc.ID, "grant", "--as", "lena")
	if failed.Status != "failed" || failed.Error == nil || !strings.Contains(failed.Error.Message, "legacy-vpn") ||
		!strings.Contains(failed.Error.Message, "The grants this run made are being revoked") {
		t.Fatalf("run %s: %+v", failed.Status, failed.Error)
	}
	if got := e.groupsOf("gina"); len(got) != 0 {
		t.Errorf("after the undo gina is still in %v", got)
	}
	var undo *struct {
		ID, Status, Phase string
		Outputs           any
		Error             *supportError
	}
	for i := range failed.Steps {
		if failed.Steps[i].ID == "grant" && failed.Steps[i].Phase == "undo" {
			undo = &failed.Steps[i]
		}
	}
	if undo == nil || undo.Status != "succeeded" {
		t.Fatalf("undo of grant: %+v", undo)
	}
	// One undo per grant made: engineering and vpn revoked, nothing for
	// legacy-vpn, the grant that failed.
	var undone []string
	for _, o := range undo.Outputs.([]any) {
		if m, ok := o.(map[string]any); ok && m["changed"] == true {
			undone = append(undone, fmt.Sprint(m["group"]))
		}
	}
	if sort.Strings(undone); !slices.Equal(undone, []string{"engineering", "vpn"}) {
		t.Errorf("undo outputs %v: want the two grants made revoked", undo.Outputs)
	}
	if len(mustMessages(t, e.mail)) != 0 {
		t.Error("a welcome email for a failed onboarding")
	}

	// ana has engineering and vpn already: the failed run leaves them.
	before := e.groupsOf("ana")
	doc = e.runDoc(exitWaiting, "onboard-user", "--input", "user=ana", "--input", "role=legacy-engineer", "--as", "hr-bot")
	e.goOn(exitFailed, "approve", doc.ID, "grant", "--as", "lena")
	if after := e.groupsOf("ana"); !slices.Equal(before, after) || !slices.Contains(after, "vpn") {
		t.Errorf("ana's groups %v, before the run %v: the undo must leave what existed", after, before)
	}
}

// TestAccessBadInput: a user that does not exist, a role that is not in
// the policy, a malformed policy and a malformed roster end with a clear
// error (the policy's with its line), and change nothing.
func TestAccessBadInput(t *testing.T) {
	e := newAccessEnv(t, directory(t), smtptest.New(t))
	doc := e.runDoc(exitFailed, "onboard-user", "--input", "user=nobody", "--input", "role=engineer")
	if doc.Error == nil || !strings.Contains(doc.Error.Message, "no account nobody on any backend (directory, github)") {
		t.Errorf("unknown user: %+v", doc.Error)
	}
	doc = e.runDoc(exitFailed, "onboard-user", "--input", "user=gina", "--input", "role=enginer")
	if doc.Error == nil || doc.Error.Code != "unknown_role" || !strings.Contains(doc.Error.Message, `did you mean "engineer"?`) {
		t.Errorf("unknown role: %+v", doc.Error)
	}
	doc = e.runDoc(exitFailed, "offboard-user", "--input", "user=nobody", "--input", "reason=HR-1")
	if doc.Error == nil || !strings.Contains(doc.Error.Message, "no account nobody on any backend") {
		t.Errorf("offboarding an unknown user: %+v", doc.Error)
	}
	r := e.cmd(exitInvalid, "run", "onboard-user", "--input", "user=Gina Park", "--input", "role=engineer")
	if !strings.Contains(r.stderr, "user") {
		t.Errorf("a malformed user name: %s", r.stderr)
	}

	// A copy of the runbooks with a broken policy and a broken roster.
	folder := t.TempDir()
	for _, f := range []string{"onboard-user.yaml", "access-review.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "runbooks", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(folder, f), string(b))
	}
	writeFile(t, filepath.Join(folder, "files", "access-policy.yaml"), "version: 1\nroles:\n  engineer:\n    owners: eng-leads\n    grants:\n      directory: [engineering]\n")
	writeFile(t, filepath.Join(folder, "files", "roster.csv"), "user,name,email,role,status\nana,Ana,ana@example.org,engineer,active\nben,Ben,ben@example.org,sre,gone\n")
	doc = e.runDoc(exitFailed, filepath.Join(folder, "onboard-user.yaml"), "--input", "user=gina", "--input", "role=engineer")
	if doc.Error == nil || doc.Error.Code != "invalid_policy" || !strings.Contains(doc.Error.Message, "files/access-policy.yaml:4:5") {
		t.Errorf("malformed policy: %+v", doc.Error)
	}
	writeFile(t, filepath.Join(folder, "files", "access-policy.yaml"), "version: 1\nroles:\n  engineer:\n    owner: eng-leads\n    grants:\n      directory: [engineering]\nprivileged:\n  directory: [prod-admins]\n")
	doc = e.runDoc(exitFailed, filepath.Join(folder, "access-review.yaml"), "--input", "report=none")
	if doc.Error == nil || doc.Error.Code != "invalid_roster" || !strings.Contains(doc.Error.Message, "files/roster.csv:3") {
		t.Errorf("malformed roster: %+v", doc.Error)
	}
	for _, g := range seededGroups {
		if m, _ := e.dir.Members(g); slices.Contains(m, "gina") {
			t.Errorf("gina was granted %s by a failed run", g)
		}
	}
}

// TestAccessOffboard: offboarding revokes every membership, disables the
// account (it can no longer bind) and removes its SSH public keys from the
// directory, verifies with a second listing and says so, and says which
// sessions it cannot end; urgent mode acts before any approval, the
// journal records who skipped it and why, and the run then waits for an
// access admin to approve it after the fact.
func TestAccessOffboard(t *testing.T) {
	e := newAccessEnv(t, directory(t), smtptest.New(t))
	if err := e.dir.Bind("dmitri", ldaptest.UserPassword("dmitri")); err != nil {
		t.Fatalf("dmitri cannot bind before: %v", err)
	}
	if entry, err := e.dir.Entry(ldaptest.UserDN("dmitri")); err != nil || len(entry["sshPublicKey"]) != 1 {
		t.Fatalf("dmitri's SSH key before: %v %v", entry["sshPublicKey"], err)
	}
	if got := e.groupsOf("dmitri"); !slices.Equal(got, []string{"prod-admins", "vpn"}) {
		t.Fatalf("dmitri starts with %v", got)
	}
	doc := e.runDoc(exitWaiting, "offboard-user", "--input", "user=dmitri", "--input", "reason=HR-1001 last day", "--as", "hr-bot")
	if got := e.groupsOf("dmitri"); len(got) != 2 {
		t.Fatalf("revoked before the approval: %v", got)
	}
	done := e.goOn(exitOK, "approve", doc.ID, "approve", "--as", "sam", "--comment", "checked with HR")
	if done.Status != "succeeded" {
		t.Fatalf("%s %+v", done.Status, done.Error)
	}
	if got := e.groupsOf("dmitri"); len(got) != 0 {
		t.Errorf("dmitri still in %v", got)
	}
	if err := e.dir.Bind("dmitri", ldaptest.UserPassword("dmitri")); err == nil {
		t.Error("dmitri can still bind after offboarding")
	}
	if entry, err := e.dir.Entry(ldaptest.UserDN("dmitri")); err != nil || entry["sshPublicKey"] != nil {
		t.Errorf("dmitri keeps SSH keys: %v %v", entry["sshPublicKey"], err)
	}
	sum, _ := done.Outputs["summary"].(string)
	if !strings.HasPrefix(sum, "dmitri has no access left: 3 of 3 grants revoked by this run") ||
		!strings.Contains(sum, "(1 SSH keys removed); a second listing found 0 grants. Sessions already open on systems that trust the directory are not ended by it.") ||
		fmt.Sprint(done.Outputs["remaining"]) != "0" || fmt.Sprint(done.Outputs["ssh_keys_removed"]) != "1" {
		t.Errorf("outputs %v", done.Outputs)
	}
	if s := fmt.Sprint(done.Outputs["sessions"]); !strings.Contains(s, "directory: the directory now refuses every new login as dmitri") ||
		!strings.Contains(s, "sessions already open there (an SSH shell, a VPN tunnel, a web single sign-on session) go on") {
		t.Errorf("sessions %s", s)
	}
	if got := fmt.Sprint(done.Outputs["revoked"]); got != "[directory/prod-admins directory/vpn github/sre]" {
		t.Errorf("revoked %s", got)
	}
	if a := e.shown(done.ID).Approvals; len(a) != 1 || a[0].By != "sam" {
		t.Error("the approval is not in show")
	}

	// Urgent: no approval before, on the record, and an approval asked
	// after the fact: the run waits for it with everything removed.
	frank := e.runDoc(exitWaiting, "offboard-user", "--input", "user=frank", "--input", "reason=SEC-7 compromised", "--input", "urgent=true", "--as", "sec-oncall")
	if got := e.groupsOf("frank"); len(got) != 0 {
		t.Errorf("frank still in %v", got)
	}
	logged, asked := false, ""
	for _, rec := range e.exportLines(frank.ID) {
		data, _ := rec["data"].(map[string]any)
		if rec["type"] == "step.log" && data["step"] == "urgent" && data["level"] == "warn" &&
			data["message"] == "urgent offboarding of frank started by sec-oncall without approval: SEC-7 compromised; an access admin is asked to approve it after the fact" {
			logged = true
		}
		if rec["type"] == "step.waiting" {
			asked += fmt.Sprint(data["step"], " ", data["approvers"], " ", data["subjects"], ";")
		}
	}
	if !logged {
		t.Error("the journal does not say who skipped the approval and why")
	}
	if asked != "endorse [group:access-admins] [frank];" {
		t.Errorf("approvals asked: %q, want only the after-the-fact approval", asked)
	}
	if endorsed := e.goOn(exitOK, "approve", frank.ID, "endorse", "--as", "sam", "--comment", "confirmed with security"); endorsed.Status != "succeeded" ||
		endorsed.Outputs["endorsed"] != true {
		t.Errorf("after the fact: %s %v", endorsed.Status, endorsed.Outputs)
	}
	e.secretsNowhere(e.dir.BindPassword, e.mail.Password)
}

// TestAccessMove: ben moves from sre to support. The run waits for both
// role owners; ben, although in sre-leads, may not approve his own move;
// once both approve, the directory holds exactly the support role's groups
// for him (vpn kept, support granted, engineering and prod-admins revoked),
// and a second listing verified it.
func TestAccessMove(t *testing.T) {
	e := newAccessEnv(t, directory(t), smtptest.New(t))
	if got := e.groupsOf("ben"); !slices.Equal(got, []string{"engineering", "prod-admins", "vpn"}) {
		t.Fatalf("ben starts with %v", got)
	}
	doc := e.runDoc(exitWaiting, "move-user", "--input", "user=ben", "--input", "from_role=sre", "--input", "to_role=support",
		"--input", "reason=HR-2002", "--as", "hr-bot")
	if stderr := e.printed[len(e.printed)-1]; !strings.Contains(stderr, "who may decide: group:sre-leads (omar, ben)\n  never: ben (the change is about them)") {
		t.Errorf("the waiting run does not say who may never approve:\n%s", stderr)
	}
	r := e.cmd(exitFailed, "approve", doc.ID, "approve_from", "--as", "ben")
	if !strings.Contains(r.stderr, "ben is the subject of this change and may not approve it (step approve_from asks group:sre-leads (omar, ben))") {
		t.Errorf("the subject's approval: %s", r.stderr)
	}
	if half := e.goOn(exitWaiting, "approve", doc.ID, "approve_to", "--as", "petra"); half.Status != "waiting" {
		t.Fatalf("after one approval: %s", half.Status)
	}
	if got := e.groupsOf("ben"); len(got) != 3 {
		t.Fatalf("changed before both approvals: %v", got)
	}
	done := e.goOn(exitOK, "approve", doc.ID, "approve_from", "--as", "omar", "--comment", "off the rota")
	if done.Status != "succeeded" {
		t.Fatalf("%s %+v", done.Status, done.Error)
	}
	if got := e.groupsOf("ben"); !slices.Equal(got, []string{"support", "vpn"}) {
		t.Errorf("ben is in %v, want exactly support's directory groups [support vpn]", got)
	}
	if got := fmt.Sprintln(done.Outputs["granted"], done.Outputs["revoked"], done.Outputs["kept"]); got !=
		"[directory/support github/support] [directory/engineering directory/prod-admins github/backend github/sre] [directory/vpn]\n" {
		t.Errorf("granted, revoked, kept: %s", got)
	}
	if a := e.shown(done.ID).Approvals; len(a) != 2 || a[0].By != "petra" || a[1].By != "omar" {
		t.Errorf("approvals %+v", a)
	}
}

// TestAccessOffboardDirectoryDown: the directory stops after the
// approval, in the middle of offboarding. The run fails visibly, names
// what is still granted (as last known) and escalates; once the directory
// is back, running offboard-user again finishes the job.
func TestAccessOffboardDirectoryDown(t *testing.T) {
	e := newAccessEnv(t, directory(t), smtptest.New(t))
	doc := e.runDoc(exitWaiting, "offboard-user", "--input", "user=dmitri", "--input", "reason=HR-1001", "--as", "hr-bot")
	e.dir.Stop()
	failed := e.goOn(exitFailed, "approve", doc.ID, "approve", "--as", "sam")
	if failed.Status != "failed" || failed.Error == nil {
		t.Fatalf("%s %+v", failed.Status, failed.Error)
	}
	msg := failed.Error.Message
	if !strings.Contains(msg, "offboarding of dmitri is not complete: the second listing failed") ||
		!strings.Contains(msg, "still granted: directory/prod-admins, directory/vpn; still enabled: directory") {
		t.Errorf("error: %s", msg)
	}
	steps := map[string]string{}
	for _, s := range failed.Steps {
		steps[s.ID+"/"+s.Phase] = s.Status
	}
	if steps["report/on_failure"] != "succeeded" || steps["escalate/on_failure"] != "succeeded" || steps["revoke/"] != "failed" {
		t.Errorf("steps %v", steps)
	}
	report := ""
	for _, s := range failed.Steps {
		if s.ID == "report" {
			report = fmt.Sprint(s.Outputs)
		}
	}
	if !strings.Contains(report, "Still granted: directory/prod-admins, directory/vpn (as last known). Revoked by this run: github/sre.") ||
		!strings.Contains(report, "steward run offboard-user --input user=dmitri") {
		t.Errorf("the report does not list what is still granted: %s", report)
	}

	if err := e.dir.Start(); err != nil {
		t.Fatal(err)
	}
	if got := e.groupsOf("dmitri"); !slices.Equal(got, []string{"prod-admins", "vpn"}) {
		t.Fatalf("the directory lost state: %v", got)
	}
	again := e.runDoc(exitWaiting, "offboard-user", "--input", "user=dmitri", "--input", "reason=HR-1001", "--input", "urgent=true")
	if got := e.groupsOf("dmitri"); len(got) != 0 || again.Status != "waiting" {
		t.Errorf("after running again: %s, dmitri in %v", again.Status, got)
	}
}

// TestAccessReview: the review of the seeded directory (and the github
// sandbox) against the bundled policy and roster finds every planted
// violation and nothing else, emails the reviewer, waits for an access
// admin's approval, then revokes what it decided (not eve's membership,
// an exception of the policy). steward audit evidence writes a row per
// privileged membership as CSV and JSON, with the reviewer and the
// run.finished record's seq and hash, which are the journal's.
func TestAccessReview(t *testing.T) {
	e := newAccessEnv(t, directory(t), smtptest.New(t))
	// Exceptions are judged on a fixed day, so that eve's (until
	// 2030-12-31 in the bundled policy) does not expire under the test.
	doc := e.runDoc(exitWaiting, "access-review", "--input", "report=email", "--input", "reviewer=auditor@example.org", "--input", "as_of=2026-12-07", "--as", "scheduler")
	review := e.stepOutputs(doc, "review")
	var got []string
	for _, f := range review["findings"].([]any) {
		m := f.(map[string]any)
		got = append(got, fmt.Sprintf("%s %s/%s %s", m["kind"], m["backend"], m["group"], m["account"]))
	}
	sort.Strings(got)
	want := []string{
		"beyond_role directory/payments-admins eve", // support does not grant payments-admins
		"beyond_role github/admins ben",             // sre does not grant the admins team
		"leaver directory/prod-admins dmitri",       // left, still in prod-admins
		"leaver github/sre dmitri",
		"not_in_roster directory/prod-admins frank", // nobody in the roster
		"not_in_roster github/admins frank",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	table, _ := review["table"].(string)
	msgs := mustMessages(t, e.mail)
	if len(msgs) != 1 || msgs[0].Recipients[0] != "auditor@example.org" || !strings.Contains(msgs[0].Subject, ": 6 findings") ||
		!strings.Contains(msgs[0].Body, table) || !strings.Contains(msgs[0].Body, "Decisions: 2 keep, 5 revoke, 1 exception.") {
		t.Errorf("report email: %+v", msgs)
	}
	if got := e.groupsOf("dmitri"); !slices.Contains(got, "prod-admins") {
		t.Fatalf("revoked before the review was approved: %v", got)
	}
	e.cmd(exitInvalid, "audit", "evidence", doc.ID)

	done := e.goOn(exitOK, "approve", doc.ID, "decide", "--as", "sam", "--comment", "checked with HR")
	if done.Status != "succeeded" {
		t.Fatalf("%s %+v", done.Status, done.Error)
	}
	if got := fmt.Sprint(done.Outputs["revoked"]); got != "[directory/prod-admins dmitri directory/prod-admins frank github/admins ben github/admins frank github/sre dmitri]" {
		t.Errorf("revoked %s", got)
	}
	for group, want := range map[string]string{"prod-admins": "[ben]", "payments-admins": "[eve]"} {
		if m, err := e.dir.Members(group); err != nil || fmt.Sprint(m) != want {
			t.Errorf("%s holds %v (%v), want %s", group, m, err, want)
		}
	}

	// The evidence, as CSV and as JSON, against the journal's records.
	var finished map[string]any
	for _, rec := range e.exportLines(doc.ID) {
		if rec["type"] == "run.finished" {
			finished = rec
		}
	}
	seq, hash := fmt.Sprint(finished["seq"]), fmt.Sprint(finished["hash"])
	rows, err := csv.NewReader(strings.NewReader(e.cmd(exitOK, "audit", "evidence", doc.ID, "-o", "csv").stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := "run_id runbook journal_seq journal_hash approved_by approved_at account backend decision exception_approved_by exception_expires finding group name reason revocation role user"
	if len(rows) != 9 || strings.Join(rows[0], " ") != header {
		t.Fatalf("csv: %d lines, header %v", len(rows), rows[0])
	}
	decided := map[string]string{}
	for _, r := range rows[1:] {
		if r[0] != doc.ID || r[1] != "access-review" || r[2] != seq || r[3] != hash || r[4] != "sam" || r[5] == "" {
			t.Errorf("row %v: want run %s, record %s %s, approved by sam", r, doc.ID, seq, hash)
		}
		decided[r[7]+"/"+r[12]+" "+r[6]] = r[8] + " " + r[15] + " " + r[10]
	}
	wantDecided := map[string]string{
		"directory/payments-admins eve": "exception  2030-12-31",
		"directory/prod-admins ben":     "keep  ",
		"directory/prod-admins dmitri":  "revoke revoked ",
		"directory/prod-admins frank":   "revoke revoked ",
		"github/admins ben":             "revoke revoked ",
		"github/admins frank":           "revoke revoked ",
		"github/sre ben":                "keep  ",
		"github/sre dmitri":             "revoke revoked ",
	}
	if fmt.Sprint(decided) != fmt.Sprint(wantDecided) {
		t.Errorf("decisions %v\nwant %v", decided, wantDecided)
	}
	var ev struct {
		Run       struct{ ID, Runbook, Actor, Status string }
		Rows      []map[string]any
		Approvals []struct {
			Step, By, Comment string
			Approved          bool
			Seq               int64
			Hash              string
		}
		Journal struct {
			Seq      int64
			Hash     string
			Verified bool
			Verify   string
		}
	}
	if err := json.Unmarshal([]byte(e.cmd(exitOK, "audit", "evidence", doc.ID).stdout), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Run.ID != doc.ID || ev.Run.Actor != "scheduler" || ev.Run.Status != "succeeded" || len(ev.Rows) != 8 || fmt.Sprint(ev.Journal.Seq) != seq ||
		ev.Journal.Hash != hash || !ev.Journal.Verified || len(ev.Approvals) != 1 || ev.Approvals[0].By != "sam" ||
		ev.Approvals[0].Step != "decide" || ev.Approvals[0].Comment != "checked with HR" {
		t.Errorf("evidence json: %+v", ev)
	}
	// The auditor's check: the journal holds that record with that hash.
	if ev.Journal.Verify != "steward audit verify --head "+seq+":"+hash {
		t.Errorf("verify: %q", ev.Journal.Verify)
	}
	e.cmd(exitOK, "audit", "verify", "--head", seq+":"+hash)
	e.cmd(exitFailed, "audit", "verify", "--head", seq+":"+strings.Repeat("0", 64))
	e.cmd(exitInvalid, "audit", "evidence", doc.ID, "--rows", "findings_table")

	// The next review: the directory's findings are gone but eve's
	// exception. (The github backend is the plugin's sandbox, which starts
	// from its seed in every plugin process: its findings come back.)
	next := e.stepOutputs(e.runDoc(exitWaiting, "access-review", "--input", "report=none"), "review")
	got = nil
	for _, d := range next["decisions"].([]any) {
		m := d.(map[string]any)
		if m["backend"] == "directory" {
			got = append(got, fmt.Sprintf("%s %s/%s", m["decision"], m["group"], m["account"]))
		}
	}
	if want := []string{"exception payments-admins/eve", "keep prod-admins/ben"}; !slices.Equal(got, want) {
		t.Errorf("the next review: %v, want %v", got, want)
	}
}

// stepOutputs are the outputs of a step of a run document.
func (e *accessEnv) stepOutputs(doc accessDoc, id string) map[string]any {
	e.t.Helper()
	for _, s := range doc.Steps {
		if s.ID == id && s.Phase == "" {
			if m, ok := s.Outputs.(map[string]any); ok {
				return m
			}
		}
	}
	e.t.Fatalf("run %s: no outputs of step %s", doc.ID, id)
	return nil
}

// accessShown is show -o json, with step outputs of any shape.
type accessShown struct {
	Approvals []struct {
		Step, By, Comment string
		Approved          bool
	}
}

func (e *accessEnv) shown(id string) accessShown {
	e.t.Helper()
	r := e.cmd(exitOK, "show", id, "-o", "json")
	var doc accessShown
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		e.t.Fatalf("show -o json: %v\n%s", err, r.stdout)
	}
	return doc
}

// mustMessages reads what the SMTP server received.
func mustMessages(t *testing.T, s *smtptest.Server) []smtptest.Message {
	t.Helper()
	msgs, err := s.Messages()
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}
