// Command steward-plugin-example is Steward's reference action plugin: a
// wallet support desk in miniature, backed by fixtures, so that it runs
// anywhere without a network. It shows each thing a plugin may do:
//
//   - example.lookup_transaction reads (typed input and output, logs, a
//     not_found error, and the retryable node_syncing when settings say a
//     chain's node is catching up);
//   - example.add_ticket_note mutates, idempotently: the idempotency key
//     deduplicates retries, across restarts when data_dir is set;
//   - example.list_ticket_notes reads what add_ticket_note wrote;
//   - example.issue_support_token has a sensitive output, signed with a
//     secret setting.
//
// Build it with `go build -o bin/steward-plugin-example ./plugins/example`.
// docs/plugins.md walks through its code.
package main

import (
	"context"
	"sync"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

func main() { sdk.Serve(New()) }

// Settings are plugins.settings.example in steward.yaml. None is required.
type Settings struct {
	DataDir string `json:"data_dir,omitempty" desc:"directory where notes and tokens are kept across restarts; in memory when empty"`
	// TokenKey is best given as {secret: EXAMPLE_TOKEN_KEY}: Steward reads
	// it from the environment variable STEWARD_SECRET_EXAMPLE_TOKEN_KEY.
	TokenKey      string   `json:"token_key,omitempty" desc:"key that signs support tokens" steward:"sensitive"`
	SyncingChains []string `json:"syncing_chains,omitempty" enum:"ethereum,bitcoin,solana" desc:"chains whose node is catching up: the first attempt of a lookup there fails with the retryable node_syncing"`
}

// desk is the plugin's state: its settings and its notes.
type desk struct {
	settings Settings
	now      func() time.Time

	mu    sync.Mutex
	state state
}

// New returns the plugin; each call a fresh one, for tests.
func New() sdk.Plugin { return newDesk(time.Now).plugin() }

func newDesk(now func() time.Time) *desk {
	return &desk{now: now, state: newState()}
}

func (d *desk) plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "example",
		Version:     "1.0.0",
		Description: "Wallet support desk backed by fixtures: transactions, ticket notes, support tokens.",
		Config:      &d.settings,
		Configure:   d.configure,
		Actions: []sdk.ActionDef{
			sdk.Action("lookup_transaction", d.lookupTransaction,
				sdk.Describe("Looks up an on-chain transaction: its status, confirmations and amount.")),
			sdk.Action("add_ticket_note", d.addTicketNote,
				sdk.Describe("Adds a note to a support ticket, once per step whatever the retries."),
				sdk.Mutates(), sdk.Idempotent()),
			sdk.Action("list_ticket_notes", d.listTicketNotes,
				sdk.Describe("Lists the notes of a support ticket, oldest first.")),
			sdk.Action("issue_support_token", d.issueSupportToken,
				sdk.Describe("Issues a short-lived token that lets the customer open a support session."),
				sdk.Mutates(), sdk.Idempotent()),
		},
	}
}

// configure runs once the settings are decoded: it loads the notes kept
// in data_dir.
func (d *desk) configure(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.load()
}
