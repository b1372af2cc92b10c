package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// chain is a configured chain and the node that answers for it.
type chain struct {
	name string
	id   int64
	rules
	finality      string // finalityTag or finalityConfirmations
	confirmations int64
	backend       string // "rpc" or "sandbox"
	t             transport
	now           func() time.Time

	mu       sync.Mutex
	answered *big.Int // the node's eth_chainId, once asked
}

// What the node answers, as far as the plugin reads it.

type rpcTx struct {
	Hash                 string    `json:"hash"`
	From                 string    `json:"from"`
	To                   *string   `json:"to"`
	Nonce                uint64q   `json:"nonce"`
	Value                quantity  `json:"value"`
	Gas                  uint64q   `json:"gas"`
	Type                 *uint64q  `json:"type,omitempty"`
	GasPrice             *quantity `json:"gasPrice,omitempty"`
	MaxFeePerGas         *quantity `json:"maxFeePerGas,omitempty"`
	MaxPriorityFeePerGas *quantity `json:"maxPriorityFeePerGas,omitempty"`
	BlockNumber          *uint64q  `json:"blockNumber"`
	BlockHash            *string   `json:"blockHash"`
	Input                hexData   `json:"input"`
}

// feeCap is what the sender pays at most per gas: maxFeePerGas, or
// gasPrice for a legacy transaction.
func (tx *rpcTx) feeCap() *big.Int {
	if tx.MaxFeePerGas != nil {
		return tx.MaxFeePerGas.big()
	}
	return tx.GasPrice.big()
}

// tipAt is the tip per gas the transaction would pay a block producer at
// base fee base: min(maxPriorityFeePerGas, maxFeePerGas - base), or
// gasPrice - base for a legacy transaction; 0 below the base fee.
func (tx *rpcTx) tipAt(base *big.Int) *big.Int {
	headroom := new(big.Int).Sub(orZero(tx.feeCap()), orZero(base))
	if headroom.Sign() < 0 {
		return new(big.Int) // below the base fee: no tip at all
	}
	if tx.MaxPriorityFeePerGas != nil && tx.MaxPriorityFeePerGas.big().Cmp(headroom) < 0 {
		return new(big.Int).Set(tx.MaxPriorityFeePerGas.big())
	}
	return headroom
}

func (tx *rpcTx) to() string {
	if tx.To == nil {
		return ""
	}
	return strings.ToLower(*tx.To)
}

func (tx *rpcTx) pending() bool { return tx.BlockNumber == nil }

type rpcReceipt struct {
	TransactionHash   string            `json:"transactionHash"`
	Status            *uint64q          `json:"status"`
	BlockNumber       uint64q           `json:"blockNumber"`
	BlockHash         string            `json:"blockHash"`
	GasUsed           uint64q           `json:"gasUsed"`
	EffectiveGasPrice *quantity         `json:"effectiveGasPrice"`
	ContractAddress   *string           `json:"contractAddress"`
	Logs              []json.RawMessage `json:"logs"`
}

type rpcBlock struct {
	Number        uint64q           `json:"number"`
	Hash          string            `json:"hash"`
	Timestamp     uint64q           `json:"timestamp"`
	BaseFeePerGas *quantity         `json:"baseFeePerGas"`
	Transactions  []json.RawMessage `json:"transactions"`
}

// do calls method on the chain's node, after checking once that the node
// is on the chain it is configured for. A JSON-RPC error object becomes
// rpc_error (or the retryable rate_limited for a limit), wrapping the
// *rpcError.
func (c *chain) do(ctx context.Context, method string, params []any, result any) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	return c.wrap(method, c.t.call(ctx, method, params, result))
}

func (c *chain) wrap(method string, err error) error {
	var re *rpcError
	if !errors.As(err, &re) {
		return err
	}
	if re.Code == -32005 || re.Code == 429 || strings.Contains(strings.ToLower(re.Message), "rate limit") {
		return sdk.Retryable("rate_limited", "the node for %s limits our requests: it answered %s with %w", c.name, method, re)
	}
	return sdk.Error("rpc_error", "the node for %s answered %s with %w", c.name, method, re)
}

