package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// TestFindDuplicatesSandbox: the sandbox's order 10428 was paid by two
// PaymentIntents six seconds apart. Whichever id the ticket gives, the
// first stands and the later one is the one to refund.
func TestFindDuplicatesSandbox(t *testing.T) {
	p := start(t, nil)
	for _, id := range []string{"pi_sandbox_duplicate", "pi_sandbox_duplicate_first", "ch_sandbox_duplicate_first", "ch_sandbox_duplicate"} {
		out, logs, err := p.Execute("find_duplicates", map[string]any{"payment_id": id})
		if err != nil {
			t.Fatal(err)
		}
		payments, _ := out["payments"].([]any)
		if out["searched"] != true || out["duplicate"] != true || out["count"] != 2.0 || len(payments) != 2 || out["order"] != "10428" ||
			out["keep"] != "pi_sandbox_duplicate_first" || out["refund_id"] != "pi_sandbox_duplicate" || out["refund_amount"] != 2500.0 ||
			out["customer"] != "cus_sandbox_0001" || out["amount"] != 2500.0 || out["currency"] != "eur" || out["window"] != "24h0m0s" ||
			out["reason"] != "" || out["backend"] != "sandbox" {
			t.Errorf("%s: %v", id, out)
		}
		if str(payments[0].(map[string]any), "id") != "pi_sandbox_duplicate_first" || str(payments[1].(map[string]any), "latest_charge") != "ch_sandbox_duplicate" {
			t.Errorf("%s: payments %v", id, payments)
		}
		if last := logs[len(logs)-1]; last.Level != "warn" ||
			last.Message != `order "10428" was paid 2 times by cus_sandbox_0001 (2500 eur each): pi_sandbox_duplicate_first stands; refund pi_sandbox_duplicate` {
			t.Errorf("%s: logs %v", id, logs)
		}
	}

	// Same customer and amount (2500 eur) on the same day, another order:
	// a second purchase, not a double charge.
	out, _, err := p.Execute("find_duplicates", map[string]any{"payment_id": "pi_sandbox_succeeded"})
	if err != nil || out["searched"] != true || out["duplicate"] != false || out["count"] != 1.0 || out["order"] != "10421" ||
		out["keep"] != "pi_sandbox_succeeded" || out["refund_id"] != "" || out["refund_amount"] != 0.0 {
		t.Errorf("another order: %v %v", out, err)
	}
	// The window bounds the search: the first payment is 6s earlier.
	out, _, err = p.Execute("find_duplicates", map[string]any{"payment_id": "pi_sandbox_duplicate", "window": "5s"})
	if err != nil || out["duplicate"] != false || out["count"] != 1.0 || out["window"] != "5s" {
		t.Errorf("window 5s: %v %v", out, err)
	}
	// A payment that did not go through cannot have charged twice.
	out, _, err = p.Execute("find_duplicates", map[string]any{"payment_id": "pi_sandbox_insufficient_funds"})
	if err != nil || out["searched"] != false || out["duplicate"] != false || out["reason"] != "pi_sandbox_insufficient_funds did not succeed (requires_payment_method): it cannot have charged twice" ||
		len(out["payments"].([]any)) != 0 {
		t.Errorf("declined: %v %v", out, err)
	}
	// A metadata key the payments do not have: the description is the
	// order, and it is the same.
	out, _, err = p.Execute("find_duplicates", map[string]any{"payment_id": "pi_sandbox_duplicate", "metadata_key": "cart"})
	if err != nil || out["duplicate"] != true || out["order"] != "Wallet top-up, order 10428" {
		t.Errorf("metadata_key cart: %v %v", out, err)
	}

	// Once the later payment is refunded, nothing is left to refund; the
	// order still was paid twice.
	if _, _, err := p.Execute("refund", map[string]any{"payment_id": "pi_sandbox_duplicate", "reason": "duplicate"}, sdktest.IdempotencyKey("run-1/refund")); err != nil {
		t.Fatal(err)
	}
	out, _, err = p.Execute("find_duplicates", map[string]any{"payment_id": "pi_sandbox_duplicate_first"})
	if err != nil || out["duplicate"] != true || out["refund_id"] != "" || out["refund_amount"] != 0.0 {
		t.Errorf("after the refund: %v %v", out, err)
	}
	if pays := out["payments"].([]any); pays[1].(map[string]any)["amount_refundable"] != 0.0 || pays[0].(map[string]any)["amount_refundable"] != 2500.0 {
		t.Errorf("after the refund: %v", pays)
	}
}

