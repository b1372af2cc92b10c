package sources_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/runbooks/sources"
	"github.com/stewardhq/steward/runbooks/sources/gittest"
	"github.com/stewardhq/steward/schema"
)

// hello is a valid runbook reading a data file beside it.
func hello(word string) string {
	return `version: 1
name: hello
steps:
  - id: read
    action: core.read_file
    with: {path: files/data.json}
  - id: say
    action: core.log
    with: {message: "` + word + `"}
`
}

// broken has an unknown step in needs, at line 6.
const broken = `version: 1
name: hello
steps:
  - id: say
    action: core.log
    needs: [nowhere]
    with: {message: hi}
`

// catalog is nil: these tests are about Git; the CLI tests check
// actions against the built-ins and plugins.
var catalog schema.Catalog

func gitSource(dir string) config.Source {
	return config.Source{Name: "ops", Kind: config.SourceGit, Location: dir, Ref: "main", Path: "runbooks"}
}

func TestSyncPinsValidCommitAndKeepsPinOnBrokenOne(t *testing.T) {
	ctx := context.Background()
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1"), "runbooks/files/data.json": `{"x": 1}`, "README.md": "not a runbook"})
	home := t.TempDir()
	s := &sources.Syncer{Home: home, Catalog: catalog}
	src := gitSource(repo.Dir)

	res, err := s.Sync(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pinned || res.Commit != first || res.Runbooks != 1 {
		t.Fatalf("first sync: %+v", res)
	}
	if got := strings.Join(res.Changes.Added, ","); got != "runbooks/files/data.json,runbooks/hello.yaml" {
		t.Fatalf("added %q", got)
	}
	info, err := os.Stat(filepath.Join(home, "sources", "ops.json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("pin file: %v %v", info, err)
	}

	// A broken change is refused with its diagnostic; the pin stays.
	bad := repo.Commit("broken", map[string]string{"runbooks/hello.yaml": broken})
	res, err = s.Sync(ctx, src)
	if !errors.Is(err, sources.ErrInvalid) || !sources.IsRefused(err) {
		t.Fatalf("broken sync: %v", err)
	}
	if res.Pinned || res.Commit != bad || res.Previous != first {
		t.Fatalf("broken sync: %+v", res)
	}
	want := "ops@" + bad[:12] + `:runbooks/hello.yaml:6:13: steps[0].needs: unknown step "nowhere" in needs`
	if len(res.Problems) != 1 || res.Problems[0].Header() != want {
		t.Fatalf("problems %v, want %q", res.Problems, want)
	}
	st, _ := sources.LoadState(home, "ops")
	if st.Pin.Commit != first || st.Last.Pinned || len(st.Last.Problems) == 0 {
		t.Fatalf("state after refusal: pin %s, last %+v", st.Pin.Commit, st.Last)
	}

	// Runs read the pin, from the commit's tree: an uncommitted edit
	// never runs.
	repo.Write(map[string]string{"runbooks/hello.yaml": hello("uncommitted")})
	r := &sources.Resolver{Home: home, Sources: []config.Source{src}}
	doc, found, err := r.Resolve(ctx, "hello", "")
	if err != nil || !found {
		t.Fatal(found, err)
	}
	if !strings.Contains(string(doc.Src), "v1") || doc.Pinned.Commit != first || doc.Pinned.Path != "runbooks/hello.yaml" {
		t.Fatalf("resolved %s from %+v", doc.Src, doc.Pinned)
	}
	if doc.Pinned.Blob != repo.Git("rev-parse", first+":runbooks/hello.yaml") {
		t.Fatalf("blob %s", doc.Pinned.Blob)
	}
	files, _ := doc.Files()
	if b, err := fs.ReadFile(files, "files/data.json"); err != nil || string(b) != `{"x": 1}` {
		t.Fatalf("data file: %q %v", b, err)
	}

	// A fixed change is pinned; the changes are what differs from the pin.
	fixed := repo.Commit("fixed", map[string]string{"runbooks/hello.yaml": hello("v2"), "runbooks/bye.yml": strings.ReplaceAll(hello("bye"), "name: hello", "name: bye")})
	res, err = s.Sync(ctx, src)
	if err != nil || res.Commit != fixed || res.Previous != first {
		t.Fatalf("fixed sync: %+v %v", res, err)
	}
	if c := res.Changes; strings.Join(c.Added, ",") != "runbooks/bye.yml" || strings.Join(c.Changed, ",") != "runbooks/hello.yaml" || len(c.Removed) != 0 {
		t.Fatalf("changes %+v", c)
	}
	doc, _, _ = r.Resolve(ctx, "bye", "")
	if doc == nil || doc.Pinned.Commit != fixed {
		t.Fatalf("bye: %+v", doc)
	}
}

func TestResolveAtRefFollowsAllowRefs(t *testing.T) {
	ctx := context.Background()
	repo := gittest.New(t)
	pin := repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1")})
	repo.Git("tag", "v1")
	next := repo.Commit("second", map[string]string{"runbooks/hello.yaml": hello("v2")})
	home := t.TempDir()
	src := gitSource(repo.Dir)
	src.Ref = "v1"
	if _, err := (&sources.Syncer{Home: home}).Sync(ctx, src); err != nil {
		t.Fatal(err)
	}
	r := &sources.Resolver{Home: home, Sources: []config.Source{src}}
	if _, _, err := r.Resolve(ctx, "hello", "main"); !errors.Is(err, sources.ErrRefNotAllowed) {
		t.Fatalf("main without allow_refs: %v", err)
	}
	if doc, _, err := r.Resolve(ctx, "hello", pin[:10]); err != nil || doc.Pinned.Commit != pin {
		t.Fatalf("the pin by its SHA: %v", err)
	}
	src.AllowRefs = []string{"ma*"}
	r.Sources = []config.Source{src}
	doc, _, err := r.Resolve(ctx, "hello", "main")
	if err != nil || doc.Pinned.Commit != next || !strings.Contains(string(doc.Src), "v2") {
		t.Fatalf("main allowed: %v %+v", err, doc)
	}
	if _, _, err := r.Resolve(ctx, "hello", "no-such"); !errors.Is(err, sources.ErrRefNotAllowed) {
		t.Fatalf("unknown ref: %v", err)
	}
}

func TestPolicyProtectedBranch(t *testing.T) {
	ctx := context.Background()
	repo := gittest.New(t)
	repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1")})
	repo.Git("checkout", "--quiet", "-b", "feature")
	off := repo.Commit("unreviewed", map[string]string{"runbooks/hello.yaml": hello("sneaky")})
	src := gitSource(repo.Dir)
	src.Ref, src.ProtectedBranch = "feature", "main"
	home := t.TempDir()
	res, err := (&sources.Syncer{Home: home}).Sync(ctx, src)
	if !errors.Is(err, sources.ErrUnprotected) || res.Commit != off || res.Pinned {
		t.Fatalf("off main: %+v %v", res, err)
	}
	// Merged into main, the same commit is reachable and pinned.
	repo.Git("checkout", "--quiet", "main")
	repo.Git("merge", "--quiet", "--ff-only", "feature")
	if res, err := (&sources.Syncer{Home: home}).Sync(ctx, src); err != nil || res.Commit != off {
		t.Fatalf("merged: %+v %v", res, err)
	}
}

func TestPolicySSHSignature(t *testing.T) {
	ctx := context.Background()
	repo := gittest.New(t)
	key := gittest.NewKey(t)
	other := gittest.NewKey(t)
	signed := repo.CommitSigned("signed", key, map[string]string{"runbooks/hello.yaml": hello("v1")})
	src := gitSource(repo.Dir)
	src.Signature, src.Signers = config.SignatureSSH, key.AllowedSigners
	home := t.TempDir()
	s := &sources.Syncer{Home: home}
	if res, err := s.Sync(ctx, src); err != nil || res.Commit != signed {
		t.Fatalf("signed: %+v %v", res, err)
	}
	unsigned := repo.Commit("unsigned", map[string]string{"runbooks/hello.yaml": hello("v2")})
	res, err := s.Sync(ctx, src)
	if !errors.Is(err, sources.ErrUnsigned) || res.Commit != unsigned || res.Pinned {
		t.Fatalf("unsigned: %+v %v", res, err)
	}
	if want := "commit not signed by an allowed key: commit " + unsigned[:12] + ": no signature"; !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("unsigned: %v, want it to end %q", err, want)
	}
	// Signed, but by a key that is not allowed.
	repo.CommitSigned("wrong key", other, map[string]string{"runbooks/hello.yaml": hello("v3")})
	if _, err := s.Sync(ctx, src); !errors.Is(err, sources.ErrUnsigned) {
		t.Fatalf("other key: %v", err)
	}
	if _, err := s.Sync(ctx, src); !strings.HasSuffix(err.Error(), "No principal matched.") {
		t.Fatalf("other key: %v", err)
	}
	st, _ := sources.LoadState(home, "ops")
	if st.Pin.Commit != signed {
		t.Fatalf("pin moved to %s", st.Pin.Commit)
	}
}

func TestSyncFetchesFromRemoteOverHTTP(t *testing.T) {
	ctx := context.Background()
	srv := gittest.Serve(t)
	url := srv.Bare(t, "runbooks")
	repo := gittest.New(t)
	first := repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1")})
	repo.Git("push", "--quiet", url, "main")
	src := gitSource("")
	src.Location, src.ProtectedBranch = url, "main"
	home := t.TempDir()
	s := &sources.Syncer{Home: home}
	if res, err := s.Sync(ctx, src); err != nil || res.Commit != first {
		t.Fatalf("first: %+v %v", res, err)
	}
	second := repo.Commit("second", map[string]string{"runbooks/hello.yaml": hello("v2")})
	repo.Git("push", "--quiet", url, "main")
	st, err := sources.GetStatus(ctx, home, src, sources.GitHubOptions{}, true)
	if err != nil || st.Head != second || st.HeadChanges == nil || strings.Join(st.HeadChanges.Changed, ",") != "runbooks/hello.yaml" {
		t.Fatalf("status: %+v %v", st, err)
	}
	if res, err := s.Sync(ctx, src); err != nil || res.Commit != second || res.Previous != first {
		t.Fatalf("second: %+v %v", res, err)
	}
}

func TestUnknownRefAndMissingRepository(t *testing.T) {
	ctx := context.Background()
	repo := gittest.New(t)
	repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello("v1")})
	src := gitSource(repo.Dir)
	src.Ref = "nope"
	if _, err := (&sources.Syncer{Home: t.TempDir()}).Sync(ctx, src); !errors.Is(err, sources.ErrUnknownRef) {
		t.Fatalf("unknown ref: %v", err)
	}
	src = gitSource(filepath.Join(t.TempDir(), "none"))
	if _, err := (&sources.Syncer{Home: t.TempDir()}).Sync(ctx, src); err == nil || sources.IsRefused(err) {
		t.Fatalf("missing repository: %v", err)
	}
}

