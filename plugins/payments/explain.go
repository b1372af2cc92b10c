package main

import (
	"context"
	"strings"

	"github.com/stewardhq/steward/plugins/sdk"
)

// ExplainInput is the with of payments.explain_decline. Give what the
// lookup found; the most specific code wins.
type ExplainInput struct {
	DeclineCode   string `json:"decline_code,omitempty" pattern:"^[a-z_]{0,64}$" desc:"Stripe's decline code (get_payment's failure.decline_code)"`
	FailureCode   string `json:"failure_code,omitempty" pattern:"^[a-z_]{0,64}$" desc:"Stripe's error code (get_payment's failure.code)"`
	IssuingReason string `json:"issuing_reason,omitempty" pattern:"^[a-z_]{0,64}$" desc:"an Issuing authorization's decline_reason"`
	IsoCode       string `json:"iso_code,omitempty" pattern:"^([0-9A-Z]{2})?$" desc:"an ISO 8583 response code such as 51 (failure.network_decline_code, or an authorization's iso_code)"`
	Network       string `json:"network,omitempty" pattern:"^[a-z_]{0,32}$" desc:"the card's network (card.brand): visa, mastercard...; it decides what iso_code means where the networks differ (70, 78, 79, 82, 83) and whether network_advice_code is read"`
	AdviceCode    string `json:"advice_code,omitempty" pattern:"^[a-z_]{0,64}$" desc:"Stripe's advice_code (failure.advice_code): confirm_card_data, do_not_try_again or try_again_later"`
	// NetworkAdviceCode is read as Mastercard's merchant advice code.
	NetworkAdviceCode string `json:"network_advice_code,omitempty" pattern:"^([0-9A-Z]{1,2})?$" desc:"the network's advice code (failure.network_advice_code), read as Mastercard's merchant advice code for a Mastercard"`
	Repeats           int    `json:"repeats,omitempty" min:"0" desc:"how many earlier attempts of the same payment failed with the same codes: a temporary error (processing_error, 96) is escalated when it repeats"`
	Language          string `json:"language,omitempty" enum:"en,zh" desc:"the customer message's language: en (default) or zh (Simplified Chinese)"`
}

// Explanation is what payments.explain_decline returns.
type Explanation struct {
	Known           bool   `json:"known" desc:"false when no code given is in the tables"`
	Source          string `json:"source" enum:"stripe,issuing,iso8583,none" desc:"the table the code is from"`
	Code            string `json:"code" desc:"the code explained"`
	Category        string `json:"category" enum:"funds,card_details,authentication,limits,risk,issuer,card_status,provider,platform,approved,unknown"`
	UserCanFix      bool   `json:"user_can_fix" desc:"the customer can resolve it on their own: correct details, top up, authenticate, change a setting, use a valid card"`
	Owner           string `json:"owner" enum:"customer,issuer,risk,engineering,support" desc:"who acts next"`
	Escalate        bool   `json:"escalate" desc:"a provider or platform fault: engineering must look"`
	RetryOK         bool   `json:"retry_ok" desc:"trying the same payment again, unchanged, may work (after retry_after when given)"`
	Advice          string `json:"advice" enum:",confirm_card_data,do_not_try_again,try_again_later" desc:"the issuer's retry advice, from Stripe's advice_code or Mastercard's merchant advice code; empty when none was given"`
	RetryAfter      string `json:"retry_after" desc:"how long to wait before a retry (1h, 24h, 48h...), from a Mastercard merchant advice code; empty when not said"`
	CustomerMessage string `json:"customer_message" desc:"for the customer, in language"`
	NextStep        string `json:"next_step" desc:"for the specialist, in English"`
	Language        string `json:"language" enum:"en,zh"`
	Backend         string `json:"backend" enum:"sandbox,stripe"`
}

// Categories and owners of the tables.
const (
	catFunds          = "funds"
	catCardDetails    = "card_details"
	catAuthentication = "authentication"
	catLimits         = "limits"
	catRisk           = "risk"
	catIssuer         = "issuer"
	catCardStatus     = "card_status"
	catProvider       = "provider"
	catPlatform       = "platform"
	catApproved       = "approved"
	catUnknown        = "unknown"

	ownCustomer    = "customer"
	ownIssuer      = "issuer"
	ownRisk        = "risk"
	ownEngineering = "engineering"
	ownSupport     = "support"
)

// message is a customer message in each language.
type message struct{ en, zh string }

func (m message) in(lang string) string {
	if lang == "zh" {
		return m.zh
	}
	return m.en
}

// explanation is an entry of the tables.
type explanation struct {
	category string
	owner    string
	fix      bool // the customer can fix it on their own
	retry    bool // the same payment may work if tried again
	msg      message
	next     string // for the specialist

	// transient marks a temporary fault: a retry comes first, and it is
	// escalated only when it repeats, as repeat says.
	transient bool
	repeat    *explanation // what it means the second time; with transient
}

// escalate is true for a provider or platform fault that is not
// temporary.
func (e explanation) escalate() bool {
	return (e.category == catProvider || e.category == catPlatform) && !e.transient
}