// ready checks the node's eth_chainId against the configured id, once per
// process (the answer is kept; a failed request is asked again next time).
func (c *chain) ready(ctx context.Context) error {
	c.mu.Lock()
	id := c.answered
	c.mu.Unlock()
	if id == nil {
		var q quantity
		if err := c.t.call(ctx, "eth_chainId", nil, &q); err != nil {
			return c.wrap("eth_chainId", err)
		}
		id = q.big()
		c.mu.Lock()
		c.answered = id
		c.mu.Unlock()
	}
	if !id.IsInt64() || id.Int64() != c.id {
		return sdk.Error("wrong_chain_id", "the node for %s answers chain id %s, not %d: check rpc_url", c.name, id, c.id)
	}
	return nil
}

// transaction returns the transaction, or nil when the node does not know it.
func (c *chain) transaction(ctx context.Context, hash string) (*rpcTx, error) {
	var tx *rpcTx
	if err := c.do(ctx, "eth_getTransactionByHash", []any{hash}, &tx); err != nil {
		return nil, err
	}
	return tx, nil
}

// receipt returns the receipt, or nil when there is none.
func (c *chain) receipt(ctx context.Context, hash string) (*rpcReceipt, error) {
	var r *rpcReceipt
	if err := c.do(ctx, "eth_getTransactionReceipt", []any{hash}, &r); err != nil {
		return nil, err
	}
	return r, nil
}

// head returns the latest block's header.
func (c *chain) head(ctx context.Context) (*rpcBlock, error) {
	var b *rpcBlock
	if err := c.do(ctx, "eth_getBlockByNumber", []any{"latest", false}, &b); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, sdk.Retryable("bad_response", "the node for %s has no latest block", c.name)
	}
	return b, nil
}

// tagged returns the header of the block a tag names ("finalized",
// "safe"), nil when the node has none or does not know the tag (an
// rpc_error: older nodes and some providers).
func (c *chain) tagged(ctx context.Context, tag string) (*rpcBlock, error) {
	var b *rpcBlock
	err := c.do(ctx, "eth_getBlockByNumber", []any{tag, false}, &b)
	var re *rpcError
	if errors.As(err, &re) && !isRateLimited(err) {
		return nil, nil
	}
	return b, err
}

