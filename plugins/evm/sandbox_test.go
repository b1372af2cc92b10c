package main

import (
	"fmt"
	"math/big"
	"reflect"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
	"strings"
	"testing"
	"time"
)

// Every diagnosis state of the sandbox, as docs/plugins-evm.md lists it.
func TestSandboxDiagnoses(t *testing.T) {
	p := start(t, nil)
	n7, n19, n41 := 7, 19, 41
	keys := []string{"state", "advice", "block_number", "confirmations", "final", "finality", "from", "nonce", "revert_reason",
		"replaced_by", "found_on", "missing_nonces", "fee_problem", "estimate_seconds"}
	for _, c := range []struct {
		name string
		with map[string]any
		want string // pick(out, keys...)
		sum  string
	}{
		{"mined-success", map[string]any{"chain": "ethereum", "tx_hash": sbMinedSuccess},
			"state=mined-success advice=none block_number=2.099995e+07 confirmations=51 final=true finality=final from=" + sbAlice + " nonce=17 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem= estimate_seconds=0",
			"Mined in block 20999950 and succeeded, with 51 confirmations: final (the finalized block of ethereum is 20999950)."},
		// Point 13: 6 confirmations, and 45 blocks past the finalized one.
		{"mined-success, not final yet", map[string]any{"chain": "ethereum", "tx_hash": sbReplacement},
			"state=mined-success advice=wait block_number=2.0999995e+07 confirmations=6 final=false finality=confirming from=" + sbAlice + " nonce=19 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem= estimate_seconds=0",
			"Mined in block 20999995 and succeeded, with 6 confirmations: not final yet (the finalized block of ethereum is 20999950); final in about 9 min."},
		{"mined-reverted", map[string]any{"chain": "ethereum", "tx_hash": sbReverted},
			"state=mined-reverted advice=contact_dapp block_number=2.099998e+07 confirmations=21 final=false finality=confirming from=" + sbAlice + " nonce=18 revert_reason=ERC20: transfer amount exceeds balance replaced_by= found_on= missing_nonces=[] fee_problem= estimate_seconds=0",
			`Mined in block 20999980 but reverted ("ERC20: transfer amount exceeds balance"): the contract refused it, the fee for 24311 gas was paid and nothing else happened.`},
		// Point 9: tip 1 → at least 1.1 by the 10% rule, 1.5 by the
		// market; max fee 10 → 11 by the rule, 2 × 12 + 1.5 by the market.
		{"pending-underpriced", map[string]any{"chain": "ethereum", "tx_hash": sbUnderpriced},
			"state=pending-underpriced advice=speed_up block_number=0 confirmations=0 final=false finality= from=" + sbCarol + " nonce=3 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem=max_fee_below_base_fee estimate_seconds=0",
			"Pending but underpriced: its max fee of 10.00 gwei is below the base fee of 12.00 gwei, so no block includes it unless the base fee falls that low; speed it up (same nonce 3) with a max fee of at least 25.50 gwei and a priority fee of at least 1.50 gwei (a replacement must raise both by 10% over the original and meet the market)."},
		// Point 10: the max fee covers the base fee, the tip is zero.
		{"pending-underpriced: a zero tip", map[string]any{"chain": "ethereum", "tx_hash": sbZeroTip},
			"state=pending-underpriced advice=speed_up block_number=0 confirmations=0 final=false finality= from=" + sbFred + " nonce=2 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem=zero_tip estimate_seconds=0",
			"Pending but underpriced: its max fee of 30.00 gwei covers the base fee of 12.00 gwei, but its tip of 0.00 gwei is zero, so block producers leave it out; speed it up (same nonce 2) with a max fee of at least 33.00 gwei and a priority fee of at least 1.50 gwei (a replacement must raise both by 10% over the original and meet the market)."},
		// Point 8: both missing nonces are named.
		{"pending-nonce-gap", map[string]any{"chain": "ethereum", "tx_hash": sbNonceGap},
			"state=pending-nonce-gap advice=fill_nonce_gap block_number=0 confirmations=0 final=false finality= from=" + sbDave + " nonce=43 revert_reason= replaced_by= found_on= missing_nonces=[41 42] fee_problem= estimate_seconds=0",
			"Queued behind a nonce gap: it uses nonce 43 but nonces 41 and 42 were never sent (41 mined, 0 waiting in the pool), so it cannot be mined until they are."},
		{"pending-fine", map[string]any{"chain": "ethereum", "tx_hash": sbPendingFine},
			"state=pending-fine advice=wait block_number=0 confirmations=0 final=false finality= from=" + sbBob + " nonce=7 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem= estimate_seconds=12",
			"Pending with fees that can be mined: max fee 30.00 gwei over a base fee of 12.00 gwei, tip 1.50 gwei (suggested 1.50); expect it in about 12s."},
		// Point 12: a replacement is a question for the customer.
		{"replaced", map[string]any{"chain": "ethereum", "tx_hash": sbReplaced, "sender": sbAlice, "nonce": n19},
			"state=replaced advice=confirm_replacement block_number=0 confirmations=0 final=false finality= from=" + sbAlice + " nonce=19 revert_reason= replaced_by=" + sbReplacement + " found_on= missing_nonces=[] fee_problem= estimate_seconds=0",
			"Replaced: ethereum no longer knows it, and nonce 19 of 0xa11ce0…0a11ce was used by " + sbReplacement + " (the sender's next nonce is 20); ask the customer whether they sped it up or cancelled it: if they did not, their key may be compromised (escalate to security)."},
		{"replaced in the pool", map[string]any{"chain": "ethereum", "tx_hash": sbReplaced, "sender": sbBob, "nonce": n7},
			"state=replaced advice=confirm_replacement block_number=0 confirmations=0 final=false finality= from=" + sbBob + " nonce=7 revert_reason= replaced_by=" + sbPendingFine + " found_on= missing_nonces=[] fee_problem= estimate_seconds=0",
			"Replaced: ethereum no longer knows it, and " + sbPendingFine + " with the same nonce 7 waits in the pool instead (diagnose that one); ask the customer whether they sped it up or cancelled it: if they did not, their key may be compromised (escalate to security)."},
		// Point 11: with a sender and an unused nonce, resend with that nonce only.
		{"dropped, with sender and an unused nonce", map[string]any{"chain": "ethereum", "tx_hash": sbReplaced, "sender": sbDave, "nonce": n41},
			"state=dropped advice=resubmit_same_nonce block_number=0 confirmations=0 final=false finality= from=" + sbDave + " nonce=41 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem= estimate_seconds=0",
			"Dropped: ethereum does not know it, nor do the other configured chains, and nonce 41 of 0xd00d00…00d00d is still unused (41 mined, 41 with the pool): it left the mempool or was never broadcast, or a private mempool still holds it. Resend it with the same nonce 41 only, so that the original and the new one cannot both be mined."},
		// Point 11: an unknown hash alone is not declared dropped.
		{"not found", map[string]any{"chain": "ethereum", "tx_hash": sbHash("dead")},
			"state=not-found advice=ask_sender_nonce block_number=0 confirmations=0 final=false finality= from= nonce=<nil> revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem= estimate_seconds=0",
			"Not found: the node for ethereum does not know this hash, nor do the other configured chains. A typo in the hash, another network or a private mempool look the same as a dropped transaction: ask the customer for the sending address and the nonce and diagnose again; do not advise resending yet (a new transaction with a new nonce could pay twice)."},
		// Point 11: a sender and nonce that disagree with the chain's are
		// pointed out.
		{"mined-success, with another sender and nonce given", map[string]any{"chain": "ethereum", "tx_hash": sbMinedSuccess, "sender": sbBob, "nonce": n7},
			"state=mined-success advice=none block_number=2.099995e+07 confirmations=51 final=true finality=final from=" + sbAlice + " nonce=17 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem= estimate_seconds=0",
			"Mined in block 20999950 and succeeded, with 51 confirmations: final (the finalized block of ethereum is 20999950). Check the ticket: its sender is " + sbAlice + ", not " + sbBob + " as given and its nonce is 17, not 7 as given."},
		{"wrong-chain", map[string]any{"chain": "ethereum", "tx_hash": sbOnBase},
			"state=wrong-chain advice=switch_chain block_number=0 confirmations=0 final=false finality= from=" + sbErin + " nonce=5 revert_reason= replaced_by= found_on=base missing_nonces=[] fee_problem= estimate_seconds=0",
			"Not on ethereum, but on base (mined there in block 37999900): the transaction was sent on base; look there."},
		{"the same transaction on its own chain", map[string]any{"chain": "base", "tx_hash": sbOnBase},
			"state=mined-success advice=none block_number=3.79999e+07 confirmations=101 final=true finality=final from=" + sbErin + " nonce=5 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem= estimate_seconds=0",
			"Mined in block 37999900 and succeeded, with 101 confirmations: final, settled on L1 (the finalized block of base is 37999900)."},
		{"pending on polygon, whose node is stale", map[string]any{"chain": "polygon", "tx_hash": sbOnPolygon},
			"state=pending-fine advice=wait block_number=0 confirmations=0 final=false finality= from=" + sbCode + " nonce=12 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem= estimate_seconds=2",
			"Pending with fees that can be mined: max fee 120.00 gwei over a base fee of 30.00 gwei, tip 30.00 gwei (suggested 30.00); expect it in about 2s. Careful: the node for polygon is unhealthy (stale head: last block 900s old), so this may be out of date."},
		// Point 10: Polygon's block producers take 25 gwei at least.
		{"a tip below polygon's minimum", map[string]any{"chain": "polygon", "tx_hash": sbLowTip},
			"state=pending-underpriced advice=speed_up block_number=0 confirmations=0 final=false finality= from=" + sbHal + " nonce=4 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem=tip_below_chain_minimum estimate_seconds=0",
			"Pending but underpriced: its max fee of 120.00 gwei covers the base fee of 30.00 gwei, but its tip of 20.00 gwei is below the minimum of 25.00 gwei that polygon's block producers take, so block producers leave it out; speed it up (same nonce 4) with a max fee of at least 132.00 gwei and a priority fee of at least 30.00 gwei (a replacement must raise both by 10% over the original and meet the market). Careful: the node for polygon is unhealthy (stale head: last block 900s old), so this may be out of date."},
		// Point 15: BNB Smart Chain, Arbitrum One, OP Mainnet.
		{"bsc: a price below the recent blocks' tips", map[string]any{"chain": "bsc", "tx_hash": sbBSCLow},
			"state=pending-underpriced advice=speed_up block_number=0 confirmations=0 final=false finality= from=" + sbIvy + " nonce=9 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem=tip_below_recent_tips estimate_seconds=0",
			"Pending but underpriced: its max fee of 0.05 gwei covers the base fee of 0.00 gwei, but its tip of 0.05 gwei is below the 0.10 gwei that transactions in recent blocks paid at least, so block producers leave it out; speed it up (same nonce 9) with a max fee of at least 0.10 gwei and a priority fee of at least 0.10 gwei (a replacement must raise both by 10% over the original and meet the market)."},
		{"bsc: final by fast finality", map[string]any{"chain": "56", "tx_hash": sbBSCFinal},
			"state=mined-success advice=none block_number=4.499999e+07 confirmations=11 final=true finality=final from=" + sbIvy + " nonce=8 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem= estimate_seconds=0",
			"Mined in block 44999990 and succeeded, with 11 confirmations: final (the finalized block of bsc is 44999998)."},
		{"arbitrum: posted to L1, not final", map[string]any{"chain": "arbitrum", "tx_hash": sbArbPosted},
			"state=mined-success advice=wait block_number=2.99996e+08 confirmations=4001 final=false finality=posted_to_l1 from=" + sbJay + " nonce=2 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem= estimate_seconds=0",
			"Mined in block 299996000 and succeeded, with 4001 confirmations: not final yet: arbitrum is a layer 2, the batch holding it is posted to L1 and waits for L1 finality (finalized block 299992800); final in about 13 min."},
		{"optimism: only sequenced", map[string]any{"chain": "10", "tx_hash": sbOPSequenced},
			"state=mined-success advice=wait block_number=1.2999998e+08 confirmations=21 final=false finality=sequenced from=" + sbKim + " nonce=0 revert_reason= replaced_by= found_on= missing_nonces=[] fee_problem= estimate_seconds=0",
			"Mined in block 129999980 and succeeded, with 21 confirmations: not final yet: optimism is a layer 2 and the batch holding it is not posted to L1 yet (finalized block 129999100); final in about 29 min."},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, logs, err := p.Execute("diagnose_transaction", c.with)
			if err != nil {
				t.Fatal(err)
			}
			if got := pick(out, keys...); got != c.want {
				t.Errorf("outputs\n got %s\nwant %s", got, c.want)
			}
			if out["summary"] != c.sum {
				t.Errorf("summary\n got %s\nwant %s", out["summary"], c.sum)
			}
			if out["backend"] != "sandbox" || out["tx_hash"] != strings.ToLower(c.with["tx_hash"].(string)) {
				t.Errorf("backend %v, tx_hash %v", out["backend"], out["tx_hash"])
			}
			if len(logs) < 2 || logs[len(logs)-1].Message != fmt.Sprintf("%s: advice %s", out["state"], out["advice"]) {
				t.Errorf("logs %v", logs)
			}
		})
	}
}

