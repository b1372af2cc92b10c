package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// The sandbox backend answers JSON-RPC from fixed fixtures, in process:
// the same code reads it as it reads a real node, so every action agrees
// with every other about the same fixture. Its "now" is fixed, so its
// outputs never depend on the clock. docs/plugins-evm.md lists the
// fixtures; keep the two in step.

// sandboxNow is the sandbox's clock: the time of ethereum's head block.
var sandboxNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// Sandbox addresses.
const (
	sbAlice = "0xa11ce000000000000000000000000000000a11ce" // mined, reverted, replaced (ethereum)
	sbBob   = "0xb0b000000000000000000000000000000000b0b0" // pending-fine (ethereum)
	sbCarol = "0xca201000000000000000000000000000000ca201" // pending-underpriced (ethereum)
	sbDave  = "0xd00d00000000000000000000000000000000d00d" // pending-nonce-gap (ethereum)
	sbErin  = "0xe71e00000000000000000000000000000000e71e" // on base
	sbCode  = "0xc0de00000000000000000000000000000000c0de" // on polygon
	sbFred  = "0xf7ed00000000000000000000000000000000f7ed" // pending with a zero tip (ethereum)
	sbHal   = "0x4a10000000000000000000000000000000004a10" // pending below polygon's minimum tip
	sbIvy   = "0x1717000000000000000000000000000000001717" // on bsc
	sbJay   = "0x1a1a000000000000000000000000000000001a1a" // on arbitrum
	sbKim   = "0x0c0a00000000000000000000000000000000c0a0" // on optimism
	sbShop  = "0xc0ffee254729296a45a3885639ac7e10f9d54979" // where payments go
	sbToken = "0x70ce0000000000000000000000000000000070ce" // an ERC-20 token
)

// Sandbox transaction hashes: a word repeated 16 times.
func sbHash(word string) string { return "0x" + strings.Repeat(word, 16) }

var (
	sbMinedSuccess = sbHash("5afe") // mined-success, 51 confirmations
	sbReverted     = sbHash("fa11") // mined-reverted
	sbReplacement  = sbHash("b005") // mined-success with 6 confirmations: replaced sbReplaced
	sbReplaced     = sbHash("01d0") // alice's nonce 19 before it was sped up: unknown to the node
	sbUnderpriced  = sbHash("10fe") // pending-underpriced
	sbNonceGap     = sbHash("9a90") // pending-nonce-gap, missing nonce 41
	sbPendingFine  = sbHash("600d") // pending-fine
	sbOnBase       = sbHash("ba5e") // mined on base only
	sbOnPolygon    = sbHash("de1a") // pending on polygon, whose node is stale
	sbZeroTip      = sbHash("71b0") // pending-underpriced: a zero tip (ethereum)
	sbLowTip       = sbHash("71b1") // pending-underpriced: below polygon's 25 gwei
	sbBSCLow       = sbHash("b5c0") // pending-underpriced: below the tips of recent bsc blocks
	sbBSCFinal     = sbHash("b5c1") // mined on bsc, final by fast finality
	sbArbPosted    = sbHash("a4b1") // mined on arbitrum, its batch posted to L1, not final
	sbOPSequenced  = sbHash("0a0a") // mined on optimism, its batch not posted yet
	sbRevertReason = "ERC20: transfer amount exceeds balance"
)

func gweiInt(g float64) *big.Int {
	n, _ := new(big.Float).Mul(big.NewFloat(g), big.NewFloat(1e9)).Int(nil)
	return n
}

func ether(e float64) *big.Int {
	n, _ := new(big.Float).Mul(big.NewFloat(e), big.NewFloat(1e18)).Int(nil)
	return n
}

