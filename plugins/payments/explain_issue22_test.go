package main

import (
	"strings"
	"testing"
)

// Tests of issue 22's points on explain_decline: ISO codes per network
// (2), approval codes on a decline (3), processing_error retried before
// it is escalated (6), and advice codes driving the retry advice (7).

// TestISO82IsNotACVCReentry: Visa's 82 is a cryptogram or magnetic-stripe
// CVV failure and Mastercard's a policy decline; neither asks the customer
// to re-enter the printed code, which is N7.
func TestISO82IsNotACVCReentry(t *testing.T) {
	p := start(t, nil)
	for _, c := range []struct {
		network, category, owner string
		msg                      message
		next                     string
	}{
		{"visa", catCardDetails, ownIssuer, msgVerifyCard, "Negative CAM, dCVV, iCVV, CAVV or CVV result (Visa)"},
		{"mastercard", catIssuer, ownIssuer, msgNotSupported, "Decline reason policy (Mastercard)"},
		{"", catIssuer, ownIssuer, msgVerifyCard, "82 is a cryptogram or CVV (not CVV2) failure for Visa and a policy decline for Mastercard"},
		{"amex", catIssuer, ownIssuer, msgVerifyCard, "The network is unknown"},
	} {
		for _, lang := range []string{"en", "zh"} {
			out, _, err := p.Execute("explain_decline", map[string]any{"iso_code": "82", "network": c.network, "language": lang})
			if err != nil {
				t.Fatal(err)
			}
			msg := out["customer_message"].(string)
			if out["known"] != true || out["category"] != c.category || out["owner"] != c.owner || out["user_can_fix"] != false ||
				msg != c.msg.in(lang) || !strings.Contains(out["next_step"].(string), c.next) {
				t.Errorf("82 on %q (%s): %v", c.network, lang, out)
			}
			if strings.Contains(msg, "CVC") || strings.Contains(msg, "security code") || strings.Contains(msg, "安全码") {
				t.Errorf("82 on %q asks for the security code: %s", c.network, msg)
			}
		}
	}
	// The printed code's mismatch is N7, whatever the network field says.
	out, _, err := p.Execute("explain_decline", map[string]any{"iso_code": "N7", "network": "visa"})
	if err != nil || out["category"] != catCardDetails || out["user_can_fix"] != true || out["customer_message"] != msgCVC.en {
		t.Errorf("N7: %v %v", out, err)
	}
}

// TestISOCodesPerNetwork checks the codes issue 22 adds, and that a code
// the networks read differently is in the network tables only.
func TestISOCodesPerNetwork(t *testing.T) {
	for code := range isoAmbiguous {
		if _, ok := isoCodes[code]; ok {
			t.Errorf("%s is read differently by the networks: it belongs in isoByNetwork, not isoCodes", code)
		}
	}
	p := start(t, nil)
	for _, c := range []struct {
		network, code, category, owner string
		fix, retry                     bool
		msg                            message
	}{
		{"visa", "70", catAuthentication, ownCustomer, true, false, msgPINRequired},
		{"mastercard", "70", catIssuer, ownIssuer, false, false, msgContactBank},
		{"mastercard", "79", catCardStatus, ownIssuer, false, false, msgAccount},
		{"mastercard", "83", catRisk, ownIssuer, false, false, msgContactBank},
		{"visa", "21", catIssuer, ownIssuer, false, false, msgContactBank},
		{"visa", "28", catIssuer, ownIssuer, false, true, msgRetryThenBank},
		{"visa", "5C", catIssuer, ownIssuer, false, false, msgNotSupported},
		{"visa", "6P", catCardDetails, ownCustomer, true, false, msgCardData},
		{"visa", "9G", catIssuer, ownCustomer, true, false, msgBlockedByCardholder},
		{"visa", "N3", catIssuer, ownIssuer, false, false, msgNotSupported},
		{"visa", "N4", catLimits, ownIssuer, false, false, msgLimit},
		{"visa", "Q1", catCardDetails, ownIssuer, false, false, msgVerifyCard},
		{"visa", "Z3", catIssuer, ownIssuer, false, true, msgChipOffline},
		// A network code the shared table has is the same on both.
		{"mastercard", "51", catFunds, ownCustomer, true, false, msgFunds},
	} {
		out, _, err := p.Execute("explain_decline", map[string]any{"iso_code": c.code, "network": c.network, "language": "zh"})
		if err != nil || out["known"] != true || out["source"] != "iso8583" || out["category"] != c.category || out["owner"] != c.owner ||
			out["user_can_fix"] != c.fix || out["retry_ok"] != c.retry || out["customer_message"] != c.msg.zh {
			t.Errorf("%s on %s: %v %v", c.code, c.network, out, err)
		}
	}
}

