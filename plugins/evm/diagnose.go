package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// DiagnoseInput is the with of evm.diagnose_transaction.
type DiagnoseInput struct {
	Chain  string `json:"chain" pattern:"^[a-z0-9][a-z0-9-]{0,31}$" desc:"a configured chain's name or decimal id: where the customer says they sent it"`
	TxHash string `json:"tx_hash" pattern:"^0x[0-9a-fA-F]{64}$" desc:"the transaction's hash"`
	Sender string `json:"sender,omitempty" pattern:"^0x[0-9a-fA-F]{40}$" desc:"the sending address; with nonce, tells a replaced transaction from a dropped one"`
	Nonce  *int64 `json:"nonce,omitempty" min:"0" desc:"the nonce the wallet used, from its own records"`
}

// Diagnosis states and advice.
const (
	statePendingUnderpriced = "pending-underpriced"
	statePendingNonceGap    = "pending-nonce-gap"
	statePendingFine        = "pending-fine"
	stateMinedSuccess       = "mined-success"
	stateMinedReverted      = "mined-reverted"
	stateReplaced           = "replaced"
	stateDropped            = "dropped"
	stateNotFound           = "not-found"
	stateWrongChain         = "wrong-chain"

	adviceWait               = "wait"
	adviceSpeedUp            = "speed_up"
	adviceFillNonceGap       = "fill_nonce_gap"
	adviceContactDapp        = "contact_dapp"
	adviceResubmitSameNonce  = "resubmit_same_nonce"
	adviceAskSenderNonce     = "ask_sender_nonce"
	adviceConfirmReplacement = "confirm_replacement"
	adviceSwitchChain        = "switch_chain"
	adviceNone               = "none"
)

// Diagnosis is what evm.diagnose_transaction returns.
type Diagnosis struct {
	State                   string   `json:"state" enum:"pending-underpriced,pending-nonce-gap,pending-fine,mined-success,mined-reverted,replaced,dropped,not-found,wrong-chain"`
	Advice                  string   `json:"advice" enum:"wait,speed_up,cancel,fill_nonce_gap,contact_dapp,resubmit_same_nonce,ask_sender_nonce,confirm_replacement,switch_chain,none" desc:"what to do next (cancel is never chosen by the rules: a specialist may offer it instead of speed_up)"`
	Summary                 string   `json:"summary" desc:"one English sentence for the specialist, with the numbers"`
	TxHash                  string   `json:"tx_hash" desc:"lower case"`
	From                    string   `json:"from" desc:"the sender (the input's sender when the node does not know the transaction), else \"\""`
	To                      string   `json:"to"`
	Nonce                   *int64   `json:"nonce" desc:"the transaction's nonce, or the input's; null when unknown"`
	BlockNumber             int64    `json:"block_number" desc:"0 unless mined"`
	Confirmations           int64    `json:"confirmations"`
	Final                   bool     `json:"final" desc:"mined and final by the chain's finality rule"`
	Finality                string   `json:"finality" enum:",final,confirming,sequenced,posted_to_l1" desc:"mined: final; confirming (not final yet); on a layer 2, sequenced (its batch is not on L1 yet) or posted_to_l1 (on L1, not finalized there); \"\" unless mined"`
	FinalizedBlock          int64    `json:"finalized_block" desc:"the node's finalized block (the finalized tag), 0 when counted by confirmations"`
	FinalInSeconds          int64    `json:"final_in_seconds" desc:"mined, not final: a rough time until it is; else 0"`
	Layer2                  bool     `json:"layer2" desc:"the chain settles on Ethereum"`
	MissingNonce            *int64   `json:"missing_nonce" desc:"pending-nonce-gap: the first nonce neither mined nor in the pool; else null"`
	MissingNonces           []int64  `json:"missing_nonces" desc:"pending-nonce-gap: every nonce before this one neither mined nor in the pool (the first 50); else []"`
	MissingCount            int64    `json:"missing_count" desc:"pending-nonce-gap: how many nonces are missing; else 0"`
	EstimateSeconds         int64    `json:"estimate_seconds" desc:"pending-fine: a rough time to inclusion; else 0"`
	RevertReason            string   `json:"revert_reason" desc:"mined-reverted: the reason the contract gave; \"\" when the node gives none"`
	ReplacedBy              string   `json:"replaced_by" desc:"replaced: the transaction that took the nonce, when found; else \"\""`
	FoundOn                 string   `json:"found_on" desc:"wrong-chain: the configured chain where the hash is; else \"\""`
	SenderLatestNonce       *int64   `json:"sender_latest_nonce" desc:"with sender: its transactions mined (eth_getTransactionCount latest); else null"`
	SenderPendingNonce      *int64   `json:"sender_pending_nonce" desc:"with sender: counting those in the pool (pending); else null"`
	FeeProblem              string   `json:"fee_problem" enum:",max_fee_below_base_fee,zero_tip,tip_below_chain_minimum,tip_below_recent_tips" desc:"pending-underpriced: why; else \"\""`
	MaxFeePerGasWei         string   `json:"max_fee_per_gas_wei" desc:"the transaction's fee cap (gasPrice when legacy); \"\" when unknown"`
	PriorityFeeWei          string   `json:"priority_fee_wei" desc:"pending: the tip it offers at the current base fee; else \"\""`
	MinPriorityFeeWei       string   `json:"min_priority_fee_wei" desc:"the chain's minimum tip; \"\" when it has none"`
	RecentTipWei            string   `json:"recent_tip_wei" desc:"pending: the tip recent transactions paid at least (eth_feeHistory); \"\" when unknown"`
	BaseFeeWei              string   `json:"base_fee_wei" desc:"the head's base fee"`
	SuggestedMaxFeeWei      string   `json:"suggested_max_fee_wei" desc:"the market: 2 × base fee + suggested priority fee"`
	SuggestedPriorityFeeWei string   `json:"suggested_priority_fee_wei" desc:"the market: the node's suggested tip"`
	ReplacementMaxFeeWei    string   `json:"replacement_max_fee_wei" desc:"pending: the least max fee a replacement (speed-up or cancel) needs: 10% over the original's and at least the market; else \"\""`
	ReplacementTipWei       string   `json:"replacement_priority_fee_wei" desc:"pending: the least tip a replacement needs: 10% over the original's and at least the market and the chain's minimum; else \"\""`
	ReplacementMaxFeeGwei   string   `json:"replacement_max_fee_gwei" desc:"the same in gwei, for people"`
	ReplacementTipGwei      string   `json:"replacement_priority_fee_gwei" desc:"the same in gwei, for people"`
	Endpoint                Endpoint `json:"endpoint" desc:"the node's health: an unhealthy endpoint's diagnosis is returned but should be escalated"`
	ChainRef
}

