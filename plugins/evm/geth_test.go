package main

// Tests against a real node: geth --dev (package gethtest), started once
// per test binary run, with real transactions the node signs from its dev
// account.

import (
	"fmt"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/evm/gethtest"
)

const (
	revertReason = gethtest.RevertReason
	minerTip     = gethtest.MinerTip
)

var (
	dev     *gethtest.Node
	devErr  error
	devOnce sync.Once
)

// startDevnet returns the test binary's geth with its transactions,
// starting it on first use. Without geth it fails with how to install it
// (or skips, with STEWARD_SKIP_PEERS=1).
func startDevnet(t *testing.T) *gethtest.Node {
	t.Helper()
	gethtest.Path(t)
	devOnce.Do(func() { dev, devErr = gethtest.Start() })
	if devErr != nil {
		t.Fatal(devErr)
	}
	return dev
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dev != nil {
		dev.Stop()
	}
	os.Exit(code)
}

// devnetChains are the settings of a plugin that reaches the devnet as
// chain devnet (a password in its rpc_url, which geth ignores and which
// must never be printed), beside an empty ethereum chain (a fake node:
// geth can be only one chain at a time).
//
// Its finality is by confirmations (geth --dev finalizes every 32 blocks:
// TestGethFinality checks that rule), and its minimum tip is the miner's.
func devnetChains(t *testing.T, d *gethtest.Node, confirmations int, extra ...any) map[string]any {
	empty, _ := fakeNode(t, 1, time.Now, nil)
	devnet := map[string]any{"name": "devnet", "id": 1337, "rpc_url": devnetURL(d), "block_time": "1s",
		"finality": "confirmations", "confirmations": confirmations, "min_priority_fee_wei": fmt.Sprint(minerTip)}
	for i := 0; i+1 < len(extra); i += 2 {
		devnet[extra[i].(string)] = extra[i+1]
	}
	return rpcChains(ethereumAt(secretURL(empty)), devnet)
}

// devnetURL is the node's URL with a password in its user info.
func devnetURL(d *gethtest.Node) string {
	return strings.Replace(d.URL, "http://", "http://steward:"+secretPassword+"@", 1) + "/"
}

// Every diagnosis state a real node can be in, through the plugin.
func TestGethDiagnose(t *testing.T) {
	d := startDevnet(t)
	p := start(t, devnetChains(t, d, 1000))
	nonce := func(n int) *int { return &n }
	for _, c := range []struct {
		name   string
		chain  string
		hash   string
		sender string
		nonce  *int
		want   string // pick(out, "state", "advice", and check's keys)
		check  []string
	}{
		{"mined-success, not final", "devnet", d.Success, "", nil,
			"state=mined-success advice=wait nonce=1 final=false revert_reason= missing_nonce=<nil>", []string{"nonce", "final", "revert_reason", "missing_nonce"}},
		{"mined-reverted", "devnet", d.Reverted, "", nil,
			"state=mined-reverted advice=contact_dapp nonce=2 to=" + d.Contract + " revert_reason=" + revertReason, []string{"nonce", "to", "revert_reason"}},
		// Point 12: a replacement is a question for the customer.
		{"replaced by a mined transaction", "devnet", d.ReplacedOld, d.Account, nonce(3),
			"state=replaced advice=confirm_replacement replaced_by=" + d.Replacement + " from=" + d.Account + " nonce=3 sender_latest_nonce=4", []string{"replaced_by", "from", "nonce", "sender_latest_nonce"}},
		{"replaced in the pool", "devnet", d.FineOld, d.Account, nonce(4),
			"state=replaced advice=confirm_replacement replaced_by=" + d.Fine + " nonce=4", []string{"replaced_by", "nonce"}},
		{"replaced by a queued transaction", "devnet", d.FineOld, d.Account, nonce(9),
			"state=replaced advice=confirm_replacement replaced_by=" + d.Gap + " nonce=9 sender_pending_nonce=6", []string{"replaced_by", "nonce", "sender_pending_nonce"}},
		// Point 11: an unknown hash is not declared dropped; with the
		// sender and an unused nonce, resend with that nonce only.
		{"not found: known nowhere", "devnet", d.ReplacedOld, "", nil,
			"state=not-found advice=ask_sender_nonce replaced_by= from= nonce=<nil>", []string{"replaced_by", "from", "nonce"}},
		{"not found: an unknown hash", "devnet", "0x" + strings.Repeat("0", 63) + "1", "", nil,
			"state=not-found advice=ask_sender_nonce block_number=0 confirmations=0", []string{"block_number", "confirmations"}},
		{"dropped: its nonce unused", "devnet", "0x" + strings.Repeat("0", 63) + "1", d.Account, nonce(20),
			"state=dropped advice=resubmit_same_nonce nonce=20 sender_latest_nonce=4 sender_pending_nonce=6", []string{"nonce", "sender_latest_nonce", "sender_pending_nonce"}},
		// Point 10: its tip (2 wei) is below what the miner takes: it is
		// never mined.
		{"pending-underpriced: a tip below the miner's minimum", "devnet", d.Fine, "", nil,
			"state=pending-underpriced advice=speed_up nonce=4 fee_problem=tip_below_chain_minimum priority_fee_wei=2 min_priority_fee_wei=1000 suggested_priority_fee_wei=1000 block_number=0",
			[]string{"nonce", "fee_problem", "priority_fee_wei", "min_priority_fee_wei", "suggested_priority_fee_wei", "block_number"}},
		{"pending-underpriced", "devnet", d.Underpriced, "", nil,
			"state=pending-underpriced advice=speed_up nonce=5 max_fee_per_gas_wei=1 missing_nonce=<nil>", []string{"nonce", "max_fee_per_gas_wei", "missing_nonce"}},
		{"pending-nonce-gap", "devnet", d.Gap, "", nil,
			"state=pending-nonce-gap advice=fill_nonce_gap nonce=9 missing_nonce=6 missing_nonces=[6 7 8]", []string{"nonce", "missing_nonce", "missing_nonces"}},
		// Point 8: every missing nonce; 9 and 12 are in the pool, not missing.
		{"pending-nonce-gap with queued transactions in it", "devnet", d.Later, "", nil,
			"state=pending-nonce-gap advice=fill_nonce_gap nonce=14 missing_nonces=[6 7 8 10 11 13] missing_count=6", []string{"nonce", "missing_nonces", "missing_count"}},
		{"wrong-chain", "ethereum", d.Success, "", nil,
			"state=wrong-chain advice=switch_chain found_on=devnet from=" + d.Account + " nonce=1 chain_id=1", []string{"found_on", "from", "nonce", "chain_id"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			with := map[string]any{"chain": c.chain, "tx_hash": c.hash}
			if c.sender != "" {
				with["sender"], with["nonce"] = c.sender, *c.nonce
			}
			out, logs, err := p.Execute("diagnose_transaction", with)
			if err != nil {
				t.Fatal(err)
			}
			if got := pick(out, append([]string{"state", "advice"}, c.check...)...); got != c.want {
				t.Errorf("outputs\n got %s\nwant %s\nsummary: %s", got, c.want, out["summary"])
			}
			ep := out["endpoint"].(map[string]any)
			if ep["healthy"] != true || ep["problem"] != "" || ep["syncing"] != false || ep["block_age_seconds"].(float64) > 5 {
				t.Errorf("endpoint %v", ep)
			}
			if out["backend"] != "rpc" || out["summary"] == "" {
				t.Errorf("outputs %v", out)
			}
			noLeak(t, d.Addr(), out, logs, err)
		})
	}
}

