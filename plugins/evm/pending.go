package main

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// maxListedNonces bounds missing_nonces: a wallet with a gap of thousands
// has a bug, not a ticket to list them all.
const maxListedNonces = 50

// pending: the node has the transaction in its pool. The rules, in order:
// a nonce gap; a max fee below the base fee; a tip of zero, below the
// chain's minimum or below what recent transactions paid; else fine.
func (d *diagnosis) pending(ctx context.Context) error {
	c, tx, o := d.c, d.tx, &d.out
	from := strings.ToLower(tx.From)
	var latest, pool uint64
	var recent *big.Int
	if err := parallel(
		func() (err error) { latest, err = c.nonce(ctx, from, "latest"); return },
		func() (err error) { pool, err = c.nonce(ctx, from, "pending"); return },
		func() (err error) { recent, err = c.recentTip(ctx); return },
	); err != nil {
		return err
	}
	o.RecentTipWei = dec(recent)
	n := uint64(tx.Nonce)
	base := d.fees.base
	capWei := tx.feeCap()
	tip := tx.tipAt(base)
	o.PriorityFeeWei = dec(tip)
	// The tip a block producer takes: the chain's minimum, and what
	// recent transactions paid.
	need := maxBig(c.minTip, recent)
	d.replacementFees(tx, need)
	replace := fmt.Sprintf("speed it up (same nonce %d) with a max fee of at least %s gwei and a priority fee of at least %s gwei (a replacement must raise both by %d%% over the original and meet the market)",
		n, o.ReplacementMaxFeeGwei, o.ReplacementTipGwei, priceBump)
	switch {
	case latest < n && pool < n:
		return d.nonceGap(ctx, from, n, latest, pool)
	case capWei != nil && capWei.Cmp(base) < 0:
		o.State, o.Advice, o.FeeProblem = statePendingUnderpriced, adviceSpeedUp, "max_fee_below_base_fee"
		o.Summary = fmt.Sprintf("Pending but underpriced: its max fee of %s gwei is below the base fee of %s gwei, so no block includes it unless the base fee falls that low; %s.",
			gwei(capWei), gwei(base), replace)
		return nil
	case !c.tipIgnored && tip.Sign() == 0:
		o.FeeProblem = "zero_tip"
	case !c.tipIgnored && c.minTip != nil && tip.Cmp(c.minTip) < 0:
		o.FeeProblem = "tip_below_chain_minimum"
	case !c.tipIgnored && recent != nil && tip.Cmp(recent) < 0:
		o.FeeProblem = "tip_below_recent_tips"
	}
	if o.FeeProblem != "" {
		why := map[string]string{
			"zero_tip":                "zero",
			"tip_below_chain_minimum": fmt.Sprintf("below the minimum of %s gwei that %s's block producers take", gwei(c.minTip), c.name),
			"tip_below_recent_tips":   fmt.Sprintf("below the %s gwei that transactions in recent blocks paid at least", gwei(recent)),
		}[o.FeeProblem]
		o.State, o.Advice = statePendingUnderpriced, adviceSpeedUp
		o.Summary = fmt.Sprintf("Pending but underpriced: its max fee of %s gwei covers the base fee of %s gwei, but its tip of %s gwei is %s, so block producers leave it out; %s.",
			gwei(capWei), gwei(base), gwei(tip), why, replace)
		return nil
	}
	o.State, o.Advice = statePendingFine, adviceWait
	blocks := int64(1)
	if !c.tipIgnored {
		half := new(big.Int).Rsh(d.fees.tip, 1)
		switch {
		case tip.Cmp(half) < 0:
			blocks = 10
		case tip.Cmp(d.fees.tip) < 0:
			blocks = 3
		}
	}
	ahead := ""
	if latest < n {
		blocks += int64(n - latest)
		ahead = fmt.Sprintf(" It waits behind %d earlier transactions of the sender still in the pool (nonces %d to %d).", n-latest, latest, n-1)
	}
	o.EstimateSeconds = int64((time.Duration(blocks) * c.blockTime).Seconds())
	tipNote := ""
	if c.tipIgnored {
		tipNote = fmt.Sprintf(" (%s ignores tips: first come, first served)", c.name)
	}
	o.Summary = fmt.Sprintf("Pending with fees that can be mined: max fee %s gwei over a base fee of %s gwei, tip %s gwei (suggested %s)%s; expect it in about %s.%s",
		gwei(capWei), gwei(base), gwei(tip), gwei(d.fees.tip), tipNote, roughly(time.Duration(o.EstimateSeconds)*time.Second), ahead)
	return nil
}