// diagnosis is one diagnose_transaction call at work.
type diagnosis struct {
	e    *evm
	c    *chain
	call *sdk.Call
	in   DiagnoseInput
	hash string
	tx   *rpcTx
	head *rpcBlock
	fees fees
	out  Diagnosis
	// byTag: the finality came from the node's finalized tag, not a
	// count of confirmations.
	byTag bool
	// mismatch: where the input's sender or nonce disagree with the
	// transaction's.
	mismatch []string
}

// diagnoseTransaction is evm.diagnose_transaction. The rules are in
// docs/plugins-evm.md.
func (e *evm) diagnoseTransaction(ctx context.Context, call *sdk.Call, in DiagnoseInput) (Diagnosis, error) {
	hash := strings.ToLower(in.TxHash)
	c, err := e.open(ctx, call, in.Chain, "diagnosing "+short(hash))
	if err != nil {
		return Diagnosis{}, err
	}
	in.Sender = strings.ToLower(in.Sender)
	d := &diagnosis{e: e, c: c, call: call, in: in, hash: hash}
	var r *rpcReceipt
	var syncing bool
	if err := parallel(
		func() (err error) { d.tx, err = c.transaction(ctx, d.hash); return },
		func() (err error) { r, err = c.receipt(ctx, d.hash); return },
		func() (err error) { d.head, err = c.head(ctx); return },
		func() (err error) { syncing, err = c.syncing(ctx); return },
	); err != nil {
		return Diagnosis{}, err
	}
	base := d.head.BaseFeePerGas.big()
	tip, err := c.priorityFee(ctx, base)
	if err != nil {
		return Diagnosis{}, err
	}
	d.fees = suggest(base, tip)
	d.out = Diagnosis{
		TxHash: d.hash, BaseFeeWei: dec(d.fees.base), SuggestedMaxFeeWei: dec(d.fees.suggestedMax),
		SuggestedPriorityFeeWei: dec(d.fees.tip), MinPriorityFeeWei: dec(c.minTip), MissingNonces: []int64{},
		Layer2: c.layer2, Endpoint: c.endpoint(d.head, syncing), ChainRef: c.ref(),
	}
	if d.tx != nil {
		d.describeTx(d.tx)
	}
	switch {
	case r != nil:
		err = d.mined(ctx, r)
	case d.tx != nil && !d.tx.pending():
		err = sdk.Retryable("bad_response", "the node for %s has %s in block %d but no receipt for it yet: try again", c.name, short(d.hash), d.tx.BlockNumber.int64())
	case d.tx != nil:
		err = d.pending(ctx)
	default:
		err = d.unknown(ctx)
	}
	if err != nil {
		return Diagnosis{}, err
	}
	if len(d.mismatch) > 0 {
		d.out.Summary += " Check the ticket: " + strings.Join(d.mismatch, " and ") + "."
	}
	if ep := d.out.Endpoint; !ep.Healthy {
		d.out.Summary += fmt.Sprintf(" Careful: the node for %s is unhealthy (%s), so this may be out of date.", c.name, ep.Problem)
		call.Warnf("the node for %s is unhealthy: %s", c.name, ep.Problem)
	}
	call.Infof("%s: advice %s", d.out.State, d.out.Advice)
	return d.out, nil
}

