package main

import (
	"strings"

	"github.com/stewardhq/steward/plugins/sdk"
)

// Retry advice: what the issuer, through Stripe or the card network, says
// about trying the card again. It overrides the tables' retry_ok: a retry
// against the advice costs network fees and does not work.
//
// Stripe's advice_code (charge.outcome.advice_code, an error's
// advice_code; docs.stripe.com/declines#retrying-issuer-declines) is one
// of confirm_card_data, do_not_try_again, try_again_later. The network's
// advice (network_advice_code) is read as Mastercard's merchant advice
// code when the card is a Mastercard; other networks' advice codes are
// not interpreted (Visa signals retries by its response-code categories,
// which the ISO table's next steps follow).

// Stripe's advice codes, which are also what the merchant advice codes
// are turned into.
const (
	adviceConfirmData = "confirm_card_data"
	adviceDoNotRetry  = "do_not_try_again"
	adviceTryLater    = "try_again_later"
)

// adviceRank orders advice from the least to the most binding: when
// Stripe and the network both advise, the more binding wins.
var adviceRank = map[string]int{"": 0, adviceTryLater: 1, adviceConfirmData: 2, adviceDoNotRetry: 3}

// macAdvice is one Mastercard merchant advice code.
type macAdvice struct {
	advice  string
	after   string  // how long to wait, as a duration: 1h, 24h...; "" when not said
	wait    message // after, for the customer
	meaning string  // for the specialist
}

func waitFor(after, en, zh string) macAdvice {
	return macAdvice{advice: adviceTryLater, after: after, wait: message{en: en, zh: zh}, meaning: "retry after " + en}
}

// mastercardAdvice are Mastercard's merchant advice codes (DE 48 SE 84),
// as acquirers publish them. Lists disagree on 21: most read "payment
// cancellation" (the cardholder stopped a recurring payment), Barclays
// "do not honor"; both mean do not retry.
var mastercardAdvice = map[string]macAdvice{
	"01": {advice: adviceConfirmData, meaning: "new account information available: the card was reissued or replaced; get the new card details"},
	"02": {advice: adviceTryLater, meaning: "cannot approve at this time, try again later"},
	"03": {advice: adviceDoNotRetry, meaning: "do not try again"},
	"04": {advice: adviceDoNotRetry, meaning: "token requirements not fulfilled for this token type: our tokenised request lacked what the issuer needs; tell payments engineering, do not retry it as is"},
	"21": {advice: adviceDoNotRetry, meaning: "payment cancellation: the cardholder stopped this (recurring) payment with their bank"},
	"22": {advice: adviceDoNotRetry, meaning: "merchant does not qualify for product code: our merchant setup; tell payments engineering"},
	"24": waitFor("1h", "1 hour", "1 小时"),
	"25": waitFor("24h", "24 hours", "24 小时"),
	"26": waitFor("48h", "2 days", "2 天"),
	"27": waitFor("96h", "4 days", "4 天"),
	"28": waitFor("144h", "6 days", "6 天"),
	"29": waitFor("192h", "8 days", "8 天"),
	"30": waitFor("240h", "10 days", "10 天"),
}

var (
	msgDoNotRetry = message{
		en: "Your bank declined this payment and asked that this card not be tried again for it. Please use a different card or payment method, or contact your bank.",
		zh: "您的银行拒绝了这笔付款，并要求不要再用这张卡重试。请换一张卡或使用其他付款方式，或联系您的银行。",
	}
	msgTryLater = message{
		en: "Your bank couldn't approve the payment right now. Please try again later; if it's declined again, contact your bank or use a different card.",
		zh: "您的银行目前无法批准这笔付款。请稍后再试；如果仍被拒绝，请联系您的银行或换一张卡。",
	}
	// msgWaitNote follows a message that says what the customer fixes
	// first (top up, ask their bank): {wait} is how long.
	msgWaitNote = message{
		en: " Your bank asked that the card not be tried again for {wait}.",
		zh: "您的银行要求 {wait}内不要再次尝试这张卡。",
	}
	// msgTryLaterAfter has {wait}: how long, from macAdvice.wait.
	msgTryLaterAfter = message{
		en: "Your bank couldn't approve the payment right now and asked that it not be tried again for {wait}. Please try again after that, or use a different card now.",
		zh: "您的银行目前无法批准这笔付款，并要求 {wait}内不要重试。请在此之后再试，或现在换一张卡付款。",
	}
)

