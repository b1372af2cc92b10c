package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// testRoster is HR's view of the sandbox seeds: dmitri left, frank is not
// in it, eve (support) is also a payments admin.
const testRoster = `user,name,email,role,status,account:github
# people, as HR exports them
ana,Ana Lima,ana@example.org,engineer,active,
ben,Ben Okafor,ben@example.org,sre,active,

carla,Carla Rossi,carla@example.org,support,active,
dmitri,Dmitri Volkov,dmitri@example.org,sre,left,
eve,Eve Martin,eve@example.org,support,active,
gina,Gina Park,gina@example.org,payments,active,
`

// privilegedMembers are list_members' outputs for the policy's privileged
// groups, as a runbook passes them on.
func privilegedMembers(t *testing.T, p *sdktest.Plugin) []any {
	t.Helper()
	var out []any
	for _, g := range []struct{ backend, group string }{
		{"directory", "prod-admins"}, {"directory", "payments-admins"}, {"github", "admins"}, {"github", "sre"},
	} {
		m, _, err := p.Execute("list_members", map[string]any{"backend": g.backend, "group": g.group})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func reviewWith(roster, file string, members []any) map[string]any {
	return map[string]any{"policy": testPolicy, "policy_file": "access-policy.yaml", "roster": roster, "roster_file": file, "members": members,
		"as_of": "2026-12-07T09:00:00Z"}
}

func findings(out map[string]any) string {
	var lines []string
	for _, f := range out["findings"].([]any) {
		m := f.(map[string]any)
		lines = append(lines, fmt.Sprintf("%s %s/%s/%s user=%s name=%s role=%s: %s", m["kind"], m["backend"], m["group"], m["account"], m["user"], m["name"], m["role"], m["detail"]))
	}
	return strings.Join(lines, "\n")
}

func TestReview(t *testing.T) {
	p := start(t, nil)
	// As a spreadsheet saves it: with a byte order mark.
	out, logs, err := p.Execute("review", reviewWith("\ufeff"+testRoster, "roster.csv", privilegedMembers(t, p)))
	if err != nil {
		t.Fatal(err)
	}
	want := `leaver directory/prod-admins/dmitri user=dmitri name=Dmitri Volkov role=sre: Dmitri Volkov (dmitri) left but dmitri is still in prod-admins on directory
leaver github/sre/dmitri user=dmitri name=Dmitri Volkov role=sre: Dmitri Volkov (dmitri) left but dmitri is still in sre on github
beyond_role directory/payments-admins/eve user=eve name=Eve Martin role=support: the role support does not grant payments-admins on directory (it grants directory: support; github: support)
not_in_roster directory/prod-admins/frank user= name= role=: nobody in roster.csv has the account frank on directory
not_in_roster github/admins/frank user= name= role=: nobody in roster.csv has the account frank on github`
	if got := findings(out); got != want {
		t.Errorf("findings\n%s\nwant\n%s", got, want)
	}
	if fmt.Sprint(out["counts"]) != "map[beyond_role:1 exception:0 keep:3 leaver:2 not_in_roster:2 revoke:5 total:5]" || out["memberships"] != float64(8) ||
		out["groups"] != float64(4) || out["clean"] != false {
		t.Errorf("counts %v, memberships %v, groups %v, clean %v", out["counts"], out["memberships"], out["groups"], out["clean"])
	}
	summary := "5 findings in 8 memberships of 4 privileged groups: 2 leavers with access, 1 beyond the role, 2 not in the roster."
	if out["summary"] != summary {
		t.Errorf("summary %q", out["summary"])
	}
	table := `| kind | backend | group | account | user | name | role | detail |
|---|---|---|---|---|---|---|---|
| leaver | directory | prod-admins | dmitri | dmitri | Dmitri Volkov | sre | Dmitri Volkov (dmitri) left but dmitri is still in prod-admins on directory |
| leaver | github | sre | dmitri | dmitri | Dmitri Volkov | sre | Dmitri Volkov (dmitri) left but dmitri is still in sre on github |
| beyond_role | directory | payments-admins | eve | eve | Eve Martin | support | the role support does not grant payments-admins on directory (it grants directory: support; github: support) |
| not_in_roster | directory | prod-admins | frank |  |  |  | nobody in roster.csv has the account frank on directory |
| not_in_roster | github | admins | frank |  |  |  | nobody in roster.csv has the account frank on github |`
	if out["table"] != table {
		t.Errorf("table\n%s\nwant\n%s", out["table"], table)
	}
	if fmt.Sprint(logs) != "[{info reviewing 4 groups against roster.csv (6 people) and access-policy.yaml} {warn "+summary+"}]" {
		t.Errorf("logs %v", logs)
	}

	// After the offboarding and a fix of the roster: clean.
	for _, r := range []map[string]any{
		{"backend": "directory", "group": "prod-admins", "user": "dmitri"}, {"backend": "github", "group": "sre", "user": "dmitri"},
		{"backend": "directory", "group": "payments-admins", "user": "eve"},
	} {
		if _, _, err := p.Execute("revoke", r); err != nil {
			t.Fatal(err)
		}
	}
	roster := testRoster + "frank,Frank Meyer,frank@example.org,sre,active,\n"
	out, _, err = p.Execute("review", reviewWith(roster, "roster.csv", privilegedMembers(t, p)))
	if err != nil {
		t.Fatal(err)
	}
	clean := "No findings: 5 memberships of 4 privileged groups match the roster and the policy."
	if out["clean"] != true || out["summary"] != clean || out["table"] != clean || fmt.Sprint(out["findings"]) != "[]" ||
		fmt.Sprint(out["counts"]) != "map[beyond_role:0 exception:0 keep:5 leaver:0 not_in_roster:0 revoke:0 total:0]" || fmt.Sprint(out["revoke"]) != "[]" {
		t.Errorf("a clean review: %v", out)
	}
}

// TestReviewJSONRoster: accounts named otherwise per backend, a role not
// in the policy, no role, a group outside the privileged ones; the format
// guessed from the text.
func TestReviewJSONRoster(t *testing.T) {
	p := start(t, nil)
	roster := `[
  {"user": "ben", "name": "Ben Okafor", "email": "ben@example.org", "role": "sre", "status": "active", "accounts": {"github": "bokafor"}},
  {"user": "dmitri", "name": "Dmitri Volkov", "email": "dmitri@example.org", "role": "dba", "status": "active"},
  {"user": "frank", "name": "", "email": "frank@example.org", "role": "", "status": "active"},
  {"user": "carla", "name": "Carla Rossi", "email": "carla@example.org", "role": "support", "status": "active"}
]`
	members := []any{
		map[string]any{"backend": "directory", "group": "prod-admins", "members": []any{"ben", "dmitri", "frank", "frank"}},
		map[string]any{"backend": "github", "group": "sre", "members": []any{"bokafor", "ben"}},
		map[string]any{"backend": "directory", "group": "support", "members": []any{"carla"}},
	}
	out, logs, err := p.Execute("review", reviewWith(roster, "people.txt", members))
	if err != nil {
		t.Fatal(err)
	}
	want := `beyond_role directory/prod-admins/dmitri user=dmitri name=Dmitri Volkov role=dba: the role dba of Dmitri Volkov (dmitri) is not in access-policy.yaml, and dmitri is in prod-admins on directory
beyond_role directory/prod-admins/frank user=frank name= role=: frank has no role in people.txt, and frank is in prod-admins on directory
not_in_roster github/sre/ben user= name= role=: nobody in people.txt has the account ben on github`
	if got := findings(out); got != want {
		t.Errorf("findings\n%s\nwant\n%s", got, want)
	}
	if out["memberships"] != float64(6) || out["groups"] != float64(3) {
		t.Errorf("memberships %v groups %v", out["memberships"], out["groups"])
	}
	if logs[1] != (sdktest.Log{Level: "warn", Message: "support on directory is not among the privileged groups of access-policy.yaml: reviewed all the same"}) {
		t.Errorf("logs %v", logs)
	}

	for _, c := range []struct {
		members []any
		want    string
	}{
		{[]any{map[string]any{"backend": "directory", "group": "", "members": []any{}}}, "with.members[0] needs a backend and a group: pass list_members' outputs"},
		{[]any{map[string]any{"backend": "github", "group": "sre", "members": []any{}}, map[string]any{"backend": "github", "group": "sre", "members": []any{}}},
			"with.members lists sre on github twice"},
	} {
		_, _, err := p.Execute("review", reviewWith(roster, "people.json", c.members))
		sdktest.WantError(t, err, "invalid_request", false, c.want)
	}
	with := reviewWith(roster, "people.json", nil)
	delete(with, "members")
	_, _, err = p.Execute("review", with)
	sdktest.WantError(t, err, "invalid_input", false, `with: missing required field "members"`)
	_, _, err = p.Execute("review", map[string]any{"policy": "version: 1\n", "policy_file": "p.yaml", "roster": roster, "roster_file": "r.json", "members": []any{}})
	sdktest.WantError(t, err, "invalid_policy", false, "p.yaml:1:1: missing roles: list the roles, each with an owner and its grants")
}

func TestInvalidRosters(t *testing.T) {
	p := start(t, nil)
	for _, c := range []struct {
		file, roster, want string
	}{
		{"r.csv", "", "r.csv:1: the roster is empty: start it with the header user,name,email,role,status"},
		{"r.csv", "user,name,mail,role,state,account:githb,user\n",
			`r.csv:1: unknown column "mail"; did you mean "email"? columns: user, name, email, role, status, and account:BACKEND` + "\n" +
				`r.csv:1: unknown column "state"; columns: user, name, email, role, status, and account:BACKEND` + "\n" +
				`r.csv:1: column account:githb names a backend that is not configured; did you mean "github"? configured backends: directory, github` + "\n" +
				"r.csv:1: column user appears twice in the header\n" +
				"r.csv:1: the header has no email column: it needs user, name, email, role and status (and account:BACKEND columns as needed)\n" +
				"r.csv:1: the header has no status column: it needs user, name, email, role and status (and account:BACKEND columns as needed)"},
		{"r.csv", "status,role,email,name,user\nactive,sre,b@x,Ben,ben\nleft,sre\n\n# ana\nformer,sre,a@x,Ana,ana\nactive,sre,b2@x,Ben 2,ben\nactive,sre,c@x,C,\n",
			"r.csv:3: 2 fields, but the header has 5\n" +
				`r.csv:6: status "former" of ana: write active or left` + "\n" +
				"r.csv:7: user ben is already on line 2\n" +
				"r.csv:8: the user is empty: every person needs one"},
		{"r.csv", "user,name,email,role,status,account:github\nana,A,a@x,sre,active,ana-gh\nben,B,b@x,sre,active,ana-gh\n",
			"r.csv:3: the account ana-gh on github is already ana's (line 2)"},
		{"r.csv", "user,name,email,role,status\nana,\"A,a@x,sre,active\n", `r.csv:2: not valid CSV: extraneous or missing " in quoted-field`},
		{"r.json", "[\n  {\"user\": \"ana\",\n   \"status\": \"active\"},\n  {\"user\": \"ben\" \"status\": \"left\"}\n]",
			"r.json:4: not valid JSON: invalid character '\"' after object key:value pair"},
		{"r.json", "[\n  {\"user\": \"ana\", \"status\": \"active\"},\n  {\"user\": \"ben\",\n   \"rol\": \"sre\", \"status\": \"active\"},\n  {\"user\": 7}\n]",
			`r.json:4: unknown field "rol"; did you mean "role"? fields: user, name, email, role, status, accounts` + "\n" +
				"r.json:5: field user must be a string, not a JSON number"},
		{"r.json", `[{"user": "ana", "status": "active", "accounts": {"okta": "ana"}}]`,
			`r.json:1: accounts names the backend "okta", which is not configured; configured backends: directory, github`},
		// Of several, in the order of their names (not the map's).
		{"r.json", `[{"user": "ana", "status": "active", "accounts": {"zeta": "ana", "okta": "ana", "ldap": "ana", "azure": "ana"}}]`,
			`r.json:1: accounts names the backend "azure", which is not configured; configured backends: directory, github` + "\n" +
				`r.json:1: accounts names the backend "ldap", which is not configured; configured backends: directory, github` + "\n" +
				`r.json:1: accounts names the backend "okta", which is not configured; configured backends: directory, github` + "\n" +
				`r.json:1: accounts names the backend "zeta", which is not configured; configured backends: directory, github`},
		{"r.json", `{"user": "ana"}`, `r.json:1: a JSON roster is an array of people ([{"user": ..., "status": "active"}, ...])`},
		{"r.json", "[\n{\"user\": \"ana\", \"status\": \"active\"}\n", "r.json:3: not valid JSON: the text ends before the array does"},
	} {
		_, _, err := p.Execute("review", reviewWith(c.roster, c.file, []any{}))
		sdktest.WantError(t, err, "invalid_roster", false, c.want)
	}
}