func TestPolicyOpenPGPSignature(t *testing.T) {
	ctx := context.Background()
	repo := gittest.New(t)
	key, other := gittest.NewPGPKey(t), gittest.NewPGPKey(t)
	signed := repo.CommitSignedPGP("signed", key, map[string]string{"runbooks/hello.yaml": hello("v1")})
	src := gitSource(repo.Dir)
	src.Signature, src.Signers = config.SignatureOpenPGP, key.Home
	s := &sources.Syncer{Home: t.TempDir()}
	if res, err := s.Sync(ctx, src); err != nil || res.Commit != signed {
		t.Fatalf("signed: %+v %v", res, err)
	}
	repo.Commit("unsigned", map[string]string{"runbooks/hello.yaml": hello("v2")})
	if _, err := s.Sync(ctx, src); !errors.Is(err, sources.ErrUnsigned) {
		t.Fatalf("unsigned: %v", err)
	}
	repo.CommitSignedPGP("other key", other, map[string]string{"runbooks/hello.yaml": hello("v3")})
	if _, err := s.Sync(ctx, src); !errors.Is(err, sources.ErrUnsigned) {
		t.Fatalf("other key: %v", err)
	}
}

// TestPinCheckedAgainWhenPolicyChanges: a pin made before steward.yaml
// required signatures does not run unsigned.
func TestPinCheckedAgainWhenPolicyChanges(t *testing.T) {
	ctx := context.Background()
	repo := gittest.New(t)
	repo.Commit("unsigned", map[string]string{"runbooks/hello.yaml": hello("v1")})
	home := t.TempDir()
	src := gitSource(repo.Dir)
	if _, err := (&sources.Syncer{Home: home}).Sync(ctx, src); err != nil {
		t.Fatal(err)
	}
	src.Signature, src.Signers = config.SignatureSSH, gittest.NewKey(t).AllowedSigners
	r := &sources.Resolver{Home: home, Sources: []config.Source{src}}
	if _, _, err := r.Resolve(ctx, "hello", ""); !errors.Is(err, sources.ErrUnsigned) {
		t.Fatalf("unsigned pin under a signature policy: %v", err)
	}
}