// sbChain is a sandbox chain: its node's head, fees and transactions.
type sbChain struct {
	name            string
	id              int64
	head            uint64
	finalized, safe uint64 // the finalized and safe tags
	headTime        time.Time
	blockTime       time.Duration
	baseFee, tip    *big.Int
	recentTip       *big.Int             // every recent block's 10th-percentile tip (eth_feeHistory)
	accounts        map[string][2]uint64 // address → latest, pending nonce counts
	txs             []sbTx
}

// sbTx is a sandbox transaction. block 0 means in the pool.
type sbTx struct {
	hash, from, to string
	nonce          uint64
	value          *big.Int
	gas            uint64
	maxFee, maxTip *big.Int
	input          []byte
	block          uint64
	reverted       bool
	gasUsed        uint64
	effectivePrice *big.Int
	revert         []byte // what replaying it with eth_call reverts with
	queued         bool   // in the pool after a nonce gap
}

// transferData is transfer(to, amount) call data.
func transferData(to string, amount *big.Int) []byte {
	b := []byte{0xa9, 0x05, 0x9c, 0xbb}
	addr, _ := hex.DecodeString(strings.TrimPrefix(to, "0x"))
	b = append(b, make([]byte, 12)...)
	b = append(b, addr...)
	w := make([]byte, 32)
	amount.FillBytes(w)
	return append(b, w...)
}

