package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
	"github.com/stewardhq/steward/schema/didyoumean"
)

// A roster is who works here, from HR: a CSV file with the header
// user,name,email,role,status (any order) and optional account:BACKEND
// columns (the person's account there, where it is not user), or a JSON
// array of {user, name, email, role, status, accounts: {BACKEND: account}}.
// status is active or left.

// person is a roster's row.
type person struct {
	User     string            `json:"user"`
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Role     string            `json:"role"`
	Status   string            `json:"status"`
	Accounts map[string]string `json:"accounts"`
	line     int
}

// account is the person's account on backend.
func (p *person) account(backend string) string {
	if a := p.Accounts[backend]; a != "" {
		return a
	}
	return p.User
}

var rosterColumns = []string{"user", "name", "email", "role", "status"}

// rosterProblems collects a roster's errors, each at FILE:LINE.
type rosterProblems struct {
	file string
	list []string
}

func (r *rosterProblems) add(line int, format string, args ...any) {
	if len(r.list) == 20 {
		r.list = append(r.list, fmt.Sprintf("%s: more problems not shown", r.file))
	}
	if len(r.list) > 20 {
		return
	}
	r.list = append(r.list, fmt.Sprintf("%s:%d: %s", r.file, line, fmt.Sprintf(format, args...)))
}

func (r *rosterProblems) err() error {
	if len(r.list) == 0 {
		return nil
	}
	return sdk.Error(codeInvalidRoster, "%s", strings.Join(r.list, "\n"))
}

// parseRoster reads a roster: JSON when the file's name ends in .json,
// CSV when in .csv, else JSON when the text starts with [.
func parseRoster(text, file string, backends []string) ([]*person, error) {
	rp := &rosterProblems{file: file}
	if len(text) > maxPolicy {
		rp.add(1, "the roster is %d bytes: at most %d are read", len(text), maxPolicy)
		return nil, rp.err()
	}
	text = strings.TrimPrefix(text, "\ufeff") // spreadsheets start CSV with a byte order mark
	var people []*person
	switch ext := strings.ToLower(path.Ext(file)); {
	case ext == ".json" || ext != ".csv" && strings.HasPrefix(strings.TrimSpace(text), "["):
		people = rosterJSON(rp, text, backends)
	default:
		people = rosterCSV(rp, text, backends)
	}
	checkPeople(rp, people, backends)
	if err := rp.err(); err != nil {
		return nil, err
	}
	return people, nil
}

func rosterCSV(rp *rosterProblems, text string, backends []string) []*person {
	r := csv.NewReader(strings.NewReader(text))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err == io.EOF {
		rp.add(1, "the roster is empty: start it with the header user,name,email,role,status")
		return nil
	}
	if err != nil {
		csvError(rp, err)
		return nil
	}
	headerLine, _ := r.FieldPos(0)
	cols := map[string]int{}
	accounts := map[int]string{} // column -> backend
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := cols[h]; dup {
			rp.add(headerLine, "column %s appears twice in the header", h)
			continue
		}
		cols[h] = i
		if backend, ok := strings.CutPrefix(h, "account:"); ok {
			if !slices.Contains(backends, backend) {
				rp.add(headerLine, "column %s names a backend that is not configured;%s configured backends: %s", h, suggest(backend, backends), strings.Join(backends, ", "))
			}
			accounts[i] = backend
			continue
		}
		if !slices.Contains(rosterColumns, h) {
			rp.add(headerLine, "unknown column %q;%s columns: user, name, email, role, status, and account:BACKEND", h, suggest(h, rosterColumns))
		}
	}
	for _, c := range rosterColumns {
		if _, ok := cols[c]; !ok {
			rp.add(headerLine, "the header has no %s column: it needs user, name, email, role and status (and account:BACKEND columns as needed)", c)
		}
	}
	if len(rp.list) > 0 {
		return nil
	}
	var people []*person
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return people
		}
		if err != nil {
			csvError(rp, err)
			return people
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			rp.add(line, "%d fields, but the header has %d", len(rec), len(header))
			continue
		}
		field := func(c string) string { return strings.TrimSpace(rec[cols[c]]) }
		p := &person{User: field("user"), Name: field("name"), Email: field("email"), Role: field("role"), Status: field("status"), line: line}
		for i, backend := range accounts {
			if v := strings.TrimSpace(rec[i]); v != "" {
				if p.Accounts == nil {
					p.Accounts = map[string]string{}
				}
				p.Accounts[backend] = v
			}
		}
		people = append(people, p)
	}
}

