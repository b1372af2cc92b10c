package main

import (
	"context"
	"math/big"
	"strings"

	"github.com/stewardhq/steward/plugins/sdk"
)

// Input patterns, checked before a handler runs (invalid_input).
const (
	chainPattern   = `^[a-z0-9][a-z0-9-]{0,31}$`
	hashPattern    = `^0x[0-9a-fA-F]{64}$`
	addressPattern = `^0x[0-9a-fA-F]{40}$`
)

// TxInput names a transaction on a chain.
type TxInput struct {
	Chain  string `json:"chain" pattern:"^[a-z0-9][a-z0-9-]{0,31}$" desc:"a configured chain's name or decimal id: ethereum, 1, base, 8453"`
	TxHash string `json:"tx_hash" pattern:"^0x[0-9a-fA-F]{64}$" desc:"the transaction's hash"`
}

// ChainRef is in every output: which chain answered, and how.
type ChainRef struct {
	Chain   string `json:"chain" desc:"the chain's configured name"`
	ChainID int64  `json:"chain_id"`
	Backend string `json:"backend" enum:"sandbox,rpc" desc:"sandbox: simulated fixtures, not real data"`
}

func (c *chain) ref() ChainRef { return ChainRef{Chain: c.name, ChainID: c.id, Backend: c.backend} }

// TxOutput is what evm.get_transaction returns.
type TxOutput struct {
	Hash                    string `json:"hash"`
	From                    string `json:"from"`
	To                      string `json:"to" desc:"\"\" for a contract creation"`
	Nonce                   int64  `json:"nonce"`
	ValueWei                string `json:"value_wei" desc:"decimal string"`
	Gas                     int64  `json:"gas" desc:"the gas limit"`
	Type                    int64  `json:"type" desc:"EIP-2718 type: 0 legacy, 1 access list, 2 EIP-1559, 3 blob, 4 EIP-7702"`
	GasPriceWei             string `json:"gas_price_wei" desc:"the node's gasPrice (the price paid once mined); \"\" when it gives none"`
	MaxFeePerGasWei         string `json:"max_fee_per_gas_wei" desc:"\"\" for a legacy transaction"`
	MaxPriorityFeePerGasWei string `json:"max_priority_fee_per_gas_wei" desc:"\"\" for a legacy transaction"`
	Pending                 bool   `json:"pending" desc:"in the node's pool, not in a block"`
	BlockNumber             int64  `json:"block_number" desc:"0 when pending"`
	InputBytes              int64  `json:"input_bytes" desc:"size of the call data: 0 for a plain transfer"`
	ChainRef
}

// getTransaction is evm.get_transaction.
func (e *evm) getTransaction(ctx context.Context, call *sdk.Call, in TxInput) (TxOutput, error) {
	hash := strings.ToLower(in.TxHash)
	c, err := e.open(ctx, call, in.Chain, "looking up "+short(hash))
	if err != nil {
		return TxOutput{}, err
	}
	tx, err := c.transaction(ctx, hash)
	if err != nil {
		return TxOutput{}, err
	}
	if tx == nil {
		return TxOutput{}, c.notFound("no transaction %s on %s: the node does not know it", hash, c.name)
	}
	out := TxOutput{
		Hash: strings.ToLower(tx.Hash), From: strings.ToLower(tx.From), To: tx.to(), Nonce: tx.Nonce.int64(),
		ValueWei: dec(tx.Value.big()), Gas: tx.Gas.int64(),
		GasPriceWei: dec(tx.GasPrice.big()), MaxFeePerGasWei: dec(tx.MaxFeePerGas.big()),
		MaxPriorityFeePerGasWei: dec(tx.MaxPriorityFeePerGas.big()),
		Pending:                 tx.pending(), InputBytes: int64(len(tx.Input)), ChainRef: c.ref(),
	}
	if tx.Type != nil {
		out.Type = tx.Type.int64()
	}
	if !tx.pending() {
		out.BlockNumber = tx.BlockNumber.int64()
		call.Infof("mined in block %d", out.BlockNumber)
	} else {
		call.Infof("pending: nonce %d from %s", out.Nonce, out.From)
	}
	return out, nil
}