// The numbers of a diagnosis agree with what the node says.
func TestGethDiagnosisNumbers(t *testing.T) {
	d := startDevnet(t)
	p := start(t, devnetChains(t, d, 1))
	out, _, err := p.Execute("diagnose_transaction", map[string]any{"chain": "1337", "tx_hash": d.Success})
	if err != nil {
		t.Fatal(err)
	}
	head := blockNumber(t, d)
	block, conf := int64(out["block_number"].(float64)), int64(out["confirmations"].(float64))
	if block != d.SuccessBlock || conf < 1 || conf > head-block+1 || out["final"] != true || out["advice"] != "none" {
		t.Errorf("mined: block %d (want %d), %d confirmations at head %d: %v", block, d.SuccessBlock, conf, head, out)
	}

	out, _, err = p.Execute("diagnose_transaction", map[string]any{"chain": "devnet", "tx_hash": d.Underpriced})
	if err != nil {
		t.Fatal(err)
	}
	base, tip, maxFee := bigOut(t, out, "base_fee_wei"), bigOut(t, out, "suggested_priority_fee_wei"), bigOut(t, out, "suggested_max_fee_wei")
	if base.Cmp(big.NewInt(7)) < 0 || tip.Int64() != minerTip || maxFee.Cmp(new(big.Int).Add(new(big.Int).Lsh(base, 1), tip)) != 0 {
		t.Errorf("fees: base %s, tip %s, max %s", base, tip, maxFee)
	}
	if want := fmt.Sprintf("max fee of 0.000000001 gwei is below the base fee of %s gwei", gwei(base)); !strings.Contains(out["summary"].(string), want) {
		t.Errorf("summary %q, want it to say %q", out["summary"], want)
	}
}

func bigOut(t *testing.T, out map[string]any, key string) *big.Int {
	t.Helper()
	s, _ := out[key].(string)
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("%s = %v", key, out[key])
	}
	return n
}

