package main

// The fee and finality rules against the real node (geth --dev).

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/evm/gethtest"
)

// Point 9: the replacement fees the plugin gives are exactly what geth's
// pool takes: one wei less on either the max fee or the tip is refused as
// underpriced, the fees given are accepted. It replaces d.Bumpable, which
// no other test uses.
func TestGethReplacementRule(t *testing.T) {
	d := startDevnet(t)
	p := start(t, devnetChains(t, d, 12))
	out, _, err := p.Execute("diagnose_transaction", map[string]any{"chain": "devnet", "tx_hash": d.Bumpable})
	if err != nil {
		t.Fatal(err)
	}
	maxFee, tip := bigOut(t, out, "replacement_max_fee_wei"), bigOut(t, out, "replacement_priority_fee_wei")
	// The original: max fee 100 gwei, tip 2 gwei. 10% more of each is
	// above what the market (the base fee is below 1 gwei, the miner
	// takes 1000 wei) asks, unless recent blocks paid more.
	if maxFee.Cmp(big.NewInt(110_000_000_000)) < 0 || tip.Cmp(big.NewInt(2_200_000_000)) < 0 {
		t.Fatalf("replacement fees %s / %s, want at least 110 gwei / 2.2 gwei: %v", maxFee, tip, out["summary"])
	}
	one := big.NewInt(1)
	replace := func(maxFee, tip *big.Int) (string, error) {
		return d.Send(map[string]any{"nonce": "0xc", "to": "0x000000000000000000000000000000000000dead", "value": "0x2",
			"maxFeePerGas": hexBig(maxFee), "maxPriorityFeePerGas": hexBig(tip)})
	}
	for _, c := range []struct {
		name        string
		maxFee, tip *big.Int
	}{
		{"a max fee 1 wei short", new(big.Int).Sub(maxFee, one), tip},
		{"a tip 1 wei short", maxFee, new(big.Int).Sub(tip, one)},
	} {
		_, err := replace(c.maxFee, c.tip)
		var re *gethtest.RPCError
		if !errors.As(err, &re) || re.Message != "replacement transaction underpriced" {
			t.Errorf("%s: geth answered %v, want replacement transaction underpriced", c.name, err)
		}
	}
	hash, err := replace(maxFee, tip)
	if err != nil {
		t.Fatalf("the replacement with the plugin's fees was refused: %v", err)
	}
	out, _, err = p.Execute("get_transaction", map[string]any{"chain": "devnet", "tx_hash": hash})
	if err != nil || out["nonce"] != 12.0 || out["pending"] != true {
		t.Errorf("the replacement: %v %v", out, err)
	}
	// The replacement is now nonce 12's transaction: the one to replace
	// when the test runs again on this node (go test -count=2).
	d.Bumpable = hash
}

// Point 13: with finality by the finalized tag (the default), a block is
// final once geth's finalized block (every 32 blocks in --dev) reaches
// it, however many confirmations 1000 would want.
func TestGethFinality(t *testing.T) {
	d := startDevnet(t)
	p := start(t, devnetChains(t, d, 1000, "finality", "finalized_tag"))
	finalized := func() int64 {
		t.Helper()
		raw, err := d.RPC("eth_getBlockByNumber", "finalized", false)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Number uint64q `json:"number"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		return b.Number.int64()
	}
	check := func() (final bool, settled bool) {
		before := finalized()
		out, _, err := p.Execute("diagnose_transaction", map[string]any{"chain": "devnet", "tx_hash": d.Success})
		if err != nil {
			t.Fatal(err)
		}
		if after := finalized(); after != before {
			return false, false // the finalized block moved meanwhile: ask again
		}
		want := fmt.Sprintf("final=%v finalized_block=%d", d.SuccessBlock <= before, before)
		if got := pick(out, "final", "finalized_block"); got != want {
			t.Errorf("finalized block %d: got %s, want %s (%s)", before, got, want, out["summary"])
		}
		return out["final"] == true, true
	}
	// Until geth finalizes block 32, its finalized block is the genesis.
	deadline := time.Now().Add(60 * time.Second)
	for {
		final, settled := check()
		if settled && final {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("block %d not finalized after 60s (finalized block %d)", d.SuccessBlock, finalized())
		}
		time.Sleep(500 * time.Millisecond)
	}
}
