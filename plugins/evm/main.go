// Command steward-plugin-evm reads EVM chains for support runbooks: a
// transaction, its receipt, an address's nonces, the fee market, and a
// diagnosis of a stuck or failed transaction with the advice to give
// (evm.diagnose_transaction).
//
// It is read-only: it never signs, never holds a key and never sends a
// transaction. Its rpc backend speaks JSON-RPC over HTTP to the nodes
// configured in plugins.settings.evm (rpc_url is sensitive: it is never
// printed); its sandbox backend, the default, answers from fixed fixtures
// so that runbooks run anywhere. Every output says which backend answered.
//
// Build it with `go build -o bin/steward-plugin-evm ./plugins/evm`;
// docs/plugins-evm.md documents its settings, actions, diagnosis states and
// sandbox fixtures.
package main

import (
	"net/http"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

func main() { sdk.Serve(New()) }

// evm is the plugin: its settings and the chains they configure.
type evm struct {
	settings Settings
	now      func() time.Time // the rpc backend's clock; the sandbox has its own
	http     *http.Client
	chains   []*chain
}

// New returns the plugin; each call a fresh one, for tests.
func New() sdk.Plugin { return newEVM(time.Now).plugin() }

func newEVM(now func() time.Time) *evm {
	return &evm{settings: defaultSettings(), now: now, http: newHTTPClient()}
}

func (e *evm) plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "evm",
		Version:     "1.0.0",
		Description: "Reads EVM chains (transactions, receipts, nonces, fees) and diagnoses stuck or failed transactions; read-only.",
		Config:      &e.settings,
		Configure:   e.configure,
		Actions: []sdk.ActionDef{
			sdk.Action("get_transaction", e.getTransaction,
				sdk.Describe("Looks up a transaction by hash: sender, nonce, fees, pending or mined.")),
			sdk.Action("get_receipt", e.getReceipt,
				sdk.Describe("Looks up a mined transaction's receipt: success or reverted, block, gas used, confirmations.")),
			sdk.Action("get_nonces", e.getNonces,
				sdk.Describe("Reads an address's nonces: mined (latest), with the pool's (pending), and how many wait in the pool.")),
			sdk.Action("get_fee_market", e.getFeeMarket,
				sdk.Describe("Reads a chain's fee market: base fee, priority fee, suggested max fee, head age.")),
			sdk.Action("diagnose_transaction", e.diagnoseTransaction,
				sdk.Describe("Diagnoses a transaction a customer says is stuck or failed: its state, the advice to give, and why.")),
		},
	}
}