// TestApprovalCodeOnADecline: a declined authorization whose only code
// says approved never gets an approval reply, in either language.
func TestApprovalCodeOnADecline(t *testing.T) {
	p := start(t, nil)
	for _, with := range []map[string]any{
		{"iso_code": "00"}, {"iso_code": "08"}, {"iso_code": "10"}, {"iso_code": "85"},
		{"issuing_reason": "webhook_approved", "iso_code": "00"}, {"issuing_reason": "card_active"},
	} {
		for _, lang := range []string{"en", "zh"} {
			with["language"] = lang
			out, _, err := p.Execute("explain_decline", with)
			if err != nil {
				t.Fatal(err)
			}
			msg := out["customer_message"].(string)
			if out["category"] != catApproved || msg != msgHolding.in(lang) || strings.Contains(strings.ToLower(msg), "approved") ||
				strings.Contains(msg, "批准") || strings.Contains(msg, "Good news") || !strings.Contains(out["next_step"].(string), "declined all the same") {
				t.Errorf("%v: %v", with, out)
			}
		}
	}
	// The Issuing approvals say how money comes back: not by us.
	out, _, _ := p.Execute("explain_decline", map[string]any{"issuing_reason": "webhook_approved"})
	if next := out["next_step"].(string); !strings.Contains(next, "cannot refund an authorization") || !strings.Contains(next, "dispute") {
		t.Errorf("webhook_approved: %s", next)
	}
}

// TestProcessingErrorIsRetriedFirst: processing_error (and ISO 96) is
// usually a temporary issuer or network fault: the first time the
// customer retries and nobody is blamed; when the same payment fails with
// it again, engineering looks.
func TestProcessingErrorIsRetriedFirst(t *testing.T) {
	p := start(t, nil)
	for _, with := range []map[string]any{
		{"decline_code": "processing_error", "failure_code": "processing_error"},
		{"failure_code": "processing_error"},
		{"iso_code": "96"},
	} {
		for _, lang := range []string{"en", "zh"} {
			with["language"], with["repeats"] = lang, 0
			first, _, err := p.Execute("explain_decline", with)
			if err != nil {
				t.Fatal(err)
			}
			if first["escalate"] != false || first["retry_ok"] != true || first["owner"] != ownCustomer || first["category"] != catProvider ||
				first["customer_message"] != msgTemporary.in(lang) || strings.Contains(first["customer_message"].(string), "our side") ||
				!strings.Contains(first["next_step"].(string), "escalate only if it repeats") {
				t.Errorf("%v, first time: %v", with, first)
			}
			with["repeats"] = 2
			again, logs, err := p.Execute("explain_decline", with)
			if err != nil {
				t.Fatal(err)
			}
			if again["escalate"] != true || again["retry_ok"] != false || again["owner"] != ownEngineering || again["category"] != catProvider ||
				again["customer_message"] != msgTemporaryAgain.in(lang) || !strings.Contains(again["next_step"].(string), "not a one-off") {
				t.Errorf("%v, repeated: %v", with, again)
			}
			if logs[0].Level != "warn" || !strings.Contains(logs[0].Message, "again: 2 earlier attempts failed the same way") {
				t.Errorf("logs %v", logs)
			}
		}
	}
	// Faults that are not temporary escalate at once, as before.
	out, _, _ := p.Execute("explain_decline", map[string]any{"issuing_reason": "webhook_timeout"})
	if out["escalate"] != true {
		t.Errorf("webhook_timeout: %v", out)
	}
}