// notFound is not_found; the sandbox's says where its fixtures are listed.
func (c *chain) notFound(format string, args ...any) error {
	err := sdk.Error("not_found", format, args...)
	if c.backend == "sandbox" {
		return sdk.Error("not_found", "%s (sandbox: its transactions are listed in docs/plugins-evm.md)", err)
	}
	return err
}

// ReceiptOutput is what evm.get_receipt returns.
type ReceiptOutput struct {
	Status               string `json:"status" enum:"success,reverted"`
	BlockNumber          int64  `json:"block_number"`
	BlockHash            string `json:"block_hash"`
	GasUsed              int64  `json:"gas_used"`
	EffectiveGasPriceWei string `json:"effective_gas_price_wei" desc:"what each unit of gas cost"`
	ContractAddress      string `json:"contract_address" desc:"the contract a creation made, else \"\""`
	Logs                 int64  `json:"logs" desc:"how many events it emitted"`
	Confirmations        int64  `json:"confirmations" desc:"head - block + 1"`
	ChainRef
}

// getReceipt is evm.get_receipt.
func (e *evm) getReceipt(ctx context.Context, call *sdk.Call, in TxInput) (ReceiptOutput, error) {
	hash := strings.ToLower(in.TxHash)
	c, err := e.open(ctx, call, in.Chain, "looking up the receipt of "+short(hash))
	if err != nil {
		return ReceiptOutput{}, err
	}
	var r *rpcReceipt
	var head *rpcBlock
	if err := parallel(
		func() (err error) { r, err = c.receipt(ctx, hash); return },
		func() (err error) { head, err = c.head(ctx); return },
	); err != nil {
		return ReceiptOutput{}, err
	}
	if r == nil {
		return ReceiptOutput{}, c.notFound("no receipt for %s on %s: the transaction is pending or unknown", hash, c.name)
	}
	status, err := c.status(r)
	if err != nil {
		return ReceiptOutput{}, err
	}
	out := ReceiptOutput{
		Status: status, BlockNumber: r.BlockNumber.int64(), BlockHash: strings.ToLower(r.BlockHash),
		GasUsed: r.GasUsed.int64(), EffectiveGasPriceWei: dec(r.EffectiveGasPrice.big()),
		Logs: int64(len(r.Logs)), Confirmations: confirmations(head, r.BlockNumber), ChainRef: c.ref(),
	}
	if r.ContractAddress != nil {
		out.ContractAddress = strings.ToLower(*r.ContractAddress)
	}
	call.Infof("%s in block %d, %d confirmations", status, out.BlockNumber, out.Confirmations)
	return out, nil
}

// status reads a receipt's status: 1 success, 0 reverted.
func (c *chain) status(r *rpcReceipt) (string, error) {
	switch {
	case r.Status == nil:
		return "", sdk.Error("bad_response", "the node for %s gives no status in the receipt (a transaction from before Byzantium, 2017)", c.name)
	case *r.Status == 1:
		return "success", nil
	}
	return "reverted", nil
}

// confirmations is head - block + 1, 0 when the head is behind the block.
func confirmations(head *rpcBlock, block uint64q) int64 {
	if head.Number < block {
		return 0
	}
	return int64(head.Number-block) + 1
}

// AddressInput names an address on a chain.
type AddressInput struct {
	Chain   string `json:"chain" pattern:"^[a-z0-9][a-z0-9-]{0,31}$" desc:"a configured chain's name or decimal id"`
	Address string `json:"address" pattern:"^0x[0-9a-fA-F]{40}$" desc:"the account"`
}

// NoncesOutput is what evm.get_nonces returns.
type NoncesOutput struct {
	Address string `json:"address" desc:"lower case"`
	Latest  int64  `json:"latest" desc:"transactions mined: the next nonce the chain expects"`
	Pending int64  `json:"pending" desc:"counting those waiting in the node's pool in nonce order (queued ones after a gap are not counted)"`
	InPool  int64  `json:"in_pool" desc:"pending - latest"`
	ChainRef
}

