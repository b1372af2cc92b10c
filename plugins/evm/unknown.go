package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// unknown: the node knows neither the transaction nor a receipt. A hash
// nobody knows is not proof of a drop: a typo, another network and a
// private mempool look the same, and a resent transaction with a new
// nonce can be mined beside the original, paying twice. So:
//   - found on another configured chain: wrong-chain;
//   - without sender and nonce: not-found, ask for them;
//   - with them: the sender's mined and pending nonce counts tell a nonce
//     another transaction used (replaced: ask the customer whether they
//     replaced it) from an unused one (dropped: resend with the same
//     nonce only, so that at most one of the two can be mined).
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
	others := ""
	if len(d.e.chains) > 1 {
		others = ", nor do the other configured chains"
	}
	if d.in.Sender == "" || d.in.Nonce == nil {
		o.State, o.Advice = stateNotFound, adviceAskSenderNonce
		if d.in.Sender != "" {
			o.From = d.in.Sender
		}
		o.Summary = fmt.Sprintf("Not found: the node for %s does not know this hash%s. A typo in the hash, another network or a private mempool look the same as a dropped transaction: ask the customer for the sending address and the nonce and diagnose again; do not advise resending yet (a new transaction with a new nonce could pay twice).",
			c.name, others)
		return nil
	}
	sender, nonce := d.in.Sender, *d.in.Nonce
	o.From, o.Nonce = sender, &nonce
	var latest, pending uint64
	if err := parallel(
		func() (err error) { latest, err = c.nonce(ctx, sender, "latest"); return },
		func() (err error) { pending, err = c.nonce(ctx, sender, "pending"); return },
	); err != nil {
		return err
	}
	l, p := int64(latest), int64(pending)
	o.SenderLatestNonce, o.SenderPendingNonce = &l, &p
	ask := "ask the customer whether they sped it up or cancelled it: if they did not, their key may be compromised (escalate to security)"
	switch {
	case latest > uint64(nonce):
		o.State, o.Advice = stateReplaced, adviceConfirmReplacement
		o.ReplacedBy = d.minedReplacement(ctx, sender, uint64(nonce))
		by := "another transaction"
		if o.ReplacedBy != "" {
			by = o.ReplacedBy
		}
		o.Summary = fmt.Sprintf("Replaced: %s no longer knows it, and nonce %d of %s was used by %s (the sender's next nonce is %d); %s.",
			c.name, nonce, short(sender), by, latest, ask)
		return nil
	case pending > uint64(nonce):
		// Another transaction holds the nonce in the pool: named when the
		// node offers txpool_contentFrom.
		o.State, o.Advice = stateReplaced, adviceConfirmReplacement
		o.ReplacedBy = d.poolReplacement(ctx, sender, uint64(nonce))
		by := "another transaction"
		if o.ReplacedBy != "" {
			by = o.ReplacedBy
		}
		o.Summary = fmt.Sprintf("Replaced: %s no longer knows it, and %s with the same nonce %d waits in the pool instead (diagnose that one); %s.",
			c.name, by, nonce, ask)
		return nil
	}
	if by := d.poolReplacement(ctx, sender, uint64(nonce)); by != "" {
		// Queued after a gap, with the same nonce.
		o.State, o.Advice, o.ReplacedBy = stateReplaced, adviceConfirmReplacement, by
		o.Summary = fmt.Sprintf("Replaced: %s no longer knows it, and %s with the same nonce %d is queued in the pool instead (diagnose that one); %s.",
			c.name, by, nonce, ask)
		return nil
	}
	o.State, o.Advice = stateDropped, adviceResubmitSameNonce
	first := ""
	if uint64(nonce) > pending {
		first = fmt.Sprintf(" Nonces %d to %d must be used first.", pending, nonce-1)
	}
	o.Summary = fmt.Sprintf("Dropped: %s does not know it%s, and nonce %d of %s is still unused (%d mined, %d with the pool): it left the mempool or was never broadcast, or a private mempool still holds it. Resend it with the same nonce %d only, so that the original and the new one cannot both be mined.%s",
		c.name, others, nonce, short(sender), latest, pending, nonce, first)
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