// Point 9: the fees a replacement needs, by geth's rule and the market,
// for every pending sandbox transaction; and the rule itself.
func TestReplacementFees(t *testing.T) {
	for old, want := range map[int64]int64{0: 1, 1: 2, 9: 10, 10: 11, 15: 16, 1_000_000_000: 1_100_000_000, 1_500_000_001: 1_650_000_001} {
		if got := bumped(big.NewInt(old)); got.Int64() != want {
			t.Errorf("bumped(%d) = %s, want %d", old, got, want)
		}
	}
	p := start(t, nil)
	for _, c := range []struct{ chain, hash, want string }{
		// tip 1 → max(1.1, market 1.5); max fee 10 → max(11, 2×12+1.5)
		{"ethereum", sbUnderpriced, "replacement_max_fee_wei=25500000000 replacement_priority_fee_wei=1500000000 replacement_max_fee_gwei=25.50 replacement_priority_fee_gwei=1.50"},
		// tip 1.5 → 1.65 (over the market's 1.5); max fee 30 → 33
		{"ethereum", sbPendingFine, "replacement_max_fee_wei=33000000000 replacement_priority_fee_wei=1650000000 replacement_max_fee_gwei=33.00 replacement_priority_fee_gwei=1.65"},
		{"ethereum", sbNonceGap, "replacement_max_fee_wei=44000000000 replacement_priority_fee_wei=2200000000 replacement_max_fee_gwei=44.00 replacement_priority_fee_gwei=2.20"},
		// tip 20 → max(22, suggested 30, minimum 25, recent 27); max fee 120 → 132
		{"polygon", sbLowTip, "replacement_max_fee_wei=132000000000 replacement_priority_fee_wei=30000000000 replacement_max_fee_gwei=132.00 replacement_priority_fee_gwei=30.00"},
		// no base fee: 0.05 → max(0.055, recent 0.1)
		{"bsc", sbBSCLow, "replacement_max_fee_wei=100000000 replacement_priority_fee_wei=100000000 replacement_max_fee_gwei=0.10 replacement_priority_fee_gwei=0.10"},
		// mined: nothing to replace
		{"ethereum", sbMinedSuccess, "replacement_max_fee_wei= replacement_priority_fee_wei= replacement_max_fee_gwei= replacement_priority_fee_gwei="},
	} {
		out, _, err := p.Execute("diagnose_transaction", map[string]any{"chain": c.chain, "tx_hash": c.hash})
		if err != nil {
			t.Fatal(err)
		}
		if got := pick(out, "replacement_max_fee_wei", "replacement_priority_fee_wei", "replacement_max_fee_gwei", "replacement_priority_fee_gwei"); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.hash, got, c.want)
		}
	}
}

