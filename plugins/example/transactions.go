package main

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// LookupInput is the with of example.lookup_transaction.
type LookupInput struct {
	Chain  string `json:"chain" enum:"ethereum,bitcoin,solana" desc:"the chain the transaction was sent on"`
	TxHash string `json:"tx_hash" pattern:"^(0x)?[0-9A-Za-z]{16,128}$" desc:"the transaction's hash (signature on solana)"`
}

// LookupOutput is what example.lookup_transaction returns.
type LookupOutput struct {
	Status        string    `json:"status" enum:"pending,confirmed,failed"`
	Confirmations int       `json:"confirmations" min:"0"`
	Amount        string    `json:"amount" desc:"in the asset's unit, as a decimal string"`
	Asset         string    `json:"asset"`
	From          string    `json:"from"`
	To            string    `json:"to"`
	SeenAt        time.Time `json:"seen_at" desc:"when the node first saw the transaction"`
	FailureReason string    `json:"failure_reason,omitempty" desc:"why a failed transaction failed"`
}

// transactions are the fixtures: what the chains' nodes would answer.
var transactions = map[string]LookupOutput{
	"ethereum/0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060": {
		Status: "confirmed", Confirmations: 42, Amount: "0.25", Asset: "ETH",
		From: "0xab5801a7d398351b8be11c439e05c5b3259aec9b", To: "0x1f9840a85d5af5bf1d1762f925bdaddc4201f984",
		SeenAt: time.Date(2026, 11, 20, 9, 14, 3, 0, time.UTC),
	},
	"ethereum/0x9f1c0d4b7a2e8f3c6b5a4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a": {
		Status: "pending", Confirmations: 0, Amount: "120", Asset: "USDC",
		From: "0xab5801a7d398351b8be11c439e05c5b3259aec9b", To: "0x28c6c06298d514db089934071355e5743bf21d60",
		SeenAt: time.Date(2026, 11, 21, 6, 2, 45, 0, time.UTC),
	},
	"bitcoin/3a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9": {
		Status: "confirmed", Confirmations: 6, Amount: "0.015", Asset: "BTC",
		From: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", To: "bc1q9h6yzs2cz0cd8fkdkm6f6pyq4wn3e7krtazdnu",
		SeenAt: time.Date(2026, 11, 19, 22, 40, 0, 0, time.UTC),
	},
	"solana/5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW": {
		Status: "failed", Confirmations: 0, Amount: "3.5", Asset: "SOL",
		From: "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", To: "GugU1tP7doLeTw9hQP51xRJyS8Da1fWxuiy2rVrnMD2m",
		SeenAt:        time.Date(2026, 11, 21, 7, 30, 12, 0, time.UTC),
		FailureReason: "insufficient funds for the transaction fee",
	},
}

// lookupTransaction is example.lookup_transaction: read-only.
func (d *desk) lookupTransaction(ctx context.Context, call *sdk.Call, in LookupInput) (LookupOutput, error) {
	call.Infof("looking up %s on %s", short(in.TxHash), in.Chain)
	if err := ctx.Err(); err != nil {
		return LookupOutput{}, err
	}
	if slices.Contains(d.settings.SyncingChains, in.Chain) && call.Attempt <= 1 {
		call.Warnf("the %s node is catching up", in.Chain)
		return LookupOutput{}, sdk.Retryable("node_syncing", "the %s node is catching up with the chain: try again", in.Chain)
	}
	tx, ok := transactions[in.Chain+"/"+in.TxHash]
	if !ok && in.Chain == "ethereum" {
		tx, ok = transactions[in.Chain+"/"+strings.ToLower(in.TxHash)]
	}
	if !ok {
		return LookupOutput{}, sdk.Error("not_found", "no transaction %s on %s", in.TxHash, in.Chain)
	}
	switch tx.Status {
	case "pending":
		call.Warnf("pending since %s: still in the mempool", tx.SeenAt.Format(time.RFC3339))
	case "failed":
		call.Warnf("failed: %s", tx.FailureReason)
	default:
		call.Infof("%s with %d confirmations", tx.Status, tx.Confirmations)
	}
	return tx, nil
}

// short abbreviates a hash for a log line.
func short(h string) string {
	if len(h) <= 14 {
		return h
	}
	return h[:8] + "…" + h[len(h)-6:]
}
