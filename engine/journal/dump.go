package journal

import "context"

// Dump reads one state of a whole store, to copy it into another
// (steward migrate): its records, runs and sources as a Reader reads
// them, and what a Reader does not list: every source, and the claims
// batches wrote beside their records.
type Dump interface {
	Reader
	// Sources calls fn for each runbook source the store holds.
	Sources(ctx context.Context, fn func(Source) error) error
	// Claims calls fn for each claim the store holds.
	Claims(ctx context.Context, fn func(Claim) error) error
}

// Claim is a row a store writes in the transaction of a batch's records,
// which refusals and renewals read: a Once key, a store-wide Key, a
// cancel request, or the end of a run.
type Claim struct {
	Kind  ClaimKind
	RunID string
	Key   string // the Once key or the Key; "" for a cancel or an end
	Seq   int64  // the record that claimed it
}

// ClaimKind is what a Claim records.
type ClaimKind string

// The kinds of claims.
const (
	ClaimOnce   ClaimKind = "once"   // Batch.Once: Key in run RunID
	ClaimKey    ClaimKind = "key"    // Batch.Key: Key, held by run RunID
	ClaimCancel ClaimKind = "cancel" // Batch.Cancel: the first request to cancel RunID
	ClaimEnded  ClaimKind = "ended"  // the record that ended RunID (EndsRun)
)
