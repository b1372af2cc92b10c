package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/runbooks/sources/gittest"
)

// Sub-runs of a run read from a Git source's commit read their runbooks
// from that commit, not from the source's pin of now (docs/sources.md,
// "Sub-runs").

// subPinParent calls child through core.runbook, after an approval when
// gated, and returns what the child said.
func subPinParent(gated bool) string {
	approval := ""
	if gated {
		approval = "\n    approval: {message: go on}"
	}
	return `version: 1
name: parent
steps:
  - id: call
    action: core.runbook` + approval + `
    with: {name: child}
outputs:
  said: ${{ steps.call.outputs.said }}
`
}

// subPinPick calls the runbook its input names.
const subPinPick = `version: 1
name: pick
inputs:
  which: {type: string, required: true}
steps:
  - id: call
    action: core.runbook
    with: {name: "${{ inputs.which }}"}
outputs:
  said: ${{ steps.call.outputs.said }}
`

// subPinChild says word, and a data file beside it.
func subPinChild(word string) string { return subPinChildGated(word, false) }

// subPinChildGated is subPinChild, whose say step waits for an approval
// when gated.
func subPinChildGated(word string, gated bool) string {
	approval := ""
	if gated {
		approval = "\n    approval: {message: say it}"
	}
	return `version: 1
name: child
steps:
  - id: read
    action: core.read_file
    with: {path: files/data.json}
  - id: say
    action: core.set` + approval + `
    with: {said: "` + word + ` ${{ steps.read.outputs.text }}"}
outputs:
  said: ${{ steps.say.outputs.said }}
`
}

// subPinRun is a run's outputs and origin as show -o json prints them.
type subPinRun struct {
	Run struct {
		Status, Parent string
	} `json:"run"`
	Outputs map[string]any `json:"outputs"`
	shownOrigin
}

func subPinShow(t *testing.T, dir, home, id string) subPinRun {
	t.Helper()
	r := homeRun(t, dir, home, nil, "show", id, "-o", "json")
	wantCode(t, r, exitOK, "show "+id)
	var d subPinRun
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("show %s: %v\n%s", id, err, r.stdout)
	}
	return d
}

// checkSubPin checks that the run id said want and was read from path at
// commit of repo (source ops).
func checkSubPin(t *testing.T, repo *gittest.Repo, d subPinRun, id, want, commit, path string) {
	t.Helper()
	if got := d.Outputs["said"]; got != want {
		t.Errorf("%s said %q, want %q", id, got, want)
	}
	o := d.Origin
	blob := repo.Git("rev-parse", commit+":"+path)
	if o.Source != "ops" || o.Repo != repo.Dir || o.Commit != commit || o.Path != path || o.Blob != blob {
		t.Errorf("%s origin %+v, want ops %s at %s (blob %s)", id, o, path, commit, blob)
	}
}

// TestSubRunReadsParentCommit: steward run parent@REF, REF an older
// commit than the pin, runs the child of that commit in its sub-run (its
// data file too) and records that commit as the sub-run's origin; a run
// of the pin runs the pin's child.
func TestSubRunReadsParentCommit(t *testing.T) {
	repo := gittest.New(t)
	old := repo.Commit("first", map[string]string{"runbooks/parent.yaml": subPinParent(false),
		"runbooks/child.yaml": subPinChild("v1"), "runbooks/files/data.json": `{"d": 1}`, "runbooks/pick.yaml": subPinPick})
	repo.Git("tag", "release-1")
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), "sources:\n  - {name: ops, git: "+repo.Dir+", path: runbooks, allow_refs: [release-*, "+old+"]}\n")
	// A folder's child must not be taken for the commit's either.
	writeFile(t, filepath.Join(dir, "runbooks", "child.yaml"), subPinChild("folder"))
	wantCode(t, homeRun(t, dir, home, nil, "sources", "sync"), exitOK, "sync")
	pin := repo.Commit("second", map[string]string{"runbooks/child.yaml": subPinChild("v2"), "runbooks/files/data.json": `{"d": 2}`})
	wantCode(t, homeRun(t, dir, home, nil, "sources", "sync"), exitOK, "sync again")

	for _, ref := range []string{"release-1", old} {
		r := homeRun(t, dir, home, nil, "run", "parent@"+ref)
		wantCode(t, r, exitOK, "run parent@"+ref)
		id := runID(t, r)
		checkSubPin(t, repo, subPinShow(t, dir, home, id), id, `v1 {"d": 1}`, old, "runbooks/parent.yaml")
		sub := subPinShow(t, dir, home, id+".call")
		if sub.Run.Parent != id {
			t.Errorf("sub-run %s.call: parent %q", id, sub.Run.Parent)
		}
		checkSubPin(t, repo, sub, id+".call", `v1 {"d": 1}`, old, "runbooks/child.yaml")
	}

	r := homeRun(t, dir, home, nil, "run", "parent")
	wantCode(t, r, exitOK, "run parent")
	id := runID(t, r)
	checkSubPin(t, repo, subPinShow(t, dir, home, id+".call"), id+".call", `v2 {"d": 2}`, pin, "runbooks/child.yaml")

	// A name computed from an input is looked up the same way; a path
	// is refused, for a commit's runbook as for a folder's, before
	// anything is read.
	r = homeRun(t, dir, home, nil, "run", "pick@release-1", "--input", "which=child")
	wantCode(t, r, exitOK, "run pick@release-1 which=child")
	id = runID(t, r)
	checkSubPin(t, repo, subPinShow(t, dir, home, id+".call"), id+".call", `v1 {"d": 1}`, old, "runbooks/child.yaml")
	r = homeRun(t, dir, home, nil, "run", "pick@release-1", "--input", "which=runbooks/child.yaml")
	wantCode(t, r, exitFailed, "run pick@release-1 which=a path")
	if want := `core.runbook: with.name must match ^[a-z][a-z0-9-]{1,62}$, got "runbooks/child.yaml"`; !strings.Contains(r.stdout+r.stderr, want) {
		t.Errorf("a path as the sub-run's name: no %q in\n%s%s", want, r.stdout, r.stderr)
	}
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
}