func TestSandboxEndpointsAndFees(t *testing.T) {
	p := start(t, nil)
	for chain, want := range map[string]string{
		"ethereum": "endpoint=map[block_age_seconds:0 healthy:true problem: syncing:false] base_fee_wei=12000000000 suggested_max_fee_wei=25500000000 suggested_priority_fee_wei=1500000000 chain_id=1",
		"base":     "endpoint=map[block_age_seconds:0 healthy:true problem: syncing:false] base_fee_wei=5000000 suggested_max_fee_wei=11000000 suggested_priority_fee_wei=1000000 chain_id=8453",
		"polygon":  "endpoint=map[block_age_seconds:900 healthy:false problem:stale head: last block 900s old syncing:false] base_fee_wei=30000000000 suggested_max_fee_wei=90000000000 suggested_priority_fee_wei=30000000000 chain_id=137",
	} {
		out, _, err := p.Execute("diagnose_transaction", map[string]any{"chain": chain, "tx_hash": sbHash("dead")})
		if err != nil {
			t.Fatal(err)
		}
		if got := pick(out, "endpoint", "base_fee_wei", "suggested_max_fee_wei", "suggested_priority_fee_wei", "chain_id"); got != want {
			t.Errorf("%s:\n got %s\nwant %s", chain, got, want)
		}
	}
	out, _, err := p.Execute("get_fee_market", map[string]any{"chain": "ethereum"})
	want := "map[backend:sandbox base_fee_gwei:12.00 base_fee_wei:12000000000 block_age_seconds:0 block_number:2.1e+07 chain:ethereum chain_id:1 " +
		"gas_price_wei:13500000000 priority_fee_gwei:1.50 priority_fee_wei:1500000000 suggested_max_fee_wei:25500000000 syncing:false]"
	if err != nil || fmt.Sprint(out) != want {
		t.Errorf("fee market\n got %v %v\nwant %s", out, err, want)
	}
	out, _, err = p.Execute("get_fee_market", map[string]any{"chain": "137"})
	if err != nil || pick(out, "chain", "block_number", "block_age_seconds", "base_fee_gwei", "priority_fee_gwei") != "chain=polygon block_number=6.4e+07 block_age_seconds=900 base_fee_gwei=30.00 priority_fee_gwei=30.00" {
		t.Errorf("polygon fee market %v %v", out, err)
	}
}