// TestResolveFromReadsCallersCommit: a sub-run's runbook comes from the
// commit its caller was read from, before any other source and whatever
// the pin is now; a name that commit lacks is looked up in the other
// sources' pins, never in the caller's source's newer pin.
func TestResolveFromReadsCallersCommit(t *testing.T) {
	ctx := context.Background()
	named := func(name, word string) string { return strings.ReplaceAll(hello(word), "name: hello", "name: "+name) }
	team := gittest.New(t) // first in steward.yaml: its child would win a lookup by name
	team.Commit("team", map[string]string{"runbooks/child.yaml": named("child", "team"), "runbooks/shared.yaml": named("shared", "team")})
	ops := gittest.New(t)
	old := ops.Commit("first", map[string]string{"runbooks/child.yaml": named("child", "v1")})
	pin := ops.Commit("second", map[string]string{"runbooks/child.yaml": named("child", "v2"), "runbooks/added.yaml": named("added", "v2")})
	home := t.TempDir()
	teamSrc := gitSource(team.Dir)
	teamSrc.Name = "team"
	list := []config.Source{teamSrc, gitSource(ops.Dir)}
	for _, src := range list {
		if _, err := (&sources.Syncer{Home: home}).Sync(ctx, src); err != nil {
			t.Fatal(err)
		}
	}
	r := &sources.Resolver{Home: home, Sources: list}
	from := runbooks.Pinned{Source: "ops", Repo: ops.Dir, Commit: old, Path: "runbooks/parent.yaml"}

	doc, found, err := r.ResolveFrom(ctx, "child", from)
	if err != nil || !found || doc.Pinned.Source != "ops" || doc.Pinned.Commit != old || !strings.Contains(string(doc.Src), "v1") {
		t.Fatalf("child from ops@old: %v %v %+v", found, err, doc)
	}
	if doc.Pinned.Blob != ops.Git("rev-parse", old+":runbooks/child.yaml") {
		t.Fatalf("blob %s", doc.Pinned.Blob)
	}
	// The pin's commit reads the pin's child; a lookup by name, team's.
	if doc, _, _ := r.ResolveFrom(ctx, "child", runbooks.Pinned{Source: "ops", Commit: pin}); doc == nil || doc.Pinned.Commit != pin {
		t.Fatalf("child from ops@pin: %+v", doc)
	}
	if doc, _, _ := r.Resolve(ctx, "child", ""); doc == nil || doc.Pinned.Source != "team" {
		t.Fatalf("child by name: %+v", doc)
	}
	// Not in the caller's commit: the other sources' pins, not ops's.
	if doc, found, err := r.ResolveFrom(ctx, "shared", from); err != nil || !found || doc.Pinned.Source != "team" {
		t.Fatalf("shared from ops@old: %v %v %+v", found, err, doc)
	}
	if doc, found, err := r.ResolveFrom(ctx, "added", from); err != nil || found {
		t.Fatalf("added from ops@old, which it was not in: %v %v %+v", found, err, doc)
	}
	// A source no longer configured: nothing runs in its place.
	r.Sources = list[:1]
	_, _, err = r.ResolveFrom(ctx, "child", from)
	if want := `commit ` + old[:12] + ` of source "ops", which steward.yaml no longer has`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("removed source: %v, want %q", err, want)
	}
}