// retryAdvice is the advice read from a decline's codes.
type retryAdvice struct {
	advice string   // adviceConfirmData, adviceDoNotRetry, adviceTryLater, or ""
	after  string   // a wait, as a duration; "" when not said
	wait   message  // after, for the customer
	says   []string // who said what, for the specialist
}

// readAdvice reads Stripe's advice code and the network's advice code.
// A code it does not know is logged and left out.
func readAdvice(call *sdk.Call, in ExplainInput) retryAdvice {
	var a retryAdvice
	if c := in.AdviceCode; c != "" {
		if _, ok := adviceRank[c]; ok {
			a.advice = c
			a.says = append(a.says, "Stripe's advice_code "+c)
		} else {
			call.Warnf("advice_code %s is not one Stripe documents: not used", c)
		}
	}
	if c := in.NetworkAdviceCode; c != "" {
		m, ok := mastercardAdvice[c]
		switch {
		case in.Network != "mastercard":
			call.Infof("network_advice_code %s not interpreted: merchant advice codes are read for Mastercard only (network %q)", c, in.Network)
		case !ok:
			call.Warnf("Mastercard merchant advice code %s is not in the table: not used", c)
		default:
			a.says = append(a.says, "Mastercard's merchant advice code "+c+" ("+m.meaning+")")
			if adviceRank[m.advice] > adviceRank[a.advice] {
				a.advice = m.advice
			}
			if m.after != "" && a.advice == adviceTryLater {
				a.after, a.wait = m.after, m.wait
			}
		}
	}
	return a
}

// apply makes the advice drive out's retry advice: retry_ok, and the
// customer message when the table's would contradict it. e is the entry
// explained.
func (a retryAdvice) apply(out *Explanation, e explanation, lang string) {
	out.Advice, out.RetryAfter = a.advice, a.after
	if a.advice == "" {
		return
	}
	var next string
	switch a.advice {
	case adviceDoNotRetry:
		out.RetryOK = false
		// A message that invites trying the same card again is wrong now;
		// one that already says another card or the bank stays.
		if e.retry || e.fix {
			out.CustomerMessage = msgDoNotRetry.in(lang)
			out.UserCanFix = false
		}
		next = "Do not retry this card for this payment: a retry against the advice costs network fees and will be declined. The customer uses another card or calls their bank."
	case adviceConfirmData:
		out.RetryOK, out.UserCanFix, out.Owner = false, true, ownCustomer
		if e.category != catCardDetails && e.category != catCardStatus {
			out.CustomerMessage = msgCardData.in(lang)
		}
		next = "The card details are out of date or wrong: the customer updates them (new card, expiry date) and then retries; an unchanged retry fails."
	case adviceTryLater:
		out.RetryOK = true
		switch {
		case a.after != "" && e.fix:
			// Top up, ask the bank...: that stays, with the wait.
			out.CustomerMessage += strings.ReplaceAll(msgWaitNote.in(lang), "{wait}", a.wait.in(lang))
			next = "Retry no sooner than " + a.wait.en + " after the decline; sooner costs network fees and is declined."
		case a.after != "":
			out.CustomerMessage = strings.ReplaceAll(msgTryLaterAfter.in(lang), "{wait}", a.wait.in(lang))
			next = "Retry no sooner than " + a.wait.en + " after the decline; sooner costs network fees and is declined."
		case !e.retry && !e.fix:
			out.CustomerMessage = msgTryLater.in(lang)
			next = "The issuer may approve it later: the customer retries later (not right away), or uses another card."
		default:
			next = "The issuer may approve it later: a retry later is fine."
		}
	}
	out.NextStep += " Advice (" + strings.Join(a.says, "; ") + "): " + next
}