func blockNumber(t *testing.T, d *gethtest.Node) int64 {
	t.Helper()
	n, err := d.BlockNumber()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The other actions on the same transactions agree with the diagnoses.
func TestGethActions(t *testing.T) {
	d := startDevnet(t)
	p := start(t, devnetChains(t, d, 12))
	dev := func(k, v string) map[string]any { return map[string]any{"chain": "devnet", k: v} }

	out, logs, err := p.Execute("get_transaction", dev("tx_hash", d.Success))
	want := fmt.Sprintf("hash=%s from=%s to=0x000000000000000000000000000000000000dead nonce=1 value_wei=10000000000000000 gas=21000 type=2 "+
		"max_fee_per_gas_wei=100000000000 max_priority_fee_per_gas_wei=2000000000 pending=false block_number=%d input_bytes=0 chain=devnet chain_id=1337 backend=rpc",
		d.Success, d.Account, d.SuccessBlock)
	if err != nil || pick(out, "hash", "from", "to", "nonce", "value_wei", "gas", "type", "max_fee_per_gas_wei", "max_priority_fee_per_gas_wei",
		"pending", "block_number", "input_bytes", "chain", "chain_id", "backend") != want {
		t.Errorf("get_transaction\n got %v %v\nwant %s", out, err, want)
	}
	noLeak(t, d.Addr(), out, logs, err)
	out, _, err = p.Execute("get_transaction", dev("tx_hash", d.Fine))
	if err != nil || pick(out, "pending", "block_number", "nonce", "max_priority_fee_per_gas_wei") != "pending=true block_number=0 nonce=4 max_priority_fee_per_gas_wei=2" {
		t.Errorf("pending get_transaction %v %v", out, err)
	}
	out, _, err = p.Execute("get_transaction", dev("tx_hash", d.Reverted))
	if err != nil || out["input_bytes"] != 68.0 || out["to"] != d.Contract {
		t.Errorf("call get_transaction %v %v", out, err)
	}
	_, _, err = p.Execute("get_transaction", dev("tx_hash", d.ReplacedOld))
	sdktest.WantError(t, err, "not_found", false, "no transaction "+d.ReplacedOld+" on devnet: the node does not know it")

	out, _, err = p.Execute("get_receipt", dev("tx_hash", d.Reverted))
	if err != nil || pick(out, "status", "block_number", "logs", "contract_address") != fmt.Sprintf("status=reverted block_number=%d logs=0 contract_address=", d.RevertedBlock) ||
		out["gas_used"].(float64) <= 21000 || out["confirmations"].(float64) < 1 || bigOut(t, out, "effective_gas_price_wei").Sign() <= 0 {
		t.Errorf("get_receipt %v %v", out, err)
	}
	out, _, err = p.Execute("get_receipt", dev("tx_hash", d.Deploy))
	if err != nil || out["status"] != "success" || out["contract_address"] != d.Contract || !strings.HasPrefix(out["block_hash"].(string), "0x") {
		t.Errorf("get_receipt of the deployment %v %v", out, err)
	}
	_, _, err = p.Execute("get_receipt", dev("tx_hash", d.Fine))
	sdktest.WantError(t, err, "not_found", false, "no receipt for "+d.Fine+" on devnet: the transaction is pending or unknown")

	out, _, err = p.Execute("get_nonces", dev("address", strings.ToUpper(d.Account[2:])[:0]+"0x"+strings.ToUpper(d.Account[2:])))
	if err != nil || fmt.Sprint(out) != "map[address:"+d.Account+" backend:rpc chain:devnet chain_id:1337 in_pool:2 latest:4 pending:6]" {
		t.Errorf("get_nonces %v %v", out, err)
	}

	out, _, err = p.Execute("get_fee_market", map[string]any{"chain": "devnet"})
	if err != nil {
		t.Fatal(err)
	}
	base, tip := bigOut(t, out, "base_fee_wei"), bigOut(t, out, "priority_fee_wei")
	if out["base_fee_gwei"] != gwei(base) || tip.Int64() != minerTip || out["priority_fee_gwei"] != "0.000001" ||
		bigOut(t, out, "suggested_max_fee_wei").Cmp(new(big.Int).Add(new(big.Int).Lsh(base, 1), tip)) != 0 ||
		bigOut(t, out, "gas_price_wei").Cmp(base) <= 0 || out["syncing"] != false || out["block_age_seconds"].(float64) > 5 ||
		int64(out["block_number"].(float64)) < d.RevertedBlock {
		t.Errorf("get_fee_market %v", out)
	}
}

// Configured as chain 1, the dev node (chain 1337) is refused by every action.
func TestGethWrongChainID(t *testing.T) {
	d := startDevnet(t)
	p := start(t, rpcChains(map[string]any{"name": "mainnet", "id": 1, "rpc_url": devnetURL(d)}))
	for _, c := range []struct {
		action string
		with   map[string]any
	}{
		{"get_transaction", map[string]any{"chain": "mainnet", "tx_hash": d.Success}},
		{"get_receipt", map[string]any{"chain": "mainnet", "tx_hash": d.Success}},
		{"get_nonces", map[string]any{"chain": "mainnet", "address": d.Account}},
		{"get_fee_market", map[string]any{"chain": "mainnet"}},
		{"diagnose_transaction", map[string]any{"chain": "1", "tx_hash": d.Success}},
	} {
		out, logs, err := p.Execute(c.action, c.with)
		sdktest.WantError(t, err, "wrong_chain_id", false, "the node for mainnet answers chain id 1337, not 1: check rpc_url")
		noLeak(t, d.Addr(), out, logs, err)
	}
}