func (d *diagnosis) describeTx(tx *rpcTx) {
	d.out.From, d.out.To = strings.ToLower(tx.From), tx.to()
	n := tx.Nonce.int64()
	d.out.Nonce = &n
	d.out.MaxFeePerGasWei = dec(tx.feeCap())
	// The customer's details disagree with the chain's: say so in the
	// summary too, the specialist may be looking at the wrong ticket.
	if d.in.Sender != "" && d.in.Sender != d.out.From {
		d.mismatch = append(d.mismatch, fmt.Sprintf("its sender is %s, not %s as given", d.out.From, d.in.Sender))
	}
	if d.in.Nonce != nil && *d.in.Nonce != n {
		d.mismatch = append(d.mismatch, fmt.Sprintf("its nonce is %d, not %d as given", n, *d.in.Nonce))
	}
	for _, m := range d.mismatch {
		d.call.Warnf("the transaction's %s", strings.TrimPrefix(m, "its "))
	}
}

// mined: the node has a receipt.
func (d *diagnosis) mined(ctx context.Context, r *rpcReceipt) error {
	c := d.c
	status, err := c.status(r)
	if err != nil {
		return err
	}
	o := &d.out
	o.BlockNumber = r.BlockNumber.int64()
	o.Confirmations = confirmations(d.head, r.BlockNumber)
	if err := d.finality(ctx, uint64(r.BlockNumber)); err != nil {
		return err
	}
	if status == "success" {
		o.State, o.Advice = stateMinedSuccess, adviceNone
		if !o.Final {
			o.Advice = adviceWait
		}
		o.Summary = fmt.Sprintf("Mined in block %d and succeeded, with %d confirmations: %s", o.BlockNumber, o.Confirmations, d.finalityText())
		return nil
	}
	o.State, o.Advice = stateMinedReverted, adviceContactDapp
	if d.tx != nil {
		o.RevertReason = d.revertReason(ctx, r.BlockNumber)
	}
	why := "the node gives no reason"
	if o.RevertReason != "" {
		why = fmt.Sprintf("%q", o.RevertReason)
	}
	o.Summary = fmt.Sprintf("Mined in block %d but reverted (%s): the contract refused it, the fee for %d gas was paid and nothing else happened.", o.BlockNumber, why, r.GasUsed.int64())
	return nil
}

// revertReason replays the transaction with eth_call at the block before
// its own and reads why it reverts. It is best effort: a node that cannot
// replay (no state that old) gives "".
func (d *diagnosis) revertReason(ctx context.Context, block uint64q) string {
	tx := d.tx
	args := map[string]any{"from": tx.From, "gas": hexUint(uint64(tx.Gas)), "value": hexBig(tx.Value.big()), "data": tx.Input}
	if tx.To != nil {
		args["to"] = *tx.To
	}
	at := uint64(block)
	if at > 0 {
		at--
	}
	var res json.RawMessage
	err := d.c.t.call(ctx, "eth_call", []any{args, hexUint(at)}, &res)
	var re *rpcError
	switch {
	case err == nil:
		d.call.Warnf("replayed at block %d, the call does not revert: it depended on an earlier transaction of block %d", at, block)
		return ""
	case errors.As(err, &re):
		if reason, ok := replayReason(re); ok {
			return reason
		}
		d.call.Warnf("could not replay the call at block %d: %s", at, re.Message)
	default:
		d.call.Warnf("could not replay the call at block %d: %v", at, err)
	}
	return ""
}

// roughly words a duration for people: 12s, 3 min, 2 h.
func roughly(t time.Duration) string {
	switch {
	case t < 90*time.Second:
		return fmt.Sprintf("%ds", int64(t.Seconds()))
	case t < 90*time.Minute:
		return fmt.Sprintf("%d min", int64(t.Round(time.Minute).Minutes()))
	}
	return fmt.Sprintf("%d h", int64(t.Round(time.Hour).Hours()))
}
