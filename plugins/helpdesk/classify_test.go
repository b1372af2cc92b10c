package main

import (
	"os"
	"testing"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// bundledRules is the rules file of the triage-ticket runbook.
func bundledRules(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../runbooks/files/triage-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestClassifyBundledRules: the triage-ticket runbook's rules file, on
// every sandbox ticket (as get_ticket returns it) and on texts that
// test its edges, in English and Chinese.
func TestClassifyBundledRules(t *testing.T) {
	p := start(t, nil)
	rules := bundledRules(t)
	type want struct {
		category, payment, hash, chain string
		refund                         bool
	}
	check := func(name, text string, fields map[string]any, w want) {
		t.Helper()
		with := map[string]any{"text": text, "rules": rules}
		if fields != nil {
			with["fields"] = fields
		}
		out, _, err := p.Execute("classify", with)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		flags := out["flags"].(map[string]any)
		if out["category"] != w.category || out["payment_id"] != w.payment || out["tx_hash"] != w.hash || out["chain"] != w.chain || flags["refund_requested"] != w.refund {
			t.Errorf("%s: category %v (scores %v, matched %v), payment %q, hash %q, chain %q, refund %v; want %+v",
				name, out["category"], out["scores"], out["matched"], out["payment_id"], out["tx_hash"], out["chain"], flags["refund_requested"], w)
		}
	}
	hash1003 := "0x9a909a909a909a909a909a909a909a909a909a909a909a909a909a909a909a90"
	hash1004 := "0xde1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1a"
	for id, w := range map[int]want{
		1001: {category: "card_payment", payment: "pi_sandbox_insufficient_funds"},
		1002: {category: "card_payment", payment: "pi_sandbox_expired_card"},
		1003: {category: "stuck_transaction", hash: hash1003, chain: "ethereum"},
		1004: {category: "stuck_transaction", hash: hash1004, chain: "polygon"},
		1005: {category: "other"},
		1006: {category: "card_payment", payment: "pi_sandbox_duplicate", refund: true},
	} {
		tk, _, err := p.Execute("get_ticket", map[string]any{"ticket_id": id})
		if err != nil {
			t.Fatal(err)
		}
		check(itoa(int64(id)), tk["text"].(string), tk["fields"].(map[string]any), w)
	}
	check("a field alone decides", "Please help, see subject", map[string]any{"category": "card_payment"}, want{category: "card_payment"})
	check("one weak keyword is not enough", "Is there a card for my account?", nil, want{category: "other"})
	check("an id inside a word is not an id", "order epi_1234567 and card declined", nil, want{category: "card_payment"})
	check("a charge id, then punctuation", "my payment (ch_3MmlLrLkdIwHu7ix0snN0B15) was declined.", nil,
		want{category: "card_payment", payment: "ch_3MmlLrLkdIwHu7ix0snN0B15"})
	check("a Chinese refund request", "银行卡重复扣款，请退款。付款编号pi_1234567890。", nil, want{category: "card_payment", payment: "pi_1234567890", refund: true})
	check("a hash longer than 64 digits is not a hash", "transaction stuck 0x"+hash1003[2:]+"ff on polygon", nil,
		want{category: "stuck_transaction", chain: "polygon"})
	check("base as an English word is not a chain", "my transfer is stuck, the base fee was high: "+hash1003, nil,
		want{category: "stuck_transaction", hash: hash1003})
	check("arbitrum one", "Withdrawal pending on Arbitrum One "+hash1003, nil, want{category: "stuck_transaction", hash: hash1003, chain: "arbitrum"})
}

// TestClassifyBadRules: a rules file that does not fit is refused with
// every problem, before anything is classified.
func TestClassifyBadRules(t *testing.T) {
	p := start(t, nil)
	for _, c := range []struct{ rules, want string }{
		{"version: 2\ncategories: []\n", "with.rules: version must be 1, got 2\ncategories: at least one is needed"},
		{"version: 1\ncategory: []\n", "with.rules: the rules are not a valid rules file: unmarshal errors:\n  line 2: field category not found in type main.rules"},
		{"version: 1\ncategories:\n  - name: Card\n    patterns: ['(']\n  - name: other\nextract:\n  iban: 'x'\n",
			"with.rules: categories[0].name must be lower case letters, digits and _, got \"Card\"\n" +
				"categories[0].patterns[0]: error parsing regexp: missing closing ): `(`\n" +
				"categories[1].name: other is what matches no category; it is not listed\n" +
				"extract.iban: only payment_id and tx_hash are extracted"},
	} {
		rules, want := c.rules, c.want
		_, _, err := p.Execute("classify", map[string]any{"text": "x", "rules": rules})
		sdktest.WantError(t, err, "invalid_input", false, want)
	}
}

// TestClassifyChainTieFixed: a text naming two chains by words of the
// same length (ethereum, arbitrum) gets the same chain every time the
// rules are read: the chains' map order once decided it.
func TestClassifyChainTieFixed(t *testing.T) {
	rules := bundledRules(t)
	for range 20 {
		c, err := parseRules(rules)
		if err != nil {
			t.Fatal(err)
		}
		if out := c.classify("I bridged USDC from ethereum to arbitrum and it never arrived", nil); out.Chain != "arbitrum" {
			t.Fatalf("chain %q, want arbitrum (the first of the chains matched, by name)", out.Chain)
		}
	}
}
