package main

import (
	"fmt"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Every diagnosis state of the sandbox, as docs/plugins-evm.md lists it.
func TestSandboxDiagnoses(t *testing.T) {
	p := start(t, nil)
	n19, n41 := 19, 41
	for _, c := range []struct {
		name string
		with map[string]any
		want string // pick(out, keys...)
		sum  string
	}{
		{"mined-success", map[string]any{"chain": "ethereum", "tx_hash": sbMinedSuccess},
			"state=mined-success advice=none block_number=2.099995e+07 confirmations=51 final=true from=" + sbAlice + " nonce=17 revert_reason= replaced_by= found_on= missing_nonce=<nil> estimate_seconds=0",
			"Mined in block 20999950 and succeeded, with 51 confirmations: final (ethereum needs 12)."},
		{"mined-success, not final yet", map[string]any{"chain": "ethereum", "tx_hash": sbReplacement},
			"state=mined-success advice=wait block_number=2.0999995e+07 confirmations=6 final=false from=" + sbAlice + " nonce=19 revert_reason= replaced_by= found_on= missing_nonce=<nil> estimate_seconds=0",
			"Mined in block 20999995 and succeeded, with 6 confirmations; final after 6 more (about 72s)."},
		{"mined-reverted", map[string]any{"chain": "ethereum", "tx_hash": sbReverted},
			"state=mined-reverted advice=contact_dapp block_number=2.099998e+07 confirmations=21 final=true from=" + sbAlice + " nonce=18 revert_reason=ERC20: transfer amount exceeds balance replaced_by= found_on= missing_nonce=<nil> estimate_seconds=0",
			`Mined in block 20999980 but reverted ("ERC20: transfer amount exceeds balance"): the contract refused it, the fee for 24311 gas was paid and nothing else happened.`},
		{"pending-underpriced", map[string]any{"chain": "ethereum", "tx_hash": sbUnderpriced},
			"state=pending-underpriced advice=speed_up block_number=0 confirmations=0 final=false from=" + sbCarol + " nonce=3 revert_reason= replaced_by= found_on= missing_nonce=<nil> estimate_seconds=0",
			"Pending but underpriced: its max fee of 10.00 gwei is below the base fee of 12.00 gwei, so no block includes it unless the base fee falls that low; speed it up (same nonce 3) with a max fee of at least 25.50 gwei and a priority fee of 1.50 gwei."},
		{"pending-nonce-gap", map[string]any{"chain": "ethereum", "tx_hash": sbNonceGap},
			"state=pending-nonce-gap advice=fill_nonce_gap block_number=0 confirmations=0 final=false from=" + sbDave + " nonce=43 revert_reason= replaced_by= found_on= missing_nonce=41 estimate_seconds=0",
			"Queued behind a nonce gap: it uses nonce 43 but nonce 41 was never sent (41 mined, 0 waiting in the pool), so it cannot be mined until nonces 41 to 42 are."},
		{"pending-fine", map[string]any{"chain": "ethereum", "tx_hash": sbPendingFine},
			"state=pending-fine advice=wait block_number=0 confirmations=0 final=false from=" + sbBob + " nonce=7 revert_reason= replaced_by= found_on= missing_nonce=<nil> estimate_seconds=12",
			"Pending with fees that can be mined: max fee 30.00 gwei over a base fee of 12.00 gwei, tip 1.50 gwei (suggested 1.50); expect it in about 12s."},
		{"replaced", map[string]any{"chain": "ethereum", "tx_hash": sbReplaced, "sender": sbAlice, "nonce": n19},
			"state=replaced advice=none block_number=0 confirmations=0 final=false from=" + sbAlice + " nonce=19 revert_reason= replaced_by=" + sbReplacement + " found_on= missing_nonce=<nil> estimate_seconds=0",
			"Replaced: ethereum no longer knows it, and nonce 19 of 0xa11ce0…0a11ce was used by " + sbReplacement + " (the sender's next nonce is 20); nothing more will happen to this one."},
		{"dropped, with sender and an unused nonce", map[string]any{"chain": "ethereum", "tx_hash": sbReplaced, "sender": sbDave, "nonce": n41},
			"state=dropped advice=resubmit block_number=0 confirmations=0 final=false from=" + sbDave + " nonce=41 revert_reason= replaced_by= found_on= missing_nonce=<nil> estimate_seconds=0",
			"Dropped: ethereum does not know it and nonce 41 of 0xd00d00…00d00d is still unused (the sender's next nonce is 41): it left the mempool or was never broadcast; resubmit it."},
		{"dropped", map[string]any{"chain": "ethereum", "tx_hash": sbHash("dead")},
			"state=dropped advice=resubmit block_number=0 confirmations=0 final=false from= nonce=<nil> revert_reason= replaced_by= found_on= missing_nonce=<nil> estimate_seconds=0",
			"Dropped: the node for ethereum does not know this transaction, nor do the other configured chains, so it was dropped from the mempool or never broadcast; resubmit it (sender and nonce would tell a replaced transaction from a dropped one)."},
		{"wrong-chain", map[string]any{"chain": "ethereum", "tx_hash": sbOnBase},
			"state=wrong-chain advice=switch_chain block_number=0 confirmations=0 final=false from=" + sbErin + " nonce=5 revert_reason= replaced_by= found_on=base missing_nonce=<nil> estimate_seconds=0",
			"Not on ethereum, but on base (mined there in block 37999900): the transaction was sent on base; look there."},
		{"the same transaction on its own chain", map[string]any{"chain": "base", "tx_hash": sbOnBase},
			"state=mined-success advice=none block_number=3.79999e+07 confirmations=101 final=true from=" + sbErin + " nonce=5 revert_reason= replaced_by= found_on= missing_nonce=<nil> estimate_seconds=0",
			"Mined in block 37999900 and succeeded, with 101 confirmations: final (base needs 12)."},
		{"pending on polygon, whose node is stale", map[string]any{"chain": "polygon", "tx_hash": sbOnPolygon},
			"state=pending-fine advice=wait block_number=0 confirmations=0 final=false from=" + sbCode + " nonce=12 revert_reason= replaced_by= found_on= missing_nonce=<nil> estimate_seconds=2",
			"Pending with fees that can be mined: max fee 120.00 gwei over a base fee of 30.00 gwei, tip 30.00 gwei (suggested 30.00); expect it in about 2s. Careful: the node for polygon is unhealthy (stale head: last block 900s old), so this may be out of date."},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, logs, err := p.Execute("diagnose_transaction", c.with)
			if err != nil {
				t.Fatal(err)
			}
			got := pick(out, "state", "advice", "block_number", "confirmations", "final", "from", "nonce", "revert_reason",
				"replaced_by", "found_on", "missing_nonce", "estimate_seconds")
			if got != c.want {
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