func csvError(rp *rosterProblems, err error) {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		rp.add(pe.Line, "not valid CSV: %v", pe.Err)
		return
	}
	rp.add(1, "not valid CSV: %v", err)
}

func suggest(word string, candidates []string) string {
	if s := didyoumean.Suggest(word, candidates); s != "" {
		return fmt.Sprintf(" did you mean %q?", s)
	}
	return ""
}

var personFields = []string{"user", "name", "email", "role", "status", "accounts"}

func rosterJSON(rp *rosterProblems, text string, backends []string) []*person {
	dec := json.NewDecoder(strings.NewReader(text))
	syntax := func(err error) {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			rp.add(lineAt(text, int(se.Offset)), "not valid JSON: %v", err)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			rp.add(lineAt(text, len(text)), "not valid JSON: the text ends before the array does")
		default:
			rp.add(lineAt(text, int(dec.InputOffset())), "not valid JSON: %v", err)
		}
	}
	tok, err := dec.Token()
	if err != nil {
		syntax(err)
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		rp.add(1, "a JSON roster is an array of people ([{\"user\": ..., \"status\": \"active\"}, ...])")
		return nil
	}
	var people []*person
	for dec.More() {
		start := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			syntax(err)
			return people
		}
		start += len(text[start:]) - len(strings.TrimLeft(text[start:], " \t\r\n,"))
		line := lineAt(text, start)
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		p := &person{}
		if err := d.Decode(p); err != nil {
			var te *json.UnmarshalTypeError
			msg := err.Error()
			switch {
			case errors.As(err, &te):
				rp.add(line, "field %s must be a %s, not a JSON %s", te.Field, jsonKind(te.Type.String()), te.Value)
			case strings.HasPrefix(msg, "json: unknown field "):
				name := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
				at := line
				if i := bytes.Index(raw, []byte(`"`+name+`"`)); i >= 0 {
					at = lineAt(text, start+i)
				}
				rp.add(at, "unknown field %q;%s fields: %s", name, suggest(name, personFields), strings.Join(personFields, ", "))
			default:
				rp.add(line, "%v", err)
			}
			continue
		}
		p.line = line
		for _, backend := range slices.Sorted(maps.Keys(p.Accounts)) {
			if !slices.Contains(backends, backend) {
				rp.add(line, "accounts names the backend %q, which is not configured;%s configured backends: %s", backend, suggest(backend, backends), strings.Join(backends, ", "))
			}
		}
		people = append(people, p)
	}
	if _, err := dec.Token(); err != nil {
		syntax(err)
	}
	return people
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "map"):
		return "object of backends to accounts"
	case goType == "string":
		return "string"
	}
	return goType
}

// lineAt is the 1-based line of a byte offset.
func lineAt(text string, offset int) int {
	offset = min(max(offset, 0), len(text))
	return strings.Count(text[:offset], "\n") + 1
}

// checkPeople checks what both formats must hold: a user, a status, no
// person twice, no account owned twice.
func checkPeople(rp *rosterProblems, people []*person, backends []string) {
	users := map[string]*person{}
	owners := map[string]*person{} // backend/account
	for _, p := range people {
		switch {
		case p.User == "":
			rp.add(p.line, "the user is empty: every person needs one")
			continue
		case users[strings.ToLower(p.User)] != nil:
			rp.add(p.line, "user %s is already on line %d", p.User, users[strings.ToLower(p.User)].line)
			continue
		}
		users[strings.ToLower(p.User)] = p
		switch p.Status {
		case "active", "left":
		default:
			rp.add(p.line, "status %q of %s: write active or left", p.Status, p.User)
		}
		for _, b := range backends {
			key := b + "/" + strings.ToLower(p.account(b))
			if o := owners[key]; o != nil {
				rp.add(p.line, "the account %s on %s is already %s's (line %d)", p.account(b), b, o.User, o.line)
				continue
			}
			owners[key] = p
		}
	}
}

// GroupMembers is a group and its members: list_members' output as it is.
type GroupMembers struct {
	Backend string   `json:"backend"`
	Type    string   `json:"type,omitempty" desc:"ignored: list_members says it"`
	Group   string   `json:"group"`
	Members []string `json:"members" desc:"account names on that backend"`
	Count   int      `json:"count,omitempty" desc:"ignored: list_members says it"`
}

