package main

// Customer messages of the Issuing table: the customer used one of our
// own cards at a merchant, and we (through Stripe Issuing) said no.
var (
	msgIssuingSpending = message{
		en: "This purchase goes over a spending limit set on your card. You can change your limits in the app's card settings, then try again.",
		zh: "这笔消费超出了您卡片设置的消费限额。您可以在 App 的卡片设置中调整限额，然后再试一次。",
	}
	msgIssuingFunds = message{
		en: "Your balance wasn't enough to cover this purchase. Please top up your balance in the app and try again.",
		zh: "您的余额不足以支付这笔消费。请在 App 中充值后再试一次。",
	}
	msgIssuingInactive = message{
		en: "Your card isn't activated yet. Please activate it in the app, then try the purchase again.",
		zh: "您的卡尚未激活。请先在 App 中激活卡片，然后重新付款。",
	}
	msgIssuingCanceled = message{
		en: "This card has been cancelled and can't be used any more. You can order a new card in the app.",
		zh: "这张卡已被注销，无法继续使用。您可以在 App 中申请一张新卡。",
	}
	msgIssuingExpired = message{
		en: "This card has expired. You can order a replacement card in the app.",
		zh: "这张卡已过期。您可以在 App 中申请补发新卡。",
	}
	msgIssuingPaused = message{
		en: "Card payments are paused on your account for now. Our support team will contact you about the next steps.",
		zh: "您账户的刷卡功能目前已暂停。我们的客服团队会与您联系，告知后续步骤。",
	}
	msgIssuingVerify = message{
		en: "We need to verify your identity before you can use your card. Please complete the verification in the app, then try again.",
		zh: "在使用卡片前，我们需要核实您的身份。请在 App 中完成身份验证后再试一次。",
	}
	msgIssuingInsecure = message{
		en: "For your security, this way of paying isn't allowed with your card (for example swiping the magnetic stripe). Please insert the card, pay contactless, or confirm the payment if you pay online.",
		zh: "为了您的账户安全，您的卡不支持这种付款方式（例如刷磁条）。请改用插卡或非接触式支付；如果是网上付款，请完成付款确认。",
	}
	msgIssuingNotAllowed = message{
		en: "This type of purchase isn't supported with your card. Please use another payment method for it.",
		zh: "您的卡不支持此类消费。请使用其他付款方式。",
	}
	msgIssuingPINBlocked = message{
		en: "Your PIN is locked after too many incorrect attempts. You can unlock it in the app.",
		zh: "由于 PIN 码输错次数过多，您的 PIN 码已被锁定。您可以在 App 中解锁。",
	}
	msgIssuingFraud = message{
		en: "For your security, we declined this payment because it looked unusual. Our team is reviewing it and will contact you if we need anything from you.",
		zh: "为保障您的账户安全，由于这笔付款看起来存在异常，我们拒绝了它。我们的团队正在审核，如需您提供信息，我们会主动联系您。",
	}
	msgIssuingDetails = message{
		en: "The card details entered (security code, expiry date or billing address) didn't match. Please check them in the app, enter them exactly, and try again.",
		zh: "输入的卡片信息（安全码、有效期或账单地址）不匹配。请在 App 中核对后准确输入，然后再试一次。",
	}
	msgIssuingDeclined = message{
		en: "We declined this card payment. We're checking the exact reason and will get back to you shortly.",
		zh: "这笔刷卡付款被我们拒绝了。我们正在核实具体原因，会尽快回复您。",
	}
	msgIssuingOurSide = message{
		en: "Your card payment was declined because of a technical problem on our side, not because of your card or your balance. Our team is on it; please try again in a few minutes.",
		zh: "由于我们这边的技术问题，您的刷卡付款被拒绝了，并非您的卡片或余额有问题。我们的团队正在处理，请过几分钟再试。",
	}
)

// nextApprovedRefund is what an approved authorization of our card
// means for a refund: we are the issuer, and cannot refund it.
const nextApprovedRefund = "We are the card's issuer: we cannot refund an authorization. The money comes back by the merchant's refund (or, while it is pending, the merchant's reversal); " +
	"once it is captured and the merchant refuses, by an Issuing dispute (a dispute is for captured transactions, not authorizations)."