// getNonces is evm.get_nonces.
func (e *evm) getNonces(ctx context.Context, call *sdk.Call, in AddressInput) (NoncesOutput, error) {
	addr := strings.ToLower(in.Address)
	c, err := e.open(ctx, call, in.Chain, "reading the nonces of "+short(addr))
	if err != nil {
		return NoncesOutput{}, err
	}
	var latest, pending uint64
	if err := parallel(
		func() (err error) { latest, err = c.nonce(ctx, addr, "latest"); return },
		func() (err error) { pending, err = c.nonce(ctx, addr, "pending"); return },
	); err != nil {
		return NoncesOutput{}, err
	}
	out := NoncesOutput{Address: addr, Latest: int64(latest), Pending: int64(pending), InPool: int64(pending) - int64(latest), ChainRef: c.ref()}
	if out.InPool < 0 {
		out.InPool = 0 // a node whose pool lags its head
	}
	call.Infof("latest %d, pending %d", out.Latest, out.Pending)
	return out, nil
}

// ChainInput names a chain.
type ChainInput struct {
	Chain string `json:"chain" pattern:"^[a-z0-9][a-z0-9-]{0,31}$" desc:"a configured chain's name or decimal id"`
}

// FeeMarketOutput is what evm.get_fee_market returns.
type FeeMarketOutput struct {
	BlockNumber        int64  `json:"block_number" desc:"the node's head"`
	BlockAgeSeconds    int64  `json:"block_age_seconds"`
	BaseFeeWei         string `json:"base_fee_wei" desc:"the head's base fee per gas (0 on a chain without EIP-1559)"`
	BaseFeeGwei        string `json:"base_fee_gwei" desc:"the same in gwei, for people: 12.00"`
	PriorityFeeWei     string `json:"priority_fee_wei" desc:"the node's suggested tip (eth_maxPriorityFeePerGas)"`
	PriorityFeeGwei    string `json:"priority_fee_gwei"`
	SuggestedMaxFeeWei string `json:"suggested_max_fee_wei" desc:"2 × base fee + priority fee: a max fee that survives six full blocks"`
	GasPriceWei        string `json:"gas_price_wei" desc:"eth_gasPrice, for legacy transactions"`
	Syncing            bool   `json:"syncing" desc:"the node says it is catching up"`
	ChainRef
}

// getFeeMarket is evm.get_fee_market.
func (e *evm) getFeeMarket(ctx context.Context, call *sdk.Call, in ChainInput) (FeeMarketOutput, error) {
	c, err := e.open(ctx, call, in.Chain, "reading the fee market")
	if err != nil {
		return FeeMarketOutput{}, err
	}
	var head *rpcBlock
	var syncing bool
	var gasPrice *big.Int
	if err := parallel(
		func() (err error) { head, err = c.head(ctx); return },
		func() (err error) { syncing, err = c.syncing(ctx); return },
		func() (err error) { gasPrice, err = c.gasPrice(ctx); return },
	); err != nil {
		return FeeMarketOutput{}, err
	}
	tip, err := c.priorityFee(ctx, head.BaseFeePerGas.big())
	if err != nil {
		return FeeMarketOutput{}, err
	}
	f := suggest(head.BaseFeePerGas.big(), tip)
	out := FeeMarketOutput{
		BlockNumber: head.Number.int64(), BlockAgeSeconds: c.blockAge(head),
		BaseFeeWei: dec(f.base), BaseFeeGwei: gwei(f.base), PriorityFeeWei: dec(f.tip), PriorityFeeGwei: gwei(f.tip),
		SuggestedMaxFeeWei: dec(f.suggestedMax), GasPriceWei: dec(gasPrice), Syncing: syncing, ChainRef: c.ref(),
	}
	call.Infof("block %d (%ds old): base fee %s gwei, priority fee %s gwei", out.BlockNumber, out.BlockAgeSeconds, out.BaseFeeGwei, out.PriorityFeeGwei)
	return out, nil
}
