package main

import (
	"context"
	"fmt"
	"time"
)

// Finality of a mined block.
const (
	finalityFinal      = "final"
	finalityConfirming = "confirming"
	finalitySequenced  = "sequenced"
	finalityPosted     = "posted_to_l1"
)

// finality judges whether block is final by the chain's rule: the node's
// finalized block (the finalized tag), or, with finality confirmations or
// a node without the tag, a count of confirmations. On a layer 2 the safe
// tag tells a block whose batch is posted to L1 from one only sequenced.
func (d *diagnosis) finality(ctx context.Context, block uint64) error {
	c, o := d.c, &d.out
	if c.finality == finalityTag {
		fin, err := c.tagged(ctx, "finalized")
		if err != nil {
			return err
		}
		if fin != nil {
			d.byTag = true
			o.FinalizedBlock = fin.Number.int64()
			if uint64(fin.Number) >= block {
				o.Final, o.Finality = true, finalityFinal
				return nil
			}
			o.Finality = finalityConfirming
			o.FinalInSeconds = seconds(block-uint64(fin.Number), c.blockTime)
			if c.layer2 {
				safe, err := c.tagged(ctx, "safe")
				if err != nil {
					return err
				}
				o.Finality = finalitySequenced
				if safe != nil && uint64(safe.Number) >= block {
					o.Finality = finalityPosted
				}
			}
			return nil
		}
		d.call.Warnf("the node for %s has no finalized block: counting %d confirmations instead", c.name, c.confirmations)
	}
	o.Final = o.Confirmations >= c.confirmations
	o.Finality = finalityConfirming
	if o.Final {
		o.Finality = finalityFinal
	} else {
		o.FinalInSeconds = seconds(uint64(c.confirmations-o.Confirmations), c.blockTime)
	}
	return nil
}

// finalityText words the finality of a mined transaction for the summary.
func (d *diagnosis) finalityText() string {
	c, o := d.c, &d.out
	eta := roughly(time.Duration(o.FinalInSeconds) * time.Second)
	switch {
	case !d.byTag && o.Final:
		return fmt.Sprintf("final (%s needs %d).", c.name, c.confirmations)
	case !d.byTag:
		return fmt.Sprintf("final after %d more (about %s).", c.confirmations-o.Confirmations, eta)
	case o.Final && c.layer2:
		return fmt.Sprintf("final, settled on L1 (the finalized block of %s is %d).", c.name, o.FinalizedBlock)
	case o.Final:
		return fmt.Sprintf("final (the finalized block of %s is %d).", c.name, o.FinalizedBlock)
	case o.Finality == finalitySequenced:
		return fmt.Sprintf("not final yet: %s is a layer 2 and the batch holding it is not posted to L1 yet (finalized block %d); final in about %s.", c.name, o.FinalizedBlock, eta)
	case o.Finality == finalityPosted:
		return fmt.Sprintf("not final yet: %s is a layer 2, the batch holding it is posted to L1 and waits for L1 finality (finalized block %d); final in about %s.", c.name, o.FinalizedBlock, eta)
	}
	return fmt.Sprintf("not final yet (the finalized block of %s is %d); final in about %s.", c.name, o.FinalizedBlock, eta)
}

// seconds is blocks × blockTime in whole seconds, at least 1.
func seconds(blocks uint64, blockTime time.Duration) int64 {
	return max(1, int64((time.Duration(blocks) * blockTime).Round(time.Second).Seconds()))
}
