package main

import (
	"os"
	"testing"
)

// BenchmarkClassify: parsing the bundled rules file and classifying one
// ticket's text, as one helpdesk.classify call does (without the gRPC
// round trip).
func BenchmarkClassify(b *testing.B) {
	raw, err := os.ReadFile("../../runbooks/files/triage-rules.yaml")
	if err != nil {
		b.Fatal(err)
	}
	text := "银行卡付款失败\n你好，我今天早上用银行卡给钱包充值，付款失败了，付款编号 pi_sandbox_expired_card。请帮我看看是什么原因。"
	fields := map[string]any{"category": nil}
	for b.Loop() {
		c, err := parseRules(string(raw))
		if err != nil {
			b.Fatal(err)
		}
		if out := c.classify(text, fields); out.Category != "card_payment" {
			b.Fatal(out.Category)
		}
	}
}

// BenchmarkClassifyCached: one more ticket with rules already compiled
// (the same rules text as the call before), as the plugin answers it.
func BenchmarkClassifyCached(b *testing.B) {
	raw, err := os.ReadFile("../../runbooks/files/triage-rules.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var rc rulesCache
	text := "My transaction is stuck\nI sent ETH on ethereum two hours ago: 0x9a909a909a909a909a909a909a909a909a909a909a909a909a909a909a909a90"
	for b.Loop() {
		c, err := rc.get(string(raw))
		if err != nil {
			b.Fatal(err)
		}
		if out := c.classify(text, nil); out.Category != "stuck_transaction" {
			b.Fatal(out.Category)
		}
	}
}
