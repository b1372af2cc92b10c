package sources_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/runbooks/sources"
	"github.com/stewardhq/steward/runbooks/sources/gittest"
)

// benchRepo is a repository of n runbooks with a data file each.
func benchRepo(b *testing.B, n int) (*gittest.Repo, config.Source) {
	repo := gittest.New(b)
	files := map[string]string{}
	for i := range n {
		name := fmt.Sprintf("rb-%04d", i)
		files["runbooks/"+name+".yaml"] = strings.ReplaceAll(hello(name), "name: hello", "name: "+name)
		files[fmt.Sprintf("runbooks/files/data-%04d.json", i)] = `{"i": 1}`
	}
	repo.Commit("many", files)
	return repo, gitSource(repo.Dir)
}

// BenchmarkSync: a sync of a commit of 200 runbooks (fetch-free local
// repository): resolve, read every blob, validate, pin.
func BenchmarkSync(b *testing.B) {
	_, src := benchRepo(b, 200)
	ctx := context.Background()
	for b.Loop() {
		s := &sources.Syncer{Home: b.TempDir()}
		if _, err := s.Sync(ctx, src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolvePinned: steward run NAME's lookup in a pinned commit
// of 200 runbooks (NAME.yaml found by path, the folder read for its
// data files).
func BenchmarkResolvePinned(b *testing.B) {
	_, src := benchRepo(b, 200)
	ctx := context.Background()
	home := b.TempDir()
	if _, err := (&sources.Syncer{Home: home}).Sync(ctx, src); err != nil {
		b.Fatal(err)
	}
	r := &sources.Resolver{Home: home, Sources: []config.Source{src}}
	for b.Loop() {
		if _, found, err := r.Resolve(ctx, "rb-0150", ""); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}

// BenchmarkDocuments: every runbook of a pinned commit of 200 runbooks,
// as steward serve's scheduler reads them at each Reload (and GET
// /api/v1/runbooks lists them).
func BenchmarkDocuments(b *testing.B) {
	_, src := benchRepo(b, 200)
	ctx := context.Background()
	home := b.TempDir()
	if _, err := (&sources.Syncer{Home: home}).Sync(ctx, src); err != nil {
		b.Fatal(err)
	}
	r := &sources.Resolver{Home: home, Sources: []config.Source{src}}
	for b.Loop() {
		if docs, err := r.Documents(ctx); err != nil || len(docs) != 200 {
			b.Fatal(len(docs), err)
		}
	}
}
