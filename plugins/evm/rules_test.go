package main

// Per-chain rules (chains.go) against a fake node: geth is one chain
// with one set of rules at a time, and cannot be made to answer as
// Polygon, Arbitrum or OP Mainnet, nor to refuse the finalized tag. The
// real node's answers are in geth_test.go.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const ruleSender = "0x5e2de200000000000000000000000000005e2de2"

// ruleNode is a fake node of chain id: head block 100 (base fee 1 gwei),
// one transaction (mined in block 80 when mined, else pending with tip
// and maxFee), the tags finalized and safe at the given blocks (-1: the
// node refuses the tag), and eth_feeHistory when history is not nil.
type ruleNode struct {
	id              int64
	mined           bool
	maxFee, tip     string
	finalized, safe int
	history         map[string]any
}

func (n ruleNode) settings(t *testing.T, extra ...any) map[string]any {
	t.Helper()
	if n.maxFee == "" {
		n.maxFee, n.tip = "0x174876e800", "0x77359400"
	}
	tx := map[string]any{"hash": sbMinedSuccess, "from": ruleSender, "to": sbShop, "nonce": "0x0", "value": "0x1", "gas": "0x5208",
		"type": "0x2", "maxFeePerGas": n.maxFee, "maxPriorityFeePerGas": n.tip, "gasPrice": n.maxFee, "input": "0x",
		"blockNumber": nil, "blockHash": nil}
	if n.mined {
		tx["blockNumber"], tx["blockHash"] = "0x50", "0x"+strings.Repeat("50", 32)
	}
	srv, _ := fakeNode(t, n.id, time.Now, func(method string, params []json.RawMessage) (any, *rpcError, bool) {
		var tag string
		if len(params) > 0 {
			_ = json.Unmarshal(params[0], &tag)
		}
		block := func(num int) map[string]any {
			return map[string]any{"number": hexUint(uint64(num)), "hash": "0x" + strings.Repeat("ab", 32),
				"timestamp": hexUint(uint64(time.Now().Add(-time.Second).Unix())), "baseFeePerGas": "0x3b9aca00", "transactions": []any{}}
		}
		switch {
		case method == "eth_getTransactionByHash":
			return tx, nil, true
		case method == "eth_getTransactionReceipt" && n.mined:
			return map[string]any{"transactionHash": sbMinedSuccess, "status": "0x1", "blockNumber": "0x50", "blockHash": "0x" + strings.Repeat("50", 32),
				"gasUsed": "0x5208", "effectiveGasPrice": "0x3b9aca00", "logs": []any{}}, nil, true
		case method == "eth_getTransactionCount" && tag == ruleSender:
			var at string
			_ = json.Unmarshal(params[1], &at)
			if at == "pending" {
				return "0x1", nil, true
			}
			return "0x0", nil, true
		case method == "eth_getBlockByNumber" && (tag == "finalized" || tag == "safe"):
			num := map[string]int{"finalized": n.finalized, "safe": n.safe}[tag]
			if num < 0 {
				return nil, &rpcError{Code: -32000, Message: "unknown block tag " + tag}, true
			}
			return block(num), nil, true
		case method == "eth_getBlockByNumber":
			return block(100), nil, true
		case method == "eth_feeHistory" && n.history != nil:
			return n.history, nil, true
		}
		return nil, nil, false
	})
	c := map[string]any{"name": "chain", "id": n.id, "rpc_url": secretURL(srv)}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i].(string)] = extra[i+1]
	}
	return rpcChains(c)
}

