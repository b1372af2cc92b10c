package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

// The decline-reply runbook needs no plugin (it is the quickstart), yet
// its replies must be the plugin's: it reads runbooks/files/decline-codes.json,
// which is this package's Stripe decline table written out. This test
// fails when the file and the table differ; -update rewrites the file:
//
//	go test ./plugins/payments -run TestDeclineCodesFile -update
var update = flag.Bool("update", false, "rewrite runbooks/files/decline-codes.json from the tables")

const declineCodesFile = "../../runbooks/files/decline-codes.json"

// declineCodesJSON is the Stripe decline table as decline-reply reads it.
func declineCodesJSON(t *testing.T) []byte {
	t.Helper()
	type entry struct {
		Category   string            `json:"category"`
		Owner      string            `json:"owner"`
		UserCanFix bool              `json:"user_can_fix"`
		RetryOK    bool              `json:"retry_ok"`
		Escalate   bool              `json:"escalate"`
		Message    map[string]string `json:"message"`
		NextStep   string            `json:"next_step"`
	}
	doc := struct {
		Comment string            `json:"_comment"`
		Holding map[string]string `json:"holding"`
		Codes   map[string]entry  `json:"codes"`
	}{
		Comment: "Generated from plugins/payments/declines.go (Stripe's decline codes): do not edit. " +
			"go test ./plugins/payments -run TestDeclineCodesFile -update rewrites it.",
		Holding: map[string]string{"en": msgHolding.en, "zh": msgHolding.zh},
		Codes:   map[string]entry{},
	}
	for code, e := range stripeDeclineCodes {
		doc.Codes[code] = entry{Category: e.category, Owner: e.owner, UserCanFix: e.fix, RetryOK: e.retry, Escalate: e.escalate(),
			Message: map[string]string{"en": e.msg.en, "zh": e.msg.zh}, NextStep: e.next}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDeclineCodesFile(t *testing.T) {
	want := declineCodesJSON(t)
	if *update {
		if err := os.WriteFile(declineCodesFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(declineCodesFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not the plugin's decline table: run go test ./plugins/payments -run TestDeclineCodesFile -update", declineCodesFile)
	}
}
