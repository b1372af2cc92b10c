package main

import (
	"math/big"
	"time"
)

// rules are what the plugin knows about a chain beyond its node: how fast
// it makes blocks, when a block is final, and what tip its block
// producers take. Settings override them; a chain the table does not know
// gets the defaults (12 s blocks, the node's finalized tag, no minimum tip).
type rules struct {
	blockTime time.Duration
	// layer2: the chain settles on Ethereum. A block is final once the
	// batch holding it is posted to L1 and that L1 block is finalized
	// (the node's finalized tag); before, it is "sequenced" (only the
	// sequencer's word) or "posted_to_l1" (the safe tag: its batch is on
	// L1, not yet final there).
	layer2 bool
	// minTip is the smallest priority fee the chain's block producers
	// take; nil when there is none.
	minTip *big.Int
	// tipIgnored: the sequencer orders transactions first come, first
	// served, and a tip buys nothing (Arbitrum).
	tipIgnored bool
}

// knownChains are the rules of the chains support sees most, by chain id.
// Sources (checked 2026-12-06):
//   - Ethereum: finality is Casper FFG, two epochs (~13 min), read with
//     the finalized block tag.
//   - Polygon PoS (137): deterministic finality by milestones (PIP-11),
//     read with the finalized tag; minimum gas price and tip 25 gwei since
//     PIP-35 (bor v1.3.4, 2024: txpool.pricelimit, miner.gasprice and
//     gpo.ignoreprice enforced at 25 gwei; it was 30 gwei from April 2024).
//     Later changes could not be verified: override min_priority_fee_wei
//     when Polygon changes it.
//   - BNB Smart Chain (56): fast finality (BEP-126: block n is final by
//     block n+2), read with the finalized tag; blocks every 0.45 s since
//     the Fermi hard fork (docs.bnbchain.org). Its base fee is 0 and the
//     validators' minimum gas price has changed several times (3, 1, 0.1
//     gwei...): the current value could not be verified, so no minimum is
//     set here and the tips of recent blocks are the check.
//   - Arbitrum One (42161): ~250 ms blocks; the safe and finalized tags
//     are the latest L2 block whose batch is posted in a safe or finalized
//     L1 block (Nitro v2.0.10); the sequencer is first come, first served:
//     the priority fee is ignored.
//   - OP Mainnet (10) and Base (8453), OP Stack: 2 s blocks; safe = derived
//     from batch data posted to L1, finalized = derived from finalized L1
//     data. The sequencer orders by priority fee.
var knownChains = map[int64]rules{
	1:     {blockTime: 12 * time.Second},
	137:   {blockTime: 2 * time.Second, minTip: gweiInt(25)},
	56:    {blockTime: 450 * time.Millisecond},
	8453:  {blockTime: 2 * time.Second, layer2: true},
	10:    {blockTime: 2 * time.Second, layer2: true},
	42161: {blockTime: 250 * time.Millisecond, layer2: true, tipIgnored: true},
}

// rulesFor returns the known rules of chain id, or the defaults.
func rulesFor(id int64) rules {
	if r, ok := knownChains[id]; ok {
		return r
	}
	return rules{blockTime: defaultBlockTime}
}

// priceBump is geth's txpool.pricebump (core/txpool/legacypool: PriceBump
// 10): a transaction replaces another of the same sender and nonce only if
// both its fee cap and its tip are at least 10% higher (and higher at all,
// for wei-level amounts). Most nodes and providers use geth's rule.
const priceBump = 10

// bumped is the least value a replacement may offer for old: at least
// old × (100 + priceBump) / 100, rounded down as geth does, and more than old.
func bumped(old *big.Int) *big.Int {
	old = orZero(old)
	t := new(big.Int).Mul(old, big.NewInt(100+priceBump))
	t.Div(t, big.NewInt(100))
	if next := new(big.Int).Add(old, big.NewInt(1)); t.Cmp(next) < 0 {
		return next
	}
	return t
}

func maxBig(a, b *big.Int) *big.Int {
	if orZero(a).Cmp(orZero(b)) >= 0 {
		return orZero(a)
	}
	return orZero(b)
}