// Points 10 and 15: the tip is checked against the chain's minimum and
// what recent blocks paid; Arbitrum ignores tips.
func TestTipRules(t *testing.T) {
	gwei20, gwei2_5 := "0x4a817c800", "0x9502f900"
	recent := map[string]any{"oldestBlock": "0x61", "baseFeePerGas": []string{"0x1", "0x1", "0x1", "0x1", "0x1"},
		"gasUsedRatio": []float64{0, 0.5, 0.5, 0.5},
		"reward":       [][]string{{"0x0"}, {"0xb2d05e00"}, {"0x77359400"}, {"0xee6b2800"}}} // empty, 3, 2, 4 gwei
	for _, c := range []struct {
		name  string
		node  ruleNode
		extra []any
		want  string
	}{
		{"polygon's minimum by default", ruleNode{id: 137, maxFee: "0x174876e800", tip: gwei20},
			nil, "state=pending-underpriced fee_problem=tip_below_chain_minimum min_priority_fee_wei=25000000000 priority_fee_wei=20000000000 recent_tip_wei="},
		{"a minimum from the settings", ruleNode{id: 137, maxFee: "0x174876e800", tip: gwei20},
			[]any{"min_priority_fee_wei", "10000000000"}, "state=pending-fine fee_problem= min_priority_fee_wei=10000000000 priority_fee_wei=20000000000 recent_tip_wei="},
		{"a zero tip on ethereum", ruleNode{id: 1, maxFee: "0x174876e800", tip: "0x0"},
			nil, "state=pending-underpriced fee_problem=zero_tip min_priority_fee_wei= priority_fee_wei=0 recent_tip_wei="},
		{"a zero tip on arbitrum", ruleNode{id: 42161, maxFee: "0x174876e800", tip: "0x0"},
			nil, "state=pending-fine fee_problem= min_priority_fee_wei= priority_fee_wei=0 recent_tip_wei="},
		// The median of 2, 3 and 4 gwei; the empty block does not count.
		{"below the recent blocks' tips", ruleNode{id: 1, maxFee: "0x174876e800", tip: gwei2_5, history: recent},
			nil, "state=pending-underpriced fee_problem=tip_below_recent_tips min_priority_fee_wei= priority_fee_wei=2500000000 recent_tip_wei=3000000000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := start(t, c.node.settings(t, c.extra...))
			out, _, err := p.Execute("diagnose_transaction", map[string]any{"chain": "chain", "tx_hash": sbMinedSuccess})
			if err != nil {
				t.Fatal(err)
			}
			if got := pick(out, "state", "fee_problem", "min_priority_fee_wei", "priority_fee_wei", "recent_tip_wei"); got != c.want {
				t.Errorf("\n got %s\nwant %s\nsummary: %s", got, c.want, out["summary"])
			}
		})
	}
}

// Point 13: finality per chain, from the node's finalized and safe tags;
// confirmations only when the settings say so or the node has no tag.
func TestFinalityRules(t *testing.T) {
	for _, c := range []struct {
		name  string
		node  ruleNode
		extra []any
		want  string
		warn  string
	}{
		{"ethereum: past the finalized block", ruleNode{id: 1, mined: true, finalized: 80, safe: 90},
			nil, "final=true finality=final finalized_block=80 final_in_seconds=0 layer2=false", ""},
		// 21 confirmations, which 12 would call final.
		{"ethereum: not yet finalized", ruleNode{id: 1, mined: true, finalized: 70, safe: 90},
			nil, "final=false finality=confirming finalized_block=70 final_in_seconds=120 layer2=false", ""},
		{"op mainnet: only sequenced", ruleNode{id: 10, mined: true, finalized: 70, safe: 75},
			nil, "final=false finality=sequenced finalized_block=70 final_in_seconds=20 layer2=true", ""},
		{"op mainnet: posted to L1", ruleNode{id: 10, mined: true, finalized: 70, safe: 85},
			nil, "final=false finality=posted_to_l1 finalized_block=70 final_in_seconds=20 layer2=true", ""},
		{"arbitrum: settled", ruleNode{id: 42161, mined: true, finalized: 95, safe: 99},
			nil, "final=true finality=final finalized_block=95 final_in_seconds=0 layer2=true", ""},
		{"a node without the finalized tag counts confirmations", ruleNode{id: 1, mined: true, finalized: -1, safe: -1},
			nil, "final=true finality=final finalized_block=0 final_in_seconds=0 layer2=false",
			"the node for chain has no finalized block: counting 12 confirmations instead"},
		{"finality by confirmations", ruleNode{id: 1, mined: true, finalized: 99, safe: 99},
			[]any{"finality", "confirmations", "confirmations", 30}, "final=false finality=confirming finalized_block=0 final_in_seconds=108 layer2=false", ""},
		{"a layer 2 by the settings", ruleNode{id: 777, mined: true, finalized: 70, safe: 90},
			[]any{"layer2", true, "block_time", "1s"}, "final=false finality=posted_to_l1 finalized_block=70 final_in_seconds=10 layer2=true", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := start(t, c.node.settings(t, c.extra...))
			out, logs, err := p.Execute("diagnose_transaction", map[string]any{"chain": "chain", "tx_hash": sbMinedSuccess})
			if err != nil {
				t.Fatal(err)
			}
			if got := pick(out, "final", "finality", "finalized_block", "final_in_seconds", "layer2"); got != c.want {
				t.Errorf("\n got %s\nwant %s\nsummary: %s", got, c.want, out["summary"])
			}
			if want := map[bool]string{true: "none", false: "wait"}[out["final"] == true]; out["state"] != "mined-success" || out["advice"] != want {
				t.Errorf("state %v advice %v", out["state"], out["advice"])
			}
			warned := ""
			for _, l := range logs {
				if l.Level == "warn" {
					warned = l.Message
				}
			}
			if warned != c.warn {
				t.Errorf("warning %q, want %q", warned, c.warn)
			}
		})
	}
}