// sandboxFixtures returns the sandbox's chains; fresh values each call.
func sandboxFixtures() []*sbChain {
	return []*sbChain{
		{
			// Finalized 50 blocks (10 min) behind the head.
			name: "ethereum", id: 1, head: 21_000_000, finalized: 20_999_950, safe: 20_999_982, headTime: sandboxNow, blockTime: 12 * time.Second,
			baseFee: gweiInt(12), tip: gweiInt(1.5), recentTip: gweiInt(1),
			accounts: map[string][2]uint64{sbAlice: {20, 20}, sbBob: {7, 8}, sbCarol: {3, 4}, sbDave: {41, 41}, sbFred: {2, 3}},
			txs: []sbTx{
				{hash: sbMinedSuccess, from: sbAlice, to: sbShop, nonce: 17, value: ether(0.25), gas: 21_000,
					maxFee: gweiInt(30), maxTip: gweiInt(1.5), block: 20_999_950, gasUsed: 21_000, effectivePrice: gweiInt(13.5)},
				{hash: sbReverted, from: sbAlice, to: sbToken, nonce: 18, value: new(big.Int), gas: 65_000,
					maxFee: gweiInt(30), maxTip: gweiInt(1.5), input: transferData(sbShop, big.NewInt(1_500_000_000)),
					block: 20_999_980, reverted: true, gasUsed: 24_311, effectivePrice: gweiInt(13.5),
					revert: encodeError(sbRevertReason)},
				{hash: sbReplacement, from: sbAlice, to: sbShop, nonce: 19, value: ether(0.1), gas: 21_000,
					maxFee: gweiInt(40), maxTip: gweiInt(3), block: 20_999_995, gasUsed: 21_000, effectivePrice: gweiInt(15)},
				{hash: sbUnderpriced, from: sbCarol, to: sbShop, nonce: 3, value: ether(0.05), gas: 21_000,
					maxFee: gweiInt(10), maxTip: gweiInt(1)},
				{hash: sbNonceGap, from: sbDave, to: sbToken, nonce: 43, value: new(big.Int), gas: 65_000,
					maxFee: gweiInt(40), maxTip: gweiInt(2), input: transferData(sbShop, big.NewInt(250_000_000)), queued: true},
				{hash: sbPendingFine, from: sbBob, to: sbShop, nonce: 7, value: ether(1), gas: 21_000,
					maxFee: gweiInt(30), maxTip: gweiInt(1.5)},
				{hash: sbZeroTip, from: sbFred, to: sbShop, nonce: 2, value: ether(0.3), gas: 21_000,
					maxFee: gweiInt(30), maxTip: new(big.Int)},
			},
		},
		{
			name: "base", id: 8453, head: 38_000_000, finalized: 37_999_900, safe: 37_999_950, headTime: sandboxNow, blockTime: 2 * time.Second,
			baseFee: big.NewInt(5_000_000), tip: big.NewInt(1_000_000), recentTip: big.NewInt(500_000),
			accounts: map[string][2]uint64{sbErin: {6, 6}},
			txs: []sbTx{
				{hash: sbOnBase, from: sbErin, to: sbShop, nonce: 5, value: ether(0.02), gas: 21_000,
					maxFee: big.NewInt(20_000_000), maxTip: big.NewInt(1_000_000), block: 37_999_900, gasUsed: 21_000,
					effectivePrice: big.NewInt(6_000_000)},
			},
		},
		{
			// Its node is stuck: its head is 15 minutes old.
			name: "polygon", id: 137, head: 64_000_000, finalized: 63_999_996, safe: 63_999_996, headTime: sandboxNow.Add(-15 * time.Minute), blockTime: 2 * time.Second,
			baseFee: gweiInt(30), tip: gweiInt(30), recentTip: gweiInt(27),
			accounts: map[string][2]uint64{sbCode: {12, 13}, sbHal: {4, 5}},
			txs: []sbTx{
				{hash: sbOnPolygon, from: sbCode, to: sbShop, nonce: 12, value: ether(5), gas: 21_000,
					maxFee: gweiInt(120), maxTip: gweiInt(30)},
				{hash: sbLowTip, from: sbHal, to: sbShop, nonce: 4, value: ether(12), gas: 21_000,
					maxFee: gweiInt(120), maxTip: gweiInt(20)},
			},
		},
		{
			// No base fee (BEP-226 keeps it at 0): the tip is the price.
			// Fast finality: final two blocks behind the head.
			name: "bsc", id: 56, head: 45_000_000, finalized: 44_999_998, safe: 44_999_999, headTime: sandboxNow, blockTime: 450 * time.Millisecond,
			baseFee: new(big.Int), tip: gweiInt(0.1), recentTip: gweiInt(0.1),
			accounts: map[string][2]uint64{sbIvy: {9, 10}},
			txs: []sbTx{
				{hash: sbBSCFinal, from: sbIvy, to: sbShop, nonce: 8, value: ether(0.5), gas: 21_000,
					maxFee: gweiInt(0.1), maxTip: gweiInt(0.1), block: 44_999_990, gasUsed: 21_000, effectivePrice: gweiInt(0.1)},
				{hash: sbBSCLow, from: sbIvy, to: sbShop, nonce: 9, value: ether(0.5), gas: 21_000,
					maxFee: gweiInt(0.05), maxTip: gweiInt(0.05)},
			},
		},
		{
			// Its batches reach L1 about 10 minutes after the block and
			// are final there about 20 minutes later. The tip is ignored.
			name: "arbitrum", id: 42161, head: 300_000_000, finalized: 299_992_800, safe: 299_997_600, headTime: sandboxNow, blockTime: 250 * time.Millisecond,
			baseFee: big.NewInt(10_000_000), tip: new(big.Int), recentTip: new(big.Int),
			accounts: map[string][2]uint64{sbJay: {3, 3}},
			txs: []sbTx{
				{hash: sbArbPosted, from: sbJay, to: sbShop, nonce: 2, value: ether(0.2), gas: 21_000,
					maxFee: big.NewInt(20_000_000), maxTip: new(big.Int), block: 299_996_000, gasUsed: 21_000, effectivePrice: big.NewInt(10_000_000)},
			},
		},
		{
			name: "optimism", id: 10, head: 130_000_000, finalized: 129_999_100, safe: 129_999_700, headTime: sandboxNow, blockTime: 2 * time.Second,
			baseFee: big.NewInt(1_000_000), tip: big.NewInt(1_000), recentTip: big.NewInt(1_000),
			accounts: map[string][2]uint64{sbKim: {1, 1}},
			txs: []sbTx{
				{hash: sbOPSequenced, from: sbKim, to: sbShop, nonce: 0, value: ether(0.05), gas: 21_000,
					maxFee: big.NewInt(3_000_000), maxTip: big.NewInt(1_000), block: 129_999_980, gasUsed: 21_000, effectivePrice: big.NewInt(1_001_000)},
			},
		},
	}
}

