package main

import (
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// The codes the tables must cover.
var (
	// docs.stripe.com/declines/codes, "Card decline codes" (50 codes).
	documentedDeclineCodes = []string{
		"authentication_required", "authentication_not_handled", "approve_with_id", "call_issuer", "card_not_supported",
		"card_velocity_exceeded", "currency_not_supported", "do_not_honor", "do_not_try_again", "duplicate_transaction",
		"expired_card", "fraudulent", "generic_decline", "incorrect_address", "incorrect_cvc", "incorrect_number", "incorrect_pin",
		"incorrect_zip", "insufficient_funds", "invalid_account", "invalid_amount", "invalid_cvc", "invalid_expiry_month",
		"invalid_expiry_year", "invalid_number", "invalid_pin", "issuer_not_available", "lost_card", "merchant_blacklist",
		"new_account_information_available", "no_action_taken", "not_permitted", "offline_pin_required",
		"online_or_offline_pin_required", "pickup_card", "pin_try_exceeded", "processing_error", "reenter_transaction",
		"restricted_card", "revocation_of_all_authorizations", "revocation_of_authorization", "security_violation",
		"service_not_allowed", "stolen_card", "stop_payment_order", "testmode_decline", "transaction_not_allowed",
		"try_again_later", "withdrawal_count_limit_exceeded", "mobile_device_authentication_required",
	}
	// The enum of issuing_authorization_request.reason in Stripe's OpenAPI
	// spec (spec3.json of stripe-mock v0.203.0, API 2026-08-26.dahlia).
	specIssuingReasons = []string{
		"account_disabled", "card_active", "card_canceled", "card_expired", "card_inactive", "cardholder_blocked",
		"cardholder_inactive", "cardholder_verification_required", "insecure_authorization_method", "insufficient_funds",
		"network_fallback", "not_allowed", "pin_blocked", "spending_controls", "stripe_internal_error", "suspected_fraud",
		"verification_failed", "webhook_approved", "webhook_declined", "webhook_error", "webhook_timeout",
	}
	// The common ISO 8583 response codes the contract names.
	commonISOCodes = []string{"00", "01", "03", "04", "05", "12", "13", "14", "30", "41", "43", "51", "54", "55", "57", "58",
		"59", "61", "62", "65", "75", "91", "96", "N7",
		// Issue 22: common codes the table lacked.
		"21", "28", "5C", "6P", "9G", "N3", "N4", "Q1", "Z3"}
	// The codes Visa and Mastercard read differently (issue 22: 82 is no
	// CVC re-entry on either network).
	networkISOCodes = []string{"70", "78", "79", "82", "83"}
	// Stripe error codes of failed card payments.
	cardFailureCodes = []string{"card_declined", "expired_card", "incorrect_cvc", "incorrect_number", "incorrect_zip",
		"invalid_cvc", "invalid_expiry_month", "invalid_expiry_year", "invalid_number", "processing_error",
		"authentication_required", "payment_intent_authentication_failure", "card_decline_rate_limit_exceeded", "insufficient_funds"}
)

func TestTablesAreComplete(t *testing.T) {
	for _, c := range []struct {
		name  string
		table map[string]explanation
		codes []string
		exact bool
	}{
		{"stripe decline codes", stripeDeclineCodes, documentedDeclineCodes, true},
		{"issuing reasons", issuingReasons, specIssuingReasons, true},
		{"ISO 8583 codes", isoCodes, commonISOCodes, false},
		{"ISO 8583 codes, Visa", isoByNetwork["visa"], networkISOCodes, true},
		{"ISO 8583 codes, Mastercard", isoByNetwork["mastercard"], networkISOCodes, true},
		{"ISO 8583 codes, network unknown", isoAmbiguous, networkISOCodes, true},
		{"stripe failure codes", stripeFailureCodes, cardFailureCodes, false},
	} {
		for _, code := range c.codes {
			if _, ok := c.table[code]; !ok {
				t.Errorf("%s: %s is missing", c.name, code)
			}
		}
		if c.exact && len(c.table) != len(c.codes) {
			var extra []string
			for code := range c.table {
				if !slices.Contains(c.codes, code) {
					extra = append(extra, code)
				}
			}
			t.Errorf("%s: %d entries, %d documented; not documented: %v", c.name, len(c.table), len(c.codes), extra)
		}
	}
}

// TestTableEntries checks every entry: valid enums, both languages, a next
// step, and escalation exactly for provider and platform faults.
func TestTableEntries(t *testing.T) {
	categories := []string{catFunds, catCardDetails, catAuthentication, catLimits, catRisk, catIssuer, catCardStatus, catProvider, catPlatform, catApproved}
	owners := []string{ownCustomer, ownIssuer, ownRisk, ownEngineering, ownSupport}
	han := func(s string) int {
		n := 0
		for _, r := range s {
			if unicode.Is(unicode.Han, r) {
				n++
			}
		}
		return n
	}
	for name, table := range allTables() {
		codes := make([]string, 0, len(table))
		for code := range table {
			codes = append(codes, code)
		}
		sort.Strings(codes)
		for _, code := range codes {
			e := table[code]
			where := name + " " + code
			switch {
			case name == "repeated":
			case strings.HasPrefix(name, "iso8583") && !isoPattern(code), !strings.HasPrefix(name, "iso8583") && !codePattern(code):
				t.Errorf("%s: the code does not fit explain_decline's input pattern", where)
			}
			if e.transient != (e.repeat != nil) || e.repeat != nil && (e.repeat.transient || !e.repeat.escalate()) {
				t.Errorf("%s: a transient entry has a repeat entry that escalates", where)
			}
			if e.category == catApproved && e.msg != msgHolding {
				t.Errorf("%s: an approval code explains no decline: the customer gets the holding message", where)
			}
			if !slices.Contains(categories, e.category) {
				t.Errorf("%s: category %q", where, e.category)
			}
			if !slices.Contains(owners, e.owner) {
				t.Errorf("%s: owner %q", where, e.owner)
			}
			if e.escalate() && e.owner != ownEngineering {
				t.Errorf("%s: a provider or platform fault is engineering's, not %s's", where, e.owner)
			}
			if e.fix && e.owner != ownCustomer {
				t.Errorf("%s: the customer can fix it, but the owner is %s", where, e.owner)
			}
			if e.category == catRisk && e.fix {
				t.Errorf("%s: a risk decision is not the customer's to fix", where)
			}
			if len(e.next) < 20 || strings.TrimSpace(e.next) != e.next || han(e.next) > 0 {
				t.Errorf("%s: next step %q", where, e.next)
			}
			if len(e.msg.en) < 30 || han(e.msg.en) > 0 || !strings.HasSuffix(e.msg.en, ".") {
				t.Errorf("%s: English message %q", where, e.msg.en)
			}
			if han(e.msg.zh) < 8 || !strings.HasSuffix(e.msg.zh, "。") || strings.ContainsAny(e.msg.zh, ",;?!") {
				t.Errorf("%s: Chinese message %q (Simplified Chinese with full-width punctuation)", where, e.msg.zh)
			}
			for _, word := range []string{"fraud", "stolen", "lost"} {
				if strings.Contains(strings.ToLower(e.msg.en), word) && e.category != catRisk {
					t.Errorf("%s: the customer message says %q", where, word)
				}
			}
		}
	}
	// Traditional characters would show a zh-TW text.
	for _, m := range []message{msgFunds, msgContactBank, msgOurSide, msgIssuingSpending, msgHolding} {
		if strings.ContainsAny(m.zh, "們這銀號碼後額請") {
			t.Errorf("traditional characters in %q", m.zh)
		}
	}
}

// allTables are every table, the network ones and the entries used when
// a temporary fault repeats among them.
func allTables() map[string]map[string]explanation {
	tables := map[string]map[string]explanation{
		"stripe": stripeDeclineCodes, "failure": stripeFailureCodes, "issuing": issuingReasons, "iso8583": isoCodes,
		"iso8583 unknown network": isoAmbiguous,
	}
	for network, t := range isoByNetwork {
		tables["iso8583 "+network] = t
	}
	repeats := map[string]explanation{}
	for name, t := range tables {
		for code, e := range t {
			if e.repeat != nil {
				repeats[name+" "+code] = *e.repeat
			}
		}
	}
	tables["repeated"] = repeats
	return tables
}

func isoPattern(s string) bool {
	return len(s) == 2 && strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') }) < 0
}

func codePattern(s string) bool {
	return len(s) <= 64 && strings.IndexFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '_') }) < 0
}