// Point 11, against a node without txpool_contentFrom: an unknown hash
// with a sender and nonce is checked against the sender's mined and
// pending nonce counts (5 and 7 here).
func TestUnknownHashWithSenderAndNonce(t *testing.T) {
	srv, calls := fakeNode(t, 1, time.Now, func(method string, params []json.RawMessage) (any, *rpcError, bool) {
		if method != "eth_getTransactionCount" {
			return nil, nil, false
		}
		var at string
		_ = json.Unmarshal(params[1], &at)
		if at == "pending" {
			return "0x7", nil, true
		}
		return "0x5", nil, true
	})
	p := start(t, rpcChains(ethereumAt(secretURL(srv))))
	for _, c := range []struct {
		nonce int
		want  string
		sum   string
	}{
		{6, "state=replaced advice=confirm_replacement replaced_by= sender_latest_nonce=5 sender_pending_nonce=7",
			"Replaced: ethereum no longer knows it, and another transaction with the same nonce 6 waits in the pool instead (diagnose that one); ask the customer whether they sped it up or cancelled it: if they did not, their key may be compromised (escalate to security)."},
		{7, "state=dropped advice=resubmit_same_nonce replaced_by= sender_latest_nonce=5 sender_pending_nonce=7",
			"Dropped: ethereum does not know it, and nonce 7 of 0x5e2de2…5e2de2 is still unused (5 mined, 7 with the pool): it left the mempool or was never broadcast, or a private mempool still holds it. Resend it with the same nonce 7 only, so that the original and the new one cannot both be mined."},
		{9, "state=dropped advice=resubmit_same_nonce replaced_by= sender_latest_nonce=5 sender_pending_nonce=7",
			"Dropped: ethereum does not know it, and nonce 9 of 0x5e2de2…5e2de2 is still unused (5 mined, 7 with the pool): it left the mempool or was never broadcast, or a private mempool still holds it. Resend it with the same nonce 9 only, so that the original and the new one cannot both be mined. Nonces 7 to 8 must be used first."},
	} {
		out, _, err := p.Execute("diagnose_transaction", map[string]any{"chain": "ethereum", "tx_hash": sbMinedSuccess, "sender": ruleSender, "nonce": c.nonce})
		if err != nil {
			t.Fatal(err)
		}
		if got := pick(out, "state", "advice", "replaced_by", "sender_latest_nonce", "sender_pending_nonce"); got != c.want || out["summary"] != c.sum {
			t.Errorf("nonce %d:\n got %s\n     %s\nwant %s\n     %s", c.nonce, got, out["summary"], c.want, c.sum)
		}
	}
	if count(calls, "txpool_contentFrom") == 0 {
		t.Error("the pool was not asked")
	}
}

// Point 8: the pool's queued nonces are not missing; a pool that moved
// between the nonce count and its content (it holds every nonce of the
// gap now) still names the first nonce the count says is missing, and
// does not crash the plugin.
func TestNonceGapAgainstThePool(t *testing.T) {
	for _, c := range []struct {
		queued []string
		want   string
	}{
		{[]string{"2"}, "state=pending-nonce-gap missing_nonce=1 missing_nonces=[1 3] missing_count=2"},
		{[]string{"1", "2", "3"}, "state=pending-nonce-gap missing_nonce=1 missing_nonces=[1] missing_count=1"},
	} {
		srv, _ := fakeNode(t, 1, time.Now, func(method string, _ []json.RawMessage) (any, *rpcError, bool) {
			switch method {
			case "eth_getTransactionByHash":
				return map[string]any{"hash": sbMinedSuccess, "from": ruleSender, "to": sbShop, "nonce": "0x4", "value": "0x1", "gas": "0x5208",
					"type": "0x2", "maxFeePerGas": "0x174876e800", "maxPriorityFeePerGas": "0x77359400", "input": "0x", "blockNumber": nil}, nil, true
			case "eth_getTransactionCount":
				return "0x1", nil, true // latest and pending: nonce 0 mined, nothing pending in order
			case "txpool_contentFrom":
				queued := map[string]any{}
				for _, n := range c.queued {
					queued[n] = map[string]any{"hash": "0x" + strings.Repeat(n, 64)}
				}
				return map[string]any{"pending": map[string]any{}, "queued": queued}, nil, true
			}
			return nil, nil, false
		})
		p := start(t, rpcChains(ethereumAt(secretURL(srv))))
		out, _, err := p.Execute("diagnose_transaction", map[string]any{"chain": "ethereum", "tx_hash": sbMinedSuccess})
		if err != nil {
			t.Fatal(err)
		}
		if got := pick(out, "state", "missing_nonce", "missing_nonces", "missing_count"); got != c.want {
			t.Errorf("queued %v:\n got %s\nwant %s (%s)", c.queued, got, c.want, out["summary"])
		}
	}
}