func TestSandboxGetters(t *testing.T) {
	p := start(t, nil)
	out, logs, err := p.Execute("get_transaction", map[string]any{"chain": "ethereum", "tx_hash": strings.ToUpper(sbReverted[2:])[:0] + "0x" + strings.ToUpper(sbReverted[2:])})
	want := "map[backend:sandbox block_number:2.099998e+07 chain:ethereum chain_id:1 from:" + sbAlice + " gas:65000 gas_price_wei:13500000000 " +
		"hash:" + sbReverted + " input_bytes:68 max_fee_per_gas_wei:30000000000 max_priority_fee_per_gas_wei:1500000000 nonce:18 pending:false " +
		"to:" + sbToken + " type:2 value_wei:0]"
	if err != nil || fmt.Sprint(out) != want {
		t.Errorf("get_transaction\n got %v %v\nwant %s", out, err, want)
	}
	if fmt.Sprint(logs) != "[{info looking up 0xfa11fa…11fa11 on ethereum (sandbox)} {info mined in block 20999980}]" {
		t.Errorf("logs %v", logs)
	}
	out, _, err = p.Execute("get_transaction", map[string]any{"chain": "ethereum", "tx_hash": sbPendingFine})
	if err != nil || pick(out, "pending", "block_number", "gas_price_wei", "value_wei", "nonce") != "pending=true block_number=0 gas_price_wei=30000000000 value_wei=1000000000000000000 nonce=7" {
		t.Errorf("pending get_transaction %v %v", out, err)
	}
	out, _, err = p.Execute("get_receipt", map[string]any{"chain": "ethereum", "tx_hash": sbReverted})
	want = "map[backend:sandbox block_hash:0xb10c000000000001000000000000000000000000000000000000000001406f2c block_number:2.099998e+07 " +
		"chain:ethereum chain_id:1 confirmations:21 contract_address: effective_gas_price_wei:13500000000 gas_used:24311 logs:0 status:reverted]"
	if err != nil || fmt.Sprint(out) != want {
		t.Errorf("get_receipt\n got %v %v\nwant %s", out, err, want)
	}
	out, _, err = p.Execute("get_nonces", map[string]any{"chain": "ethereum", "address": strings.ToUpper(sbBob[2:])[:0] + "0x" + strings.ToUpper(sbBob[2:])})
	if err != nil || fmt.Sprint(out) != "map[address:"+sbBob+" backend:sandbox chain:ethereum chain_id:1 in_pool:1 latest:7 pending:8]" {
		t.Errorf("get_nonces %v %v", out, err)
	}
	out, _, err = p.Execute("get_nonces", map[string]any{"chain": "ethereum", "address": "0x0000000000000000000000000000000000000001"})
	if err != nil || pick(out, "latest", "pending", "in_pool") != "latest=0 pending=0 in_pool=0" {
		t.Errorf("get_nonces of a fresh address %v %v", out, err)
	}

	_, _, err = p.Execute("get_transaction", map[string]any{"chain": "ethereum", "tx_hash": sbOnBase})
	sdktest.WantError(t, err, "not_found", false, "no transaction "+sbOnBase+" on ethereum: the node does not know it (sandbox: its transactions are listed in docs/plugins-evm.md)")
	_, _, err = p.Execute("get_receipt", map[string]any{"chain": "ethereum", "tx_hash": sbUnderpriced})
	sdktest.WantError(t, err, "not_found", false, "no receipt for "+sbUnderpriced+" on ethereum: the transaction is pending or unknown (sandbox: its transactions are listed in docs/plugins-evm.md)")
}