func TestFindDuplicatesRefusals(t *testing.T) {
	p := start(t, nil)
	for _, c := range []struct {
		with map[string]any
		code string
		msg  string
	}{
		{map[string]any{"payment_id": "pi_sandbox_duplicate", "window": "-1h"}, "invalid_input", "with.window must be between 1s and 720h (30 days), got -1h0m0s"},
		{map[string]any{"payment_id": "pi_sandbox_duplicate", "window": "721h"}, "invalid_input", "with.window must be between 1s and 720h (30 days), got 721h0m0s"},
		{map[string]any{"payment_id": "pi_sandbox_duplicate", "window": "a day"}, "invalid_input", `invalid duration "a day"`},
		{map[string]any{"payment_id": "iauth_sandbox_approved"}, "invalid_input", "with.payment_id must match"},
		{map[string]any{"payment_id": "pi_sandbox_nothing"}, "not_found", "no payment pi_sandbox_nothing in the sandbox"},
	} {
		_, _, err := p.Execute("find_duplicates", c.with)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: %v, want %s", c.with, err, c.msg)
		}
	}
	_, _, err := p.Execute("find_duplicates", map[string]any{"payment_id": "pi_sandbox_timeout"})
	sdktest.WantError(t, err, "timeout", true, "the provider did not answer in 10s (sandbox: every call on pi_sandbox_timeout times out)")
}

// TestGroupDuplicates is the grouping alone, on payments a list could
// return: same customer, amount, currency and order, succeeded.
func TestGroupDuplicates(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	pay := func(id string, at int, customer string, amount int64, currency, desc string, order string, succeeded bool) listedPayment {
		l := listedPayment{Payment: Payment{ID: id, Created: t0.Add(time.Duration(at) * time.Second), Customer: customer, Amount: amount, Currency: currency,
			Description: desc, Succeeded: succeeded, AmountRefundable: amount}}
		if order != "" {
			l.metadata = map[string]string{"order_id": order}
		}
		return l
	}
	subject := pay("pi_b", 10, "cus_1", 2500, "eur", "Top-up", "77", true).Payment
	ids := func(g duplicateGroup) string {
		var s []string
		for _, p := range g.payments {
			s = append(s, p.ID)
		}
		return g.order + ": " + strings.Join(s, " ")
	}
	for _, c := range []struct {
		name   string
		own    string
		listed []listedPayment
		key    string
		want   string
	}{
		{"the same order twice, listed newest first", "pi_b", []listedPayment{
			pay("pi_b", 10, "cus_1", 2500, "eur", "Top-up", "77", true),
			pay("pi_a", 4, "cus_1", 2500, "eur", "Top-up", "77", true),
		}, "order_id", "77: pi_a pi_b"},
		{"other orders, amounts, currencies, customers and failed payments are left out", "pi_b", []listedPayment{
			pay("pi_b", 10, "cus_1", 2500, "eur", "Top-up", "77", true),
			pay("pi_order", 1, "cus_1", 2500, "eur", "Top-up", "78", true),
			pay("pi_amount", 2, "cus_1", 2400, "eur", "Top-up", "77", true),
			pay("pi_currency", 3, "cus_1", 2500, "usd", "Top-up", "77", true),
			pay("pi_customer", 5, "cus_2", 2500, "eur", "Top-up", "77", true),
			pay("pi_failed", 6, "cus_1", 2500, "eur", "Top-up", "77", false),
			pay("pi_c", 30, "cus_1", 2500, "eur", "Top-up", "77", true),
		}, "order_id", "77: pi_b pi_c"},
		{"without the metadata key the description is the order", "pi_b", []listedPayment{
			pay("pi_b", 10, "cus_1", 2500, "eur", "Top-up", "77", true),
			pay("pi_a", 4, "cus_1", 2500, "eur", "Top-up", "78", true),
			pay("pi_other", 5, "cus_1", 2500, "eur", "Gift card", "77", true),
		}, "cart", "Top-up: pi_a pi_b"},
		{"a subject the list missed is still in the group", "pi_b", []listedPayment{
			pay("pi_a", 4, "cus_1", 2500, "eur", "Top-up", "", true),
		}, "order_id", "Top-up: pi_a pi_b"},
		{"ties in time are ordered by id", "pi_b", []listedPayment{
			pay("pi_b", 4, "cus_1", 2500, "eur", "Top-up", "77", true),
			pay("pi_a", 4, "cus_1", 2500, "eur", "Top-up", "77", true),
		}, "order_id", "77: pi_a pi_b"},
		{"no order reference: no group", "pi_b", []listedPayment{
			pay("pi_b", 10, "cus_1", 2500, "eur", "  ", "", true),
			pay("pi_a", 4, "cus_1", 2500, "eur", "  ", "", true),
		}, "order_id", ": "},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ids(groupDuplicates(c.own, subject, c.listed, c.key)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// BenchmarkGroupDuplicates groups a full page of a customer's payments
// (100, the most one list returns), a tenth of them of the same order.
func BenchmarkGroupDuplicates(b *testing.B) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	listed := make([]listedPayment, 100)
	for i := range listed {
		order := "o" + string(rune('a'+i%10))
		listed[i] = listedPayment{Payment: Payment{ID: "pi_" + string(rune('A'+i/26)) + string(rune('a'+i%26)), Created: t0.Add(time.Duration(i) * time.Minute),
			Customer: "cus_1", Amount: 2500, Currency: "eur", Succeeded: true, AmountRefundable: 2500}, metadata: map[string]string{"order_id": order}}
	}
	subject := listed[50].Payment
	for b.Loop() {
		if g := groupDuplicates(subject.ID, subject, listed, "order_id"); len(g.payments) != 10 {
			b.Fatal(len(g.payments))
		}
	}
}
