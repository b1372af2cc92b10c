package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
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
	stateWrongChain         = "wrong-chain"

	adviceWait         = "wait"
	adviceSpeedUp      = "speed_up"
	adviceFillNonceGap = "fill_nonce_gap"
	adviceContactDapp  = "contact_dapp"
	adviceResubmit     = "resubmit"
	adviceSwitchChain  = "switch_chain"
	adviceNone         = "none"
)

// Diagnosis is what evm.diagnose_transaction returns.
type Diagnosis struct {
	State                   string   `json:"state" enum:"pending-underpriced,pending-nonce-gap,pending-fine,mined-success,mined-reverted,replaced,dropped,wrong-chain"`
	Advice                  string   `json:"advice" enum:"wait,speed_up,cancel,fill_nonce_gap,contact_dapp,resubmit,switch_chain,none" desc:"what the customer should do (cancel is never chosen by the rules: a specialist may offer it instead of speed_up)"`
	Summary                 string   `json:"summary" desc:"one English sentence for the specialist, with the numbers"`
	TxHash                  string   `json:"tx_hash" desc:"lower case"`
	From                    string   `json:"from" desc:"the sender (the input's sender when the node does not know the transaction), else \"\""`
	To                      string   `json:"to"`
	Nonce                   *int64   `json:"nonce" desc:"the transaction's nonce, or the input's; null when unknown"`
	BlockNumber             int64    `json:"block_number" desc:"0 unless mined"`
	Confirmations           int64    `json:"confirmations"`
	Final                   bool     `json:"final" desc:"confirmations >= the chain's confirmations setting"`
	MissingNonce            *int64   `json:"missing_nonce" desc:"pending-nonce-gap: the first nonce neither mined nor in the pool; else null"`
	EstimateSeconds         int64    `json:"estimate_seconds" desc:"pending-fine: a rough time to inclusion; else 0"`
	RevertReason            string   `json:"revert_reason" desc:"mined-reverted: the reason the contract gave; \"\" when the node gives none"`
	ReplacedBy              string   `json:"replaced_by" desc:"replaced: the transaction that took the nonce, when found; else \"\""`
	FoundOn                 string   `json:"found_on" desc:"wrong-chain: the configured chain where the hash is; else \"\""`
	MaxFeePerGasWei         string   `json:"max_fee_per_gas_wei" desc:"the transaction's fee cap (gasPrice when legacy); \"\" when unknown"`
	BaseFeeWei              string   `json:"base_fee_wei" desc:"the head's base fee"`
	SuggestedMaxFeeWei      string   `json:"suggested_max_fee_wei" desc:"for a speed-up: 2 × base fee + priority fee"`
	SuggestedPriorityFeeWei string   `json:"suggested_priority_fee_wei"`
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
		SuggestedPriorityFeeWei: dec(d.fees.tip), Endpoint: c.endpoint(d.head, syncing), ChainRef: c.ref(),
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
	if d.in.Sender != "" && d.in.Sender != d.out.From {
		d.call.Warnf("the transaction's sender is %s, not %s as given", d.out.From, d.in.Sender)
	}
	if d.in.Nonce != nil && *d.in.Nonce != n {
		d.call.Warnf("the transaction's nonce is %d, not %d as given", n, *d.in.Nonce)
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
	o.Final = o.Confirmations >= c.confirmations
	if status == "success" {
		o.State, o.Advice = stateMinedSuccess, adviceNone
		o.Summary = fmt.Sprintf("Mined in block %d and succeeded, with %d confirmations: final (%s needs %d).", o.BlockNumber, o.Confirmations, c.name, c.confirmations)
		if !o.Final {
			o.Advice = adviceWait
			more := c.confirmations - o.Confirmations
			o.Summary = fmt.Sprintf("Mined in block %d and succeeded, with %d confirmations; final after %d more (about %s).",
				o.BlockNumber, o.Confirmations, more, roughly(time.Duration(more)*c.blockTime))
		}
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

// pending: the node has it in its pool.
func (d *diagnosis) pending(ctx context.Context) error {
	c, tx, o := d.c, d.tx, &d.out
	from := strings.ToLower(tx.From)
	var latest, pool uint64
	if err := parallel(
		func() (err error) { latest, err = c.nonce(ctx, from, "latest"); return },
		func() (err error) { pool, err = c.nonce(ctx, from, "pending"); return },
	); err != nil {
		return err
	}
	n := uint64(tx.Nonce)
	capWei := tx.feeCap()
	switch {
	case latest < n && pool < n:
		o.State, o.Advice = statePendingNonceGap, adviceFillNonceGap
		missing := int64(pool)
		o.MissingNonce = &missing
		first := fmt.Sprintf("nonce %d is", pool)
		if n-1 > pool {
			first = fmt.Sprintf("nonces %d to %d are", pool, n-1)
		}
		o.Summary = fmt.Sprintf("Queued behind a nonce gap: it uses nonce %d but nonce %d was never sent (%d mined, %d waiting in the pool), so it cannot be mined until %s.",
			n, pool, latest, pool-latest, first)
	case capWei != nil && capWei.Cmp(d.fees.base) < 0:
		o.State, o.Advice = statePendingUnderpriced, adviceSpeedUp
		o.Summary = fmt.Sprintf("Pending but underpriced: its max fee of %s gwei is below the base fee of %s gwei, so no block includes it unless the base fee falls that low; speed it up (same nonce %d) with a max fee of at least %s gwei and a priority fee of %s gwei.",
			gwei(capWei), gwei(d.fees.base), n, gwei(d.fees.suggestedMax), gwei(d.fees.tip))
	default:
		o.State, o.Advice = statePendingFine, adviceWait
		tip := tx.tipAt(d.fees.base)
		blocks := int64(1)
		half := new(big.Int).Rsh(d.fees.tip, 1)
		switch {
		case tip.Cmp(half) < 0:
			blocks = 10
		case tip.Cmp(d.fees.tip) < 0:
			blocks = 3
		}
		ahead := ""
		if latest < n {
			blocks += int64(n - latest)
			ahead = fmt.Sprintf(" It waits behind %d earlier transactions of the sender still in the pool (nonces %d to %d).", n-latest, latest, n-1)
		}
		o.EstimateSeconds = int64((time.Duration(blocks) * c.blockTime).Seconds())
		o.Summary = fmt.Sprintf("Pending with fees that can be mined: max fee %s gwei over a base fee of %s gwei, tip %s gwei (suggested %s); expect it in about %s.%s",
			gwei(capWei), gwei(d.fees.base), gwei(tip), gwei(d.fees.tip), roughly(time.Duration(o.EstimateSeconds)*time.Second), ahead)
	}
	return nil
}

// unknown: the node knows neither the transaction nor a receipt.
func (d *diagnosis) unknown(ctx context.Context) error {
	c, o := d.c, &d.out
	if other, tx := d.elsewhere(ctx); other != nil {
		o.State, o.Advice, o.FoundOn = stateWrongChain, adviceSwitchChain, other.name
		d.describeTx(tx)
		where := "pending there"
		if !tx.pending() {
			where = fmt.Sprintf("mined there in block %d", tx.BlockNumber.int64())
		}
		o.Summary = fmt.Sprintf("Not on %s, but on %s (%s): the transaction was sent on %s; look there.", c.name, other.name, where, other.name)
		return nil
	}
	if d.in.Sender != "" && d.in.Nonce != nil {
		sender, nonce := d.in.Sender, *d.in.Nonce
		o.From, o.Nonce = sender, &nonce
		latest, err := c.nonce(ctx, sender, "latest")
		if err != nil {
			return err
		}
		if latest > uint64(nonce) {
			o.State, o.Advice = stateReplaced, adviceNone
			o.ReplacedBy = d.minedReplacement(ctx, sender, uint64(nonce))
			by := "another transaction"
			if o.ReplacedBy != "" {
				by = o.ReplacedBy
			}
			o.Summary = fmt.Sprintf("Replaced: %s no longer knows it, and nonce %d of %s was used by %s (the sender's next nonce is %d); nothing more will happen to this one.",
				c.name, nonce, short(sender), by, latest)
			return nil
		}
		if by := d.poolReplacement(ctx, sender, uint64(nonce)); by != "" {
			o.State, o.Advice, o.ReplacedBy = stateReplaced, adviceNone, by
			o.Summary = fmt.Sprintf("Replaced: %s no longer knows it, and %s with the same nonce %d waits in the pool instead (diagnose that one).",
				c.name, by, nonce)
			return nil
		}
		o.State, o.Advice = stateDropped, adviceResubmit
		o.Summary = fmt.Sprintf("Dropped: %s does not know it and nonce %d of %s is still unused (the sender's next nonce is %d): it left the mempool or was never broadcast; resubmit it.",
			c.name, nonce, short(sender), latest)
		return nil
	}
	o.State, o.Advice = stateDropped, adviceResubmit
	others := ""
	if len(d.e.chains) > 1 {
		others = " nor do the other configured chains,"
	}
	o.Summary = fmt.Sprintf("Dropped: the node for %s does not know this transaction,%s so it was dropped from the mempool or never broadcast; resubmit it (sender and nonce would tell a replaced transaction from a dropped one).",
		c.name, others)
	return nil
}

// elsewhere looks the hash up on the other configured chains at once,
// with a short timeout, and returns the first (in settings order) that
// knows it. A chain that cannot answer is skipped with a warning.
func (d *diagnosis) elsewhere(ctx context.Context) (*chain, *rpcTx) {
	var others []*chain
	for _, c := range d.e.chains {
		if c != d.c {
			others = append(others, c)
		}
	}
	if len(others) == 0 {
		return nil, nil
	}
	timeout := min(3*time.Second, d.e.settings.Timeout.Std())
	found := make([]*rpcTx, len(others))
	var fns []func() error
	for i, o := range others {
		fns = append(fns, func() error {
			octx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			tx, err := o.transaction(octx, d.hash)
			switch {
			case err != nil && octx.Err() != nil && ctx.Err() == nil:
				d.call.Warnf("could not look for it on %s: no answer within %s", o.name, timeout)
			case err != nil:
				d.call.Warnf("could not look for it on %s: %v", o.name, err)
			}
			found[i] = tx
			return nil
		})
	}
	_ = parallel(fns...)
	for i, tx := range found {
		if tx != nil {
			d.call.Infof("found on %s", others[i].name)
			return others[i], tx
		}
	}
	return nil, nil
}

// replacementWindow is how many recent blocks minedReplacement searches:
// a full node keeps the state of about 128.
const replacementWindow = 128

// minedReplacement finds the mined transaction that used sender's nonce:
// a binary search of the recent blocks on the sender's nonce, then the
// block's transactions. Best effort: "" when it is older than the window
// or the node cannot say.
func (d *diagnosis) minedReplacement(ctx context.Context, sender string, nonce uint64) string {
	c := d.c
	hi := uint64(d.head.Number)
	lo := uint64(0)
	if hi > replacementWindow {
		lo = hi - replacementWindow
	}
	n, err := c.nonce(ctx, sender, hexUint(lo))
	if err != nil || n > nonce {
		if err != nil {
			d.call.Debugf("not looking for the replacement: %v", err)
		}
		return ""
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		n, err := c.nonce(ctx, sender, hexUint(mid))
		if err != nil {
			d.call.Debugf("not looking for the replacement: %v", err)
			return ""
		}
		if n > nonce {
			hi = mid
		} else {
			lo = mid
		}
	}
	b, err := c.blockWithTxs(ctx, hi)
	if err != nil || b == nil {
		return ""
	}
	for _, raw := range b.Transactions {
		var tx rpcTx
		if json.Unmarshal(raw, &tx) == nil && strings.EqualFold(tx.From, sender) && uint64(tx.Nonce) == nonce {
			d.call.Infof("nonce %d was used by %s in block %d", nonce, short(strings.ToLower(tx.Hash)), hi)
			return strings.ToLower(tx.Hash)
		}
	}
	return ""
}

// poolReplacement returns the hash of another transaction of sender with
// the same nonce in the node's pool, "" when there is none or the node
// does not offer txpool_contentFrom.
func (d *diagnosis) poolReplacement(ctx context.Context, sender string, nonce uint64) string {
	pool, err := d.c.poolNonces(ctx, sender)
	if err != nil {
		d.call.Debugf("cannot read the pool: %v", err)
		return ""
	}
	if h := pool[nonce]; h != "" && h != d.hash {
		return h
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