// TestAdviceDrivesRetry: Stripe's advice_code and Mastercard's merchant
// advice code (network_advice_code) decide retry_ok and, where the
// table's message would contradict them, the customer message.
func TestAdviceDrivesRetry(t *testing.T) {
	p := start(t, nil)
	for _, c := range []struct {
		name       string
		with       map[string]any
		advice     string
		after      string
		retry, fix bool
		msg        string // en; "" for the table's own
		zh         string
		next       string
	}{
		{"do_not_try_again overrides a retry", map[string]any{"decline_code": "approve_with_id", "advice_code": "do_not_try_again"},
			"do_not_try_again", "", false, false, msgDoNotRetry.en, msgDoNotRetry.zh, "Stripe's advice_code do_not_try_again"},
		{"do_not_try_again overrides top up and try again", map[string]any{"decline_code": "insufficient_funds", "advice_code": "do_not_try_again"},
			"do_not_try_again", "", false, false, msgDoNotRetry.en, msgDoNotRetry.zh, "Do not retry this card"},
		{"try_again_later on a decline without a reason", map[string]any{"decline_code": "do_not_honor", "advice_code": "try_again_later"},
			"try_again_later", "", true, false, msgTryLater.en, msgTryLater.zh, "retries later"},
		{"confirm_card_data asks for the card details", map[string]any{"decline_code": "generic_decline", "advice_code": "confirm_card_data"},
			"confirm_card_data", "", false, true, msgCardData.en, msgCardData.zh, "updates them"},
		{"MAC 25 on a Mastercard: retry after 24 hours", map[string]any{"decline_code": "do_not_honor", "network": "mastercard", "network_advice_code": "25"},
			"try_again_later", "24h", true, false,
			"Your bank couldn't approve the payment right now and asked that it not be tried again for 24 hours. Please try again after that, or use a different card now.",
			"您的银行目前无法批准这笔付款，并要求 24 小时内不要重试。请在此之后再试，或现在换一张卡付款。", "merchant advice code 25 (retry after 24 hours)"},
		{"MAC 26 after insufficient funds keeps top up, with the wait", map[string]any{"decline_code": "insufficient_funds", "network": "mastercard", "network_advice_code": "26"},
			"try_again_later", "48h", true, true, msgFunds.en + " Your bank asked that the card not be tried again for 2 days.",
			msgFunds.zh + "您的银行要求 2 天内不要再次尝试这张卡。", "no sooner than 2 days"},
		{"MAC 03: do not try again", map[string]any{"iso_code": "51", "network": "mastercard", "network_advice_code": "03"},
			"do_not_try_again", "", false, false, msgDoNotRetry.en, msgDoNotRetry.zh, "merchant advice code 03 (do not try again)"},
		{"MAC 21: the cardholder cancelled", map[string]any{"iso_code": "05", "network": "mastercard", "network_advice_code": "21"},
			"do_not_try_again", "", false, false, "", "", "payment cancellation"},
		{"MAC 01: new card details", map[string]any{"iso_code": "79", "network": "mastercard", "network_advice_code": "01"},
			"confirm_card_data", "", false, true, "", "", "new account information available"},
		{"the stricter advice wins", map[string]any{"decline_code": "do_not_honor", "advice_code": "try_again_later", "network": "mastercard", "network_advice_code": "03"},
			"do_not_try_again", "", false, false, msgContactBank.en, msgContactBank.zh, "Stripe's advice_code try_again_later; Mastercard's merchant advice code 03"},
		{"a merchant advice code on a Visa is not read", map[string]any{"decline_code": "do_not_honor", "network": "visa", "network_advice_code": "03"},
			"", "", false, false, msgContactBank.en, msgContactBank.zh, ""},
		{"an advice code Stripe does not document is not read", map[string]any{"decline_code": "approve_with_id", "advice_code": "maybe_later"},
			"", "", true, false, msgRetryThenBank.en, msgRetryThenBank.zh, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, lang := range []string{"en", "zh"} {
				c.with["language"] = lang
				out, _, err := p.Execute("explain_decline", c.with)
				if err != nil {
					t.Fatal(err)
				}
				if out["advice"] != c.advice || out["retry_after"] != c.after || out["retry_ok"] != c.retry || out["user_can_fix"] != c.fix {
					t.Errorf("%s: advice %v after %v retry_ok %v user_can_fix %v", lang, out["advice"], out["retry_after"], out["retry_ok"], out["user_can_fix"])
				}
				want := map[string]string{"en": c.msg, "zh": c.zh}[lang]
				if want != "" && out["customer_message"] != want {
					t.Errorf("%s: message %q\nwant %q", lang, out["customer_message"], want)
				}
				if next := out["next_step"].(string); c.next != "" && !strings.Contains(next, c.next) || c.next == "" && strings.Contains(next, "Advice (") {
					t.Errorf("%s: next step %q, want it to say %q", lang, next, c.next)
				}
			}
		})
	}
}