// sandboxChains are the sandbox backend's chains.
func sandboxChains() []*chain {
	var out []*chain
	for _, f := range sandboxFixtures() {
		c := newChain(ChainConfig{Name: f.name, ID: f.id}, "sandbox")
		c.t, c.now = f, func() time.Time { return sandboxNow }
		out = append(out, c)
	}
	return out
}

// call answers a JSON-RPC call as a node would.
func (s *sbChain) call(ctx context.Context, method string, params []any, result any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	var args []json.RawMessage
	if err := json.Unmarshal(raw, &args); err != nil {
		return err
	}
	str := func(i int) string {
		var v string
		if i < len(args) {
			_ = json.Unmarshal(args[i], &v)
		}
		return strings.ToLower(v)
	}
	var answer any
	switch method {
	case "eth_chainId":
		answer = hexUint(uint64(s.id))
	case "eth_getTransactionByHash":
		if tx := s.find(str(0)); tx != nil {
			answer = s.txJSON(tx)
		}
	case "eth_getTransactionReceipt":
		if tx := s.find(str(0)); tx != nil && tx.block != 0 {
			answer = s.receiptJSON(tx)
		}
	case "eth_getBlockByNumber":
		var full bool
		if len(args) > 1 {
			_ = json.Unmarshal(args[1], &full)
		}
		n, ok := s.blockNumber(str(0))
		if ok {
			answer = s.blockJSON(n, full)
		}
	case "eth_syncing":
		answer = false
	case "eth_feeHistory":
		var h struct {
			Oldest string     `json:"oldestBlock"`
			Reward [][]string `json:"reward"`
			Base   []string   `json:"baseFeePerGas"`
			Used   []float64  `json:"gasUsedRatio"`
		}
		h.Oldest = hexUint(s.head - feeHistoryBlocks + 1)
		for range feeHistoryBlocks {
			h.Reward = append(h.Reward, []string{hexBig(s.recentTip)})
			h.Base = append(h.Base, hexBig(s.baseFee))
			h.Used = append(h.Used, 0.5)
		}
		h.Base = append(h.Base, hexBig(s.baseFee))
		answer = h
	case "eth_maxPriorityFeePerGas":
		answer = hexBig(s.tip)
	case "eth_gasPrice":
		answer = hexBig(new(big.Int).Add(s.baseFee, s.tip))
	case "eth_getTransactionCount":
		counts := s.accounts[str(0)]
		switch tag := str(1); tag {
		case "pending":
			answer = hexUint(counts[1])
		case "latest":
			answer = hexUint(counts[0])
		default:
			n, ok := s.blockNumber(tag)
			if !ok {
				return &rpcError{Code: -32000, Message: "header not found"}
			}
			c := counts[0]
			for _, tx := range s.txs {
				if tx.from == str(0) && tx.block > n {
					c--
				}
			}
			answer = hexUint(c)
		}
	case "eth_call":
		var call struct {
			To   string  `json:"to"`
			Data hexData `json:"data"`
		}
		if len(args) > 0 {
			_ = json.Unmarshal(args[0], &call)
		}
		answer = "0x"
		for _, tx := range s.txs {
			if tx.revert != nil && strings.EqualFold(tx.to, call.To) && string(tx.input) == string(call.Data) {
				reason := decodeRevert(tx.revert)
				data, _ := json.Marshal(hexData(tx.revert))
				return &rpcError{Code: 3, Message: "execution reverted: " + reason, Data: data}
			}
		}
	case "txpool_contentFrom":
		pending, queued := map[string]any{}, map[string]any{}
		for i := range s.txs {
			tx := &s.txs[i]
			if tx.from != str(0) || tx.block != 0 {
				continue
			}
			if tx.queued {
				queued[strconv.FormatUint(tx.nonce, 10)] = s.txJSON(tx)
			} else {
				pending[strconv.FormatUint(tx.nonce, 10)] = s.txJSON(tx)
			}
		}
		answer = map[string]any{"pending": pending, "queued": queued}
	default:
		return &rpcError{Code: -32601, Message: fmt.Sprintf("the method %s does not exist/is not available", method)}
	}
	b, err := json.Marshal(answer)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, result)
}