func TestExplainDecline(t *testing.T) {
	p := start(t, nil)
	// The precedence: decline_code, issuing_reason, iso_code, failure_code.
	for _, c := range []struct {
		with            map[string]any
		source, code    string
		category, owner string
		fix, esc, retry bool
	}{
		{map[string]any{"failure_code": "card_declined", "decline_code": "insufficient_funds", "iso_code": "05"}, "stripe", "insufficient_funds", "funds", "customer", true, false, false},
		{map[string]any{"failure_code": "card_declined", "iso_code": "54"}, "iso8583", "54", "card_status", "customer", true, false, false},
		{map[string]any{"failure_code": "card_declined"}, "stripe", "card_declined", "issuer", "issuer", false, false, false},
		{map[string]any{"issuing_reason": "webhook_timeout", "iso_code": "05"}, "issuing", "webhook_timeout", "platform", "engineering", false, true, true},
		{map[string]any{"decline_code": "processing_error"}, "stripe", "processing_error", "provider", "customer", false, false, true},
		{map[string]any{"decline_code": "lost_card"}, "stripe", "lost_card", "card_status", "issuer", false, false, false},
		// An unknown code gives way to a known one further down.
		{map[string]any{"decline_code": "brand_new_code", "failure_code": "expired_card"}, "stripe", "expired_card", "card_status", "customer", true, false, false},
		// Null means not given.
		{map[string]any{"decline_code": nil, "issuing_reason": nil, "iso_code": "1A", "failure_code": nil, "language": nil}, "iso8583", "1A", "authentication", "customer", true, false, true},
	} {
		out, _, err := p.Execute("explain_decline", c.with)
		if err != nil {
			t.Fatalf("%v: %v", c.with, err)
		}
		if out["known"] != true || out["source"] != c.source || out["code"] != c.code || out["category"] != c.category || out["owner"] != c.owner ||
			out["user_can_fix"] != c.fix || out["escalate"] != c.esc || out["retry_ok"] != c.retry || out["language"] != "en" || out["backend"] != "sandbox" {
			t.Errorf("%v: %v", c.with, out)
		}
	}

	out, _, err := p.Execute("explain_decline", map[string]any{"decline_code": "insufficient_funds", "language": "zh"})
	if err != nil || out["customer_message"] != msgFunds.zh || out["next_step"] != stripeDeclineCodes["insufficient_funds"].next || out["language"] != "zh" {
		t.Errorf("zh: %v %v", out, err)
	}
	out, _, err = p.Execute("explain_decline", map[string]any{"decline_code": "insufficient_funds"})
	if err != nil || out["customer_message"] != msgFunds.en {
		t.Errorf("en: %v %v", out, err)
	}

	out, logs, err := p.Execute("explain_decline", map[string]any{"decline_code": "brand_new_code", "iso_code": "Z9", "language": "zh"})
	if err != nil {
		t.Fatal(err)
	}
	if out["known"] != false || out["source"] != "none" || out["code"] != "brand_new_code" || out["category"] != "unknown" || out["owner"] != "support" ||
		out["escalate"] != false || out["user_can_fix"] != false || out["customer_message"] != msgHolding.zh ||
		!strings.Contains(out["next_step"].(string), "decline_code brand_new_code, iso_code Z9") {
		t.Errorf("unknown: %v", out)
	}
	if last := logs[len(logs)-1]; last.Level != "warn" || last.Message != "no table knows decline_code brand_new_code, iso_code Z9" {
		t.Errorf("logs %v", logs)
	}

	for _, with := range []map[string]any{{}, {"language": "zh"}, {"decline_code": "", "iso_code": ""}, {"decline_code": nil}} {
		_, _, err = p.Execute("explain_decline", with)
		sdktest.WantError(t, err, "invalid_input", false, "with: give at least one of decline_code, issuing_reason, iso_code, failure_code")
	}
}

// TestExplainIsTheSameOnStripe: a pure table, whatever the backend.
func TestExplainIsTheSameOnStripe(t *testing.T) {
	srv, hits := countingServer(t)
	p := start(t, map[string]any{"backend": "stripe", "stripe": map[string]any{"api_key": "sk_test_k3y", "base_url": srv}})
	out, _, err := p.Execute("explain_decline", map[string]any{"decline_code": "incorrect_cvc", "language": "zh"})
	if err != nil || out["category"] != "card_details" || out["customer_message"] != msgCVC.zh || out["backend"] != "stripe" {
		t.Errorf("%v %v", out, err)
	}
	if hits() != 0 {
		t.Error("explain_decline called Stripe")
	}
}