// recentTip is the tip most recent transactions paid at least: the median,
// over the last feeHistoryBlocks blocks that held transactions, of each
// block's 10th-percentile effective tip (eth_feeHistory). nil when the
// blocks were empty or the node has no eth_feeHistory.
func (c *chain) recentTip(ctx context.Context) (*big.Int, error) {
	var h struct {
		Reward       [][]quantity `json:"reward"`
		GasUsedRatio []float64    `json:"gasUsedRatio"`
	}
	err := c.do(ctx, "eth_feeHistory", []any{hexUint(feeHistoryBlocks), "latest", []int{10}}, &h)
	var re *rpcError
	if errors.As(err, &re) && !isRateLimited(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var tips []*big.Int
	for i, r := range h.Reward {
		if i < len(h.GasUsedRatio) && h.GasUsedRatio[i] > 0 && len(r) > 0 {
			tips = append(tips, new(big.Int).Set(&r[0].Int))
		}
	}
	if len(tips) == 0 {
		return nil, nil
	}
	sort.Slice(tips, func(i, j int) bool { return tips[i].Cmp(tips[j]) < 0 })
	return tips[len(tips)/2], nil
}

// feeHistoryBlocks is how many recent blocks recentTip reads.
const feeHistoryBlocks = 20

// blockWithTxs returns block n with its transactions, nil when unknown.
func (c *chain) blockWithTxs(ctx context.Context, n uint64) (*rpcBlock, error) {
	var b *rpcBlock
	if err := c.do(ctx, "eth_getBlockByNumber", []any{hexUint(n), true}, &b); err != nil {
		return nil, err
	}
	return b, nil
}

// syncing reports whether the node says it is catching up.
func (c *chain) syncing(ctx context.Context) (bool, error) {
	var raw json.RawMessage
	if err := c.do(ctx, "eth_syncing", nil, &raw); err != nil {
		return false, err
	}
	return strings.TrimSpace(string(raw)) != "false", nil
}

// gasPrice is eth_gasPrice.
func (c *chain) gasPrice(ctx context.Context) (*big.Int, error) {
	var q quantity
	if err := c.do(ctx, "eth_gasPrice", nil, &q); err != nil {
		return nil, err
	}
	return q.big(), nil
}

// priorityFee is eth_maxPriorityFeePerGas; a node without it (an rpc_error)
// gets eth_gasPrice - base fee instead.
func (c *chain) priorityFee(ctx context.Context, base *big.Int) (*big.Int, error) {
	var q quantity
	err := c.do(ctx, "eth_maxPriorityFeePerGas", nil, &q)
	if err == nil {
		return q.big(), nil
	}
	var re *rpcError
	if !errors.As(err, &re) || isRateLimited(err) {
		return nil, err
	}
	gp, err := c.gasPrice(ctx)
	if err != nil {
		return nil, err
	}
	tip := new(big.Int).Sub(gp, orZero(base))
	if tip.Sign() < 0 {
		tip.SetInt64(0)
	}
	return tip, nil
}

// nonce is eth_getTransactionCount at tag: "latest", "pending" or a
// block number.
func (c *chain) nonce(ctx context.Context, addr, tag string) (uint64, error) {
	var q uint64q
	if err := c.do(ctx, "eth_getTransactionCount", []any{addr, tag}, &q); err != nil {
		return 0, err
	}
	return uint64(q), nil
}

// poolNonces returns what the node's pool holds from addr: nonce → hash,
// pending and queued (txpool_contentFrom, which not every node offers).
func (c *chain) poolNonces(ctx context.Context, addr string) (map[uint64]string, error) {
	var content map[string]map[string]struct {
		Hash string `json:"hash"`
	}
	if err := c.do(ctx, "txpool_contentFrom", []any{addr}, &content); err != nil {
		return nil, err
	}
	out := map[uint64]string{}
	for _, byNonce := range content {
		for n, tx := range byNonce {
			var v uint64
			if _, err := fmt.Sscan(n, &v); err == nil {
				out[v] = strings.ToLower(tx.Hash)
			}
		}
	}
	return out, nil
}

// fees are the fee market at the head.
type fees struct {
	base, tip, suggestedMax *big.Int
}

func suggest(base, tip *big.Int) fees {
	m := new(big.Int).Mul(orZero(base), big.NewInt(2))
	m.Add(m, tip)
	return fees{base: orZero(base), tip: tip, suggestedMax: m}
}

// Endpoint is the node's health, from its head block and eth_syncing.
type Endpoint struct {
	Healthy         bool   `json:"healthy" desc:"false when the node is syncing or its head is stale: do not trust a pending or dropped verdict, escalate"`
	Problem         string `json:"problem" desc:"\"\", \"syncing\" or \"stale head: last block 900s old\""`
	BlockAgeSeconds int64  `json:"block_age_seconds" desc:"how old the node's latest block is"`
	Syncing         bool   `json:"syncing"`
}

// blockAge is how old b is by the chain's clock, never negative.
func (c *chain) blockAge(b *rpcBlock) int64 {
	age := c.now().Unix() - b.Timestamp.int64()
	if age < 0 {
		return 0
	}
	return age
}

// endpoint judges the node from its head and eth_syncing: unhealthy when
// syncing, or when the head is older than max(10 block times, 120s).
func (c *chain) endpoint(head *rpcBlock, syncing bool) Endpoint {
	e := Endpoint{Healthy: true, BlockAgeSeconds: c.blockAge(head), Syncing: syncing}
	limit := max(10*c.blockTime, 120*time.Second)
	switch {
	case syncing:
		e.Healthy, e.Problem = false, "syncing"
	case time.Duration(e.BlockAgeSeconds)*time.Second > limit:
		e.Healthy, e.Problem = false, fmt.Sprintf("stale head: last block %ds old", e.BlockAgeSeconds)
	}
	return e
}

func orZero(n *big.Int) *big.Int {
	if n == nil {
		return new(big.Int)
	}
	return n
}

func isRateLimited(err error) bool {
	var ae *sdk.ActionError
	return errors.As(err, &ae) && ae.Code == "rate_limited"
}

// parallel runs fns at once and returns the first error in their order.
func parallel(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, f := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