func (s *sbChain) find(hash string) *sbTx {
	for i := range s.txs {
		if s.txs[i].hash == hash {
			return &s.txs[i]
		}
	}
	return nil
}

// blockNumber reads a block tag the sandbox knows: latest, or a number up
// to its head.
func (s *sbChain) blockNumber(tag string) (uint64, bool) {
	switch tag {
	case "latest", "pending":
		return s.head, true
	case "safe":
		return s.safe, true
	case "finalized":
		return s.finalized, true
	}
	n, err := parseQuantity(tag)
	if err != nil || !n.IsUint64() || n.Uint64() > s.head {
		return 0, false
	}
	return n.Uint64(), true
}

func (s *sbChain) blockHash(n uint64) string { return fmt.Sprintf("0xb10c%012x%048x", s.id, n) }

func (s *sbChain) blockTimeOf(n uint64) time.Time {
	return s.headTime.Add(-time.Duration(s.head-n) * s.blockTime)
}

func (s *sbChain) txJSON(tx *sbTx) map[string]any {
	m := map[string]any{
		"hash": tx.hash, "from": tx.from, "to": tx.to, "nonce": hexUint(tx.nonce), "value": hexBig(tx.value),
		"gas": hexUint(tx.gas), "type": "0x2", "maxFeePerGas": hexBig(tx.maxFee),
		"maxPriorityFeePerGas": hexBig(tx.maxTip), "gasPrice": hexBig(tx.maxFee),
		"input": hexData(tx.input), "chainId": hexUint(uint64(s.id)),
		"blockNumber": nil, "blockHash": nil, "transactionIndex": nil,
	}
	if tx.to == "" {
		m["to"] = nil
	}
	if tx.block != 0 {
		m["blockNumber"], m["blockHash"], m["transactionIndex"] = hexUint(tx.block), s.blockHash(tx.block), "0x0"
		m["gasPrice"] = hexBig(tx.effectivePrice)
	}
	return m
}

func (s *sbChain) receiptJSON(tx *sbTx) map[string]any {
	status := "0x1"
	if tx.reverted {
		status = "0x0"
	}
	return map[string]any{
		"transactionHash": tx.hash, "status": status, "blockNumber": hexUint(tx.block), "blockHash": s.blockHash(tx.block),
		"gasUsed": hexUint(tx.gasUsed), "cumulativeGasUsed": hexUint(tx.gasUsed), "effectiveGasPrice": hexBig(tx.effectivePrice),
		"contractAddress": nil, "logs": []any{}, "from": tx.from, "to": tx.to, "type": "0x2",
	}
}

func (s *sbChain) blockJSON(n uint64, full bool) map[string]any {
	txs := []any{}
	for i := range s.txs {
		if tx := &s.txs[i]; tx.block == n {
			if full {
				txs = append(txs, s.txJSON(tx))
			} else {
				txs = append(txs, tx.hash)
			}
		}
	}
	return map[string]any{
		"number": hexUint(n), "hash": s.blockHash(n), "timestamp": hexUint(uint64(s.blockTimeOf(n).Unix())),
		"baseFeePerGas": hexBig(s.baseFee), "transactions": txs,
	}
}