// The actions agree with each other about each fixture.
func TestSandboxConsistency(t *testing.T) {
	p := start(t, nil)
	for _, f := range sandboxFixtures() {
		for _, tx := range f.txs {
			with := map[string]any{"chain": f.name, "tx_hash": tx.hash}
			d, _, err := p.Execute("diagnose_transaction", with)
			if err != nil {
				t.Fatal(err)
			}
			g, _, err := p.Execute("get_transaction", with)
			if err != nil {
				t.Fatal(err)
			}
			if d["from"] != g["from"] || d["to"] != g["to"] || d["nonce"] != g["nonce"] || d["max_fee_per_gas_wei"] != g["max_fee_per_gas_wei"] ||
				d["block_number"] != g["block_number"] {
				t.Errorf("%s: diagnose %v\nget_transaction %v", tx.hash, d, g)
			}
			n, _, err := p.Execute("get_nonces", map[string]any{"chain": f.name, "address": g["from"]})
			if err != nil {
				t.Fatal(err)
			}
			nonce := g["nonce"].(float64)
			r, _, rerr := p.Execute("get_receipt", with)
			switch g["pending"] {
			case false:
				if rerr != nil || r["confirmations"] != d["confirmations"] || r["block_number"] != d["block_number"] {
					t.Errorf("%s: receipt %v %v, diagnose %v", tx.hash, r, rerr, d)
				}
				if wantStatus := map[string]string{"mined-success": "success", "mined-reverted": "reverted"}[d["state"].(string)]; r["status"] != wantStatus {
					t.Errorf("%s: status %v for %v", tx.hash, r["status"], d["state"])
				}
				if n["latest"].(float64) <= nonce {
					t.Errorf("%s: mined with nonce %v, but latest is %v", tx.hash, nonce, n["latest"])
				}
			case true:
				if rerr == nil {
					t.Errorf("%s: pending, with a receipt %v", tx.hash, r)
				}
				if n["latest"].(float64) > nonce {
					t.Errorf("%s: pending with nonce %v, but latest is %v", tx.hash, nonce, n["latest"])
				}
				gap := d["state"] == "pending-nonce-gap"
				if inPool := n["pending"].(float64) > nonce; inPool == gap {
					t.Errorf("%s: %v, yet nonces %v", tx.hash, d["state"], n)
				}
				if gap && d["missing_nonce"] != n["pending"] {
					t.Errorf("%s: missing nonce %v, pending %v", tx.hash, d["missing_nonce"], n["pending"])
				}
			}
			fm, _, err := p.Execute("get_fee_market", map[string]any{"chain": f.name})
			if err != nil || fm["base_fee_wei"] != d["base_fee_wei"] || fm["suggested_max_fee_wei"] != d["suggested_max_fee_wei"] ||
				fm["priority_fee_wei"] != d["suggested_priority_fee_wei"] || fm["block_age_seconds"] != d["endpoint"].(map[string]any)["block_age_seconds"] {
				t.Errorf("%s: fee market %v %v, diagnose %v", tx.hash, fm, err, d)
			}
		}
	}
	// The replaced transaction's sender used its nonce: latest is past it.
	n, _, err := p.Execute("get_nonces", map[string]any{"chain": "ethereum", "address": sbAlice})
	if err != nil || n["latest"] != 20.0 || n["in_pool"] != 0.0 {
		t.Errorf("alice %v %v", n, err)
	}
}

