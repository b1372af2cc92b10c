package sqlite

import (
	"context"
	"reflect"
	"testing"

	"github.com/stewardhq/steward/engine/journal"
)

// Dump gives every source and every claim, as the batches wrote them, and
// reads one state: an append meanwhile is not seen.
func TestDump(t *testing.T) {
	home := t.TempDir()
	s, other := open(t, home), open(t, home)
	ctx := context.Background()
	src := journal.Source{SHA256: "77", Name: "deploy", File: "deploy.yaml", Src: []byte("version: 1\n")}
	for _, b := range []journal.Batch{
		{RunID: "a", Key: "hook/4711", Source: &src, Entries: []journal.Entry{entry("run.started", 0, `{}`)}},
		{RunID: "a", Once: "fix/2", Entries: []journal.Entry{entry(journal.ApprovalDecided, 1, `{"step":"fix"}`)}},
		{RunID: "a", Cancel: true, Entries: []journal.Entry{entry(journal.CancelRequested, 2, `{}`)}},
		{RunID: "a", Entries: []journal.Entry{entry("run.finished", 3, `{"status":"cancelled"}`)}},
		{RunID: "b", Source: &journal.Source{SHA256: "66", Src: []byte{}}},
	} {
		if _, err := s.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	var sources []journal.Source
	var claims []journal.Claim
	err := s.Dump(ctx, func(d journal.Dump) error {
		if _, err := other.Append(ctx, journal.Batch{RunID: "c", Key: "hook/4712", Entries: []journal.Entry{entry("run.started", 4, `{}`)}}); err != nil {
			return err
		}
		if seq, _, err := d.Head(ctx); err != nil || seq != 4 {
			t.Errorf("the dump's head: %d, %v; want 4", seq, err)
		}
		if err := d.Sources(ctx, func(s journal.Source) error { sources = append(sources, s); return nil }); err != nil {
			return err
		}
		return d.Claims(ctx, func(c journal.Claim) error { claims = append(claims, c); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range sources {
		if len(sources[i].Src) == 0 {
			sources[i].Src = nil // an empty source may read back as nil
		}
	}
	if want := []journal.Source{{SHA256: "66"}, src}; !reflect.DeepEqual(sources, want) {
		t.Errorf("sources\n got %+v\nwant %+v", sources, want)
	}
	want := []journal.Claim{
		{Kind: journal.ClaimCancel, RunID: "a", Seq: 3},
		{Kind: journal.ClaimEnded, RunID: "a", Seq: 4},
		{Kind: journal.ClaimKey, RunID: "a", Key: "hook/4711", Seq: 1},
		{Kind: journal.ClaimOnce, RunID: "a", Key: "fix/2", Seq: 2},
	}
	if !reflect.DeepEqual(claims, want) {
		t.Errorf("claims\n got %+v\nwant %+v", claims, want)
	}
}