// ReviewInput is the with of access.review.
type ReviewInput struct {
	Policy     string         `json:"policy" desc:"the policy file's text"`
	PolicyFile string         `json:"policy_file" desc:"the policy file's name, for messages"`
	Roster     string         `json:"roster" desc:"the roster's text: CSV or JSON"`
	RosterFile string         `json:"roster_file" desc:"the roster's name, for messages; .csv or .json says the format, else it is guessed"`
	Members    []GroupMembers `json:"members" desc:"the privileged groups and their members: list_members' outputs"`
	AsOf       string         `json:"as_of,omitempty" desc:"the day of the review, RFC 3339 or YYYY-MM-DD (run.started_at), for the exceptions' expiry; default now"`
}

// Finding is a membership the review questions.
type Finding struct {
	Kind    string `json:"kind" enum:"leaver,beyond_role,not_in_roster"`
	Backend string `json:"backend"`
	Group   string `json:"group"`
	Account string `json:"account"`
	User    string `json:"user" desc:"the roster's person owning the account; empty for not_in_roster"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	Detail  string `json:"detail" desc:"a sentence saying what is wrong"`
}

// ReviewCounts are the findings by kind.
type ReviewCounts struct {
	Leaver      int `json:"leaver"`
	BeyondRole  int `json:"beyond_role"`
	NotInRoster int `json:"not_in_roster"`
	Total       int `json:"total"`
	Keep        int `json:"keep" desc:"memberships decided keep"`
	Revoke      int `json:"revoke" desc:"memberships decided revoke"`
	Exception   int `json:"exception" desc:"memberships kept by an exception of the policy"`
}

// ReviewOutput is what access.review returns.
type ReviewOutput struct {
	Findings    []Finding    `json:"findings" desc:"sorted by kind (leaver, beyond_role, not_in_roster), backend, group, account"`
	Counts      ReviewCounts `json:"counts"`
	Decisions   []Decision   `json:"decisions" desc:"every privileged membership reviewed, with its decision: keep, revoke or exception; sorted by backend, group, account"`
	Revoke      []RoleGrant  `json:"revoke" desc:"the memberships decided revoke, as access.revoke takes them"`
	AsOf        string       `json:"as_of" desc:"the day exceptions were checked against, YYYY-MM-DD"`
	Memberships int          `json:"memberships" desc:"how many memberships were reviewed"`
	Groups      int          `json:"groups" desc:"how many groups"`
	Clean       bool         `json:"clean" desc:"no findings"`
	Table       string       `json:"table" desc:"the findings as a markdown table, for a report or an issue"`
	Summary     string       `json:"summary" desc:"one sentence"`
}

var kindOrder = []string{"leaver", "beyond_role", "not_in_roster"}

// review is access.review: read-only, and the same on every backend (it
// reads only what it is given).
func (a *access) review(ctx context.Context, call *sdk.Call, in ReviewInput) (ReviewOutput, error) {
	pol, err := parsePolicy(in.Policy, in.PolicyFile, a.names)
	if err != nil {
		return ReviewOutput{}, err
	}
	people, err := parseRoster(in.Roster, in.RosterFile, a.names)
	if err != nil {
		return ReviewOutput{}, err
	}
	asOf, err := reviewDay(call, in.AsOf)
	if err != nil {
		return ReviewOutput{}, err
	}
	call.Infof("reviewing %d groups against %s (%d people) and %s", len(in.Members), in.RosterFile, len(people), in.PolicyFile)
	// Who owns which account, by backend (accounts compare without case,
	// as LDAP uids and GitHub logins do).
	index := map[string]map[string]*person{}
	owner := func(backend, account string) *person {
		if index[backend] == nil {
			index[backend] = map[string]*person{}
			for _, p := range people {
				index[backend][strings.ToLower(p.account(backend))] = p
			}
		}
		return index[backend][strings.ToLower(account)]
	}
	out := ReviewOutput{Findings: []Finding{}}
	var reviewed []Finding // every membership; Kind "" when it has no finding
	seen := map[string]bool{}
	for i, gm := range in.Members {
		if gm.Backend == "" || gm.Group == "" {
			return ReviewOutput{}, sdk.Error(codeInvalidRequest, "with.members[%d] needs a backend and a group: pass list_members' outputs", i)
		}
		key := gm.Backend + "\x00" + gm.Group
		if seen[key] {
			return ReviewOutput{}, sdk.Error(codeInvalidRequest, "with.members lists %s on %s twice", gm.Group, gm.Backend)
		}
		seen[key] = true
		if !slices.Contains(pol.privileged, PrivilegedGroup{Backend: gm.Backend, Group: gm.Group}) {
			call.Warnf("%s on %s is not among the privileged groups of %s: reviewed all the same", gm.Group, gm.Backend, pol.file)
		}
		out.Groups++
		for _, account := range slices.Compact(slices.Sorted(slices.Values(gm.Members))) {
			out.Memberships++
			f := Finding{Backend: gm.Backend, Group: gm.Group, Account: account}
			p := owner(gm.Backend, account)
			if p != nil {
				f.User, f.Name, f.Role = p.User, p.Name, p.Role
			}
			r := pol.roles[f.Role]
			switch {
			case p == nil:
				f.Kind = "not_in_roster"
				f.Detail = fmt.Sprintf("nobody in %s has the account %s on %s", in.RosterFile, account, gm.Backend)
			case p.Status == "left":
				f.Kind = "leaver"
				f.Detail = fmt.Sprintf("%s left but %s is still in %s on %s", who(p), account, gm.Group, gm.Backend)
			case p.Role == "":
				f.Kind = "beyond_role"
				f.Detail = fmt.Sprintf("%s has no role in %s, and %s is in %s on %s", who(p), in.RosterFile, account, gm.Group, gm.Backend)
			case r == nil:
				f.Kind = "beyond_role"
				f.Detail = fmt.Sprintf("the role %s of %s is not in %s, and %s is in %s on %s", p.Role, who(p), pol.file, account, gm.Group, gm.Backend)
			case !r.allows(gm.Backend, gm.Group):
				f.Kind = "beyond_role"
				f.Detail = fmt.Sprintf("the role %s does not grant %s on %s (it grants %s)", r.name, gm.Group, gm.Backend, describeGrants(r))
			default:
				reviewed = append(reviewed, f)
				continue
			}
			reviewed = append(reviewed, f)
			out.Findings = append(out.Findings, f)
		}
	}
	out.Decisions, out.Revoke = decide(pol, asOf, reviewed)
	out.AsOf = asOf.Format(time.DateOnly)
	for _, d := range out.Decisions {
		switch d.Decision {
		case decisionKeep:
			out.Counts.Keep++
		case decisionRevoke:
			out.Counts.Revoke++
		case decisionException:
			out.Counts.Exception++
		}
	}
	slices.SortFunc(out.Findings, func(a, b Finding) int {
		if c := slices.Index(kindOrder, a.Kind) - slices.Index(kindOrder, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Backend+"\x00"+a.Group+"\x00"+a.Account, b.Backend+"\x00"+b.Group+"\x00"+b.Account)
	})
	for _, f := range out.Findings {
		switch f.Kind {
		case "leaver":
			out.Counts.Leaver++
		case "beyond_role":
			out.Counts.BeyondRole++
		case "not_in_roster":
			out.Counts.NotInRoster++
		}
	}
	out.Counts.Total = len(out.Findings)
	out.Clean = out.Counts.Total == 0
	scope := fmt.Sprintf("%s of %s", plural(out.Memberships, "membership"), plural(out.Groups, "privileged group"))
	if out.Clean {
		out.Summary = fmt.Sprintf("No findings: %s match the roster and the policy.", scope)
		out.Table = out.Summary
		call.Infof("%s", out.Summary)
		return out, nil
	}
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{out.Counts.Leaver, "leaver with access"}, {out.Counts.BeyondRole, "beyond the role"}, {out.Counts.NotInRoster, "not in the roster"}} {
		if c.n == 1 {
			parts = append(parts, "1 "+c.what)
		} else if c.n > 1 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, strings.Replace(c.what, "leaver", "leavers", 1)))
		}
	}
	out.Summary = fmt.Sprintf("%s in %s: %s.", plural(out.Counts.Total, "finding"), scope, strings.Join(parts, ", "))
	out.Table = findingsTable(out.Findings)
	call.Warnf("%s", out.Summary)
	return out, nil
}

func who(p *person) string {
	if p.Name == "" {
		return p.User
	}
	return p.Name + " (" + p.User + ")"
}

func describeGrants(r *policyRole) string {
	var parts []string
	for _, b := range slices.Sorted(maps.Keys(r.grants)) {
		parts = append(parts, b+": "+strings.Join(r.grants[b], ", "))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// findingsTable is a markdown table, one row per finding.
func findingsTable(fs []Finding) string {
	var b strings.Builder
	b.WriteString("| kind | backend | group | account | user | name | role | detail |\n|---|---|---|---|---|---|---|---|\n")
	cell := func(s string) string {
		return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
	}
	for _, f := range fs {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", cell(f.Kind), cell(f.Backend), cell(f.Group), cell(f.Account),
			cell(f.User), cell(f.Name), cell(f.Role), cell(f.Detail))
	}
	return strings.TrimSuffix(b.String(), "\n")
}