// The sandbox never reads the clock: the same answers at any time.
func TestSandboxIsDeterministic(t *testing.T) {
	a := startAt(t, func() time.Time { return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) }, nil)
	b := startAt(t, func() time.Time { return time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC) }, nil)
	for _, f := range sandboxFixtures() {
		for _, tx := range append(f.txs, sbTx{hash: sbReplaced}) {
			with := map[string]any{"chain": f.name, "tx_hash": tx.hash, "sender": sbAlice, "nonce": 19}
			x, _, err1 := a.Execute("diagnose_transaction", with)
			y, _, err2 := b.Execute("diagnose_transaction", with)
			if err1 != nil || err2 != nil || !reflect.DeepEqual(x, y) {
				t.Errorf("%s on %s:\n%v %v\n%v %v", tx.hash, f.name, x, err1, y, err2)
			}
		}
	}
}

func TestSandboxFixtureShapes(t *testing.T) {
	for _, a := range []string{sbAlice, sbBob, sbCarol, sbDave, sbErin, sbCode, sbShop, sbToken} {
		if len(a) != 42 || strings.ToLower(a) != a {
			t.Errorf("address %s", a)
		}
	}
	for _, f := range sandboxFixtures() {
		for _, tx := range f.txs {
			if len(tx.hash) != 66 {
				t.Errorf("hash %s", tx.hash)
			}
		}
	}
}