// TestSubRunAfterSyncReadsParentCommit: a run of the pin waits for an
// approval before its core.runbook step; meanwhile a sync moves the pin
// to a commit where the child changed. Approved, the sub-run runs the
// child of the run's commit, and records it.
func TestSubRunAfterSyncReadsParentCommit(t *testing.T) {
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/parent.yaml": subPinParent(true),
		"runbooks/child.yaml": subPinChild("v1"), "runbooks/files/data.json": `{"d": 1}`})
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), "sources:\n  - {name: ops, git: "+repo.Dir+", path: runbooks}\n")
	wantCode(t, homeRun(t, dir, home, nil, "sources", "sync"), exitOK, "sync")
	r := homeRun(t, dir, home, nil, "run", "parent", "--as", "ana")
	wantCode(t, r, exitWaiting, "run parent")
	id := runID(t, r)

	second := repo.Commit("second", map[string]string{"runbooks/child.yaml": subPinChild("v2"), "runbooks/files/data.json": `{"d": 2}`})
	r = homeRun(t, dir, home, nil, "sources", "sync")
	wantCode(t, r, exitOK, "sync again")
	if !strings.Contains(r.stdout, "ops: pinned "+second[:12]) {
		t.Fatalf("the pin did not move: %s", r.stdout)
	}
	wantCode(t, homeRun(t, dir, home, nil, "approve", id, "call", "--as", "bruno"), exitOK, "approve")
	checkSubPin(t, repo, subPinShow(t, dir, home, id), id, `v1 {"d": 1}`, first, "runbooks/parent.yaml")
	checkSubPin(t, repo, subPinShow(t, dir, home, id+".call"), id+".call", `v1 {"d": 1}`, first, "runbooks/child.yaml")
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
}

// TestWaitingSubRunAfterSyncReadsParentCommit: a sub-run waits for an
// approval; meanwhile a sync moves the pin to a commit where its runbook
// changed. Approved, the sub-run goes on with the runbook it started
// with, the one of its parent's commit.
func TestWaitingSubRunAfterSyncReadsParentCommit(t *testing.T) {
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/parent.yaml": subPinParent(false),
		"runbooks/child.yaml": subPinChildGated("v1", true), "runbooks/files/data.json": `{"d": 1}`})
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), "sources:\n  - {name: ops, git: "+repo.Dir+", path: runbooks}\n")
	wantCode(t, homeRun(t, dir, home, nil, "sources", "sync"), exitOK, "sync")
	r := homeRun(t, dir, home, nil, "run", "parent", "--as", "ana")
	wantCode(t, r, exitWaiting, "run parent")
	id := runID(t, r)

	repo.Commit("second", map[string]string{"runbooks/child.yaml": subPinChildGated("v2", true), "runbooks/files/data.json": `{"d": 2}`})
	wantCode(t, homeRun(t, dir, home, nil, "sources", "sync"), exitOK, "sync again")
	wantCode(t, homeRun(t, dir, home, nil, "approve", id, "call.say", "--as", "bruno"), exitOK, "approve")
	checkSubPin(t, repo, subPinShow(t, dir, home, id), id, `v1 {"d": 1}`, first, "runbooks/parent.yaml")
	checkSubPin(t, repo, subPinShow(t, dir, home, id+".call"), id+".call", `v1 {"d": 1}`, first, "runbooks/child.yaml")
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
}