// issuingReasons are the reasons of an Issuing authorization's
// request_history (every value of issuing_authorization_request.reason in
// Stripe's OpenAPI spec), by reason.
var issuingReasons = map[string]explanation{
	"account_disabled": ex(catPlatform, ownEngineering, 0, msgIssuingOurSide,
		"Our Stripe Issuing account is disabled: every card payment is declined. Escalate to payments engineering at once."),
	"card_active": ex(catApproved, ownSupport, 0, msgHolding,
		"Stripe approved it because the card is active: the decline the customer saw happened elsewhere (merchant, later reversal); check the authorization's status and transactions. "+nextApprovedRefund),
	"card_canceled": ex(catCardStatus, ownCustomer, fix, msgIssuingCanceled,
		"The card is canceled: the customer orders a new card in the app (check why it was canceled first: lost, stolen, closed account)."),
	"card_expired": ex(catCardStatus, ownCustomer, fix, msgIssuingExpired,
		"The card has expired: the customer orders a replacement in the app; check whether one was already shipped."),
	"card_inactive": ex(catCardStatus, ownCustomer, fix, msgIssuingInactive,
		"The card is not active yet (or was paused): the customer activates it in the app. If they did, check the card's status in the Issuing dashboard."),
	"cardholder_blocked": ex(catRisk, ownRisk, 0, msgIssuingPaused,
		"The cardholder is blocked (compliance or risk): do not promise anything; hand the ticket to the risk team."),
	"cardholder_inactive": ex(catCardStatus, ownSupport, 0, msgIssuingPaused,
		"The cardholder is inactive: check the cardholder's status and why it changed (closed account, compliance) before replying."),
	"cardholder_verification_required": ex(catCardStatus, ownCustomer, fix, msgIssuingVerify,
		"The cardholder has outstanding identity verification (KYC) requirements: the customer completes them in the app."),
	"insecure_authorization_method": ex(catAuthentication, ownCustomer, fix, msgIssuingInsecure,
		"Declined because of an insecure method (magnetic stripe, no 3-D Secure, fallback): the customer pays by chip, contactless, or online with confirmation."),
	"insufficient_funds": ex(catFunds, ownCustomer, fix, msgIssuingFunds,
		"The balance funding the card did not cover the amount: the customer tops up. If their balance did cover it, the platform's Issuing balance ran dry: escalate to payments engineering."),
	"network_fallback": ex(catProvider, ownEngineering, retry, msgIssuingOurSide,
		"Stripe was unavailable and the card network decided in its place (stand-in): escalate to payments engineering with the authorization id; the customer can try again."),
	"not_allowed": ex(catLimits, ownSupport, 0, msgIssuingNotAllowed,
		"This kind of transaction is not allowed on our card program (merchant category or type): the customer uses another payment method."),
	"pin_blocked": ex(catAuthentication, ownCustomer, fix, msgIssuingPINBlocked,
		"The PIN is blocked after too many wrong tries: the customer unlocks it in the app (or support resets it)."),
	"spending_controls": ex(catLimits, ownCustomer, fix, msgIssuingSpending,
		"A spending control (amount limit or blocked merchant category) declined it: the customer changes their limits in the app; check which control matched in the Issuing dashboard."),
	"stripe_internal_error": ex(catProvider, ownEngineering, retry, msgIssuingOurSide,
		"Stripe failed internally while deciding: escalate to payments engineering with the authorization id; the customer can try again."),
	"suspected_fraud": ex(catRisk, ownRisk, 0, msgIssuingFraud,
		"Stripe's or our fraud checks declined it: hand it to the risk team; do not tell the customer which check matched."),
	"verification_failed": ex(catCardDetails, ownCustomer, fix, msgIssuingDetails,
		"A verification check failed (CVC, expiry, address or 3-D Secure): the customer re-enters the card details exactly as in the app."),
	"webhook_approved": ex(catApproved, ownSupport, 0, msgHolding,
		"Our authorization webhook approved it: the decline the customer saw happened elsewhere (merchant, later reversal); check the authorization's status and transactions. "+nextApprovedRefund),
	"webhook_declined": ex(catIssuer, ownSupport, 0, msgIssuingDeclined,
		"Our own authorization service declined it: read its decision log for this authorization id to find the reason (balance, risk rule, limit)."),
	"webhook_error": ex(catPlatform, ownEngineering, retry, msgIssuingOurSide,
		"Our authorization webhook answered with an error, so Stripe declined: escalate to payments engineering with the authorization id and time."),
	"webhook_timeout": ex(catPlatform, ownEngineering, retry, msgIssuingOurSide,
		"Our authorization webhook did not answer Stripe in time (2s), so Stripe declined: escalate to payments engineering with the authorization id and time."),
}