// Flags of ex.
const (
	fix       = 1 << iota // the customer can fix it
	retry                 // trying again may work
	transient             // a temporary fault: retry first, escalate on repetition (see temporary)
)

func ex(category, owner string, flags int, msg message, next string) explanation {
	return explanation{category: category, owner: owner, fix: flags&fix != 0, retry: flags&retry != 0, transient: flags&transient != 0, msg: msg, next: next}
}

// temporary is a transient fault (first) and what it means when the same
// payment fails with it again (again).
func temporary(first, again explanation) explanation {
	first.repeat = &again
	return first
}

// Messages and next step of a temporary processing fault.
var (
	msgTemporary = message{
		en: "The payment didn't go through because of a temporary processing error between the card network and your bank, not because of your card details. Nothing was charged. Please try again in a few minutes.",
		zh: "由于卡组织与您的银行之间出现临时处理错误，这笔付款没有成功，并非您的卡片信息有误。您没有被扣款。请过几分钟再试一次。",
	}
	msgTemporaryAgain = message{
		en: "The payment failed again because of a processing error between the card network and your bank, not because of your card details. Nothing was charged. We've asked our payments team to look into it; in the meantime you can try a different card.",
		zh: "由于卡组织与您的银行之间的处理错误，这笔付款再次失败，并非您的卡片信息有误。您没有被扣款。我们已请支付团队进行核查；在此期间，您可以换一张卡付款。",
	}
)

const nextRepeated = "Escalate to payments engineering with the payment id and the time of each failed attempt: they check Stripe's status and whether one issuer or card range is failing. " +
	"The customer can use another card meanwhile; more retries of this card will not help."

// msgHolding is the customer message of a code the tables do not know.
var msgHolding = message{
	en: "We're checking why this payment didn't go through and will get back to you shortly. You don't need to do anything for now.",
	zh: "我们正在核实这笔付款未成功的原因，会尽快回复您。目前您无需进行任何操作。",
}

// explainDecline is payments.explain_decline: a pure table lookup, the
// same on both backends. The codes are tried in this order: decline_code,
// issuing_reason, iso_code, failure_code (card_declined alone says
// little); the first one the tables know is explained.
func (p *payments) explainDecline(ctx context.Context, call *sdk.Call, in ExplainInput) (Explanation, error) {
	lang := in.Language
	if lang == "" {
		lang = "en"
	}
	type candidate struct {
		field, code, source string
		lookup              func(string) (explanation, bool)
	}
	table := func(t map[string]explanation) func(string) (explanation, bool) {
		return func(c string) (explanation, bool) { e, ok := t[c]; return e, ok }
	}
	candidates := []candidate{
		{"decline_code", in.DeclineCode, "stripe", table(stripeDeclineCodes)},
		{"issuing_reason", in.IssuingReason, "issuing", table(issuingReasons)},
		{"iso_code", in.IsoCode, "iso8583", func(c string) (explanation, bool) { return isoExplanation(in.Network, c) }},
		{"failure_code", in.FailureCode, "stripe", table(stripeFailureCodes)},
	}
	var given []candidate
	for _, c := range candidates {
		if c.code != "" {
			given = append(given, c)
		}
	}
	if len(given) == 0 {
		return Explanation{}, sdk.Error(sdk.CodeInvalidInput, "with: give at least one of decline_code, issuing_reason, iso_code, failure_code")
	}
	out := Explanation{Language: lang, Backend: p.backend.name()}
	for _, c := range given {
		e, ok := c.lookup(c.code)
		if !ok {
			call.Infof("%s %s is not in the %s table", c.field, c.code, c.source)
			continue
		}
		if e.transient && in.Repeats > 0 {
			call.Warnf("%s %s again: %d earlier attempts failed the same way", c.field, c.code, in.Repeats)
			e = *e.repeat
		}
		out.Known, out.Source, out.Code = true, c.source, c.code
		out.Category, out.Owner, out.UserCanFix, out.RetryOK, out.Escalate = e.category, e.owner, e.fix, e.retry, e.escalate()
		out.CustomerMessage, out.NextStep = e.msg.in(lang), e.next
		if e.category == catApproved {
			// A code that says approved explains no decline: the customer
			// gets the holding message, never "approved".
			out.NextStep += " The payment was declined all the same: find out where (reversal, our webhook, the merchant) before replying."
		} else {
			readAdvice(call, in).apply(&out, e, lang)
		}
		call.Infof("%s %s: %s, owner %s%s", c.field, c.code, out.Category, out.Owner, map[bool]string{true: ", escalate"}[out.Escalate])
		return out, nil
	}
	var codes []string
	for _, c := range given {
		codes = append(codes, c.field+" "+c.code)
	}
	out.Source, out.Code, out.Category, out.Owner = "none", given[0].code, catUnknown, ownSupport
	out.CustomerMessage = msgHolding.in(lang)
	out.NextStep = "Unknown code (" + strings.Join(codes, ", ") + "): look the payment up in the Stripe Dashboard and read the decline there; " +
		"if Stripe documents the code, add it to plugins/payments' tables."
	call.Warnf("no table knows %s", strings.Join(codes, ", "))
	return out, nil
}