// replacementFees are the least fees a transaction replacing tx (a
// speed-up or a cancel, same nonce) needs: geth's price bump over both
// its fee cap and its tip, and at least the market (the suggested tip, the
// tip need that block producers take, and 2 × base fee + that tip). A
// legacy transaction's tip is its gas price, as geth counts it.
func (d *diagnosis) replacementFees(tx *rpcTx, need *big.Int) {
	oldTip := tx.GasPrice.big()
	if tx.MaxPriorityFeePerGas != nil {
		oldTip = tx.MaxPriorityFeePerGas.big()
	}
	market := d.fees.tip
	if !d.c.tipIgnored {
		market = maxBig(market, need)
	}
	tip := maxBig(bumped(oldTip), market)
	floor := new(big.Int).Mul(d.fees.base, big.NewInt(2))
	floor.Add(floor, tip)
	maxFee := maxBig(bumped(tx.feeCap()), floor)
	o := &d.out
	o.ReplacementMaxFeeWei, o.ReplacementTipWei = dec(maxFee), dec(tip)
	o.ReplacementMaxFeeGwei, o.ReplacementTipGwei = gwei(maxFee), gwei(tip)
}

// nonceGap: nonces before n are neither mined nor in the pool. Those the
// pool holds queued (txpool_contentFrom, when the node offers it) are not
// missing.
func (d *diagnosis) nonceGap(ctx context.Context, from string, n, latest, pool uint64) error {
	o := &d.out
	o.State, o.Advice = statePendingNonceGap, adviceFillNonceGap
	held, err := d.c.poolNonces(ctx, from)
	if err != nil {
		d.call.Debugf("cannot read the pool, counting every nonce from %d to %d as missing: %v", pool, n-1, err)
		held = nil
	}
	var missing []int64
	for k := pool; k < n; k++ {
		if held[k] == "" {
			missing = append(missing, int64(k))
		}
	}
	if len(missing) == 0 {
		// The pool moved between the two questions (the gap is filling):
		// the first nonce the counts say is missing is the one to name.
		d.call.Debugf("the pool holds every nonce from %d to %d now", pool, n-1)
		missing = []int64{int64(pool)}
	}
	o.MissingCount = int64(len(missing))
	o.MissingNonce = &missing[0]
	o.MissingNonces = missing[:min(len(missing), maxListedNonces)]
	verb := "was"
	if len(missing) > 1 {
		verb = "were"
	}
	o.Summary = fmt.Sprintf("Queued behind a nonce gap: it uses nonce %d but %s %s never sent (%d mined, %d waiting in the pool), so it cannot be mined until %s.",
		n, nonceList(missing), verb, latest, pool-latest, map[bool]string{true: "it is", false: "they are"}[len(missing) == 1])
	return nil
}

// nonceList words nonces for people: "nonce 41", "nonces 41 and 42",
// "nonces 6, 7, 8, 10 and 11"; past ten, "60 nonces from 41 to 100".
func nonceList(ns []int64) string {
	switch {
	case len(ns) == 1:
		return fmt.Sprintf("nonce %d", ns[0])
	case len(ns) > 10:
		return fmt.Sprintf("%d nonces from %d to %d", len(ns), ns[0], ns[len(ns)-1])
	}
	parts := make([]string, len(ns))
	for i, k := range ns {
		parts[i] = fmt.Sprint(k)
	}
	return "nonces " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
