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
	msgIssuingApproved = message{
		en: "Good news: we approved this card payment. If the merchant still says it failed, please send us the receipt or a screenshot and we'll look into it.",
		zh: "好消息：我们已批准这笔刷卡付款。如果商户仍显示付款失败，请把收据或截图发给我们，我们会进一步核查。",
	}
)

// issuingReasons are the reasons of an Issuing authorization's
// request_history (every value of issuing_authorization_request.reason in
// Stripe's OpenAPI spec), by reason.
var issuingReasons = map[string]explanation{
	"account_disabled": ex(catPlatform, ownEngineering, 0, msgIssuingOurSide,
		"Our Stripe Issuing account is disabled: every card payment is declined. Escalate to payments engineering at once."),
	"card_active": ex(catApproved, ownSupport, 0, msgIssuingApproved,
		"Stripe approved it because the card is active: the decline the customer saw happened elsewhere (merchant, later reversal); check the authorization's status and transactions."),
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
	"webhook_approved": ex(catApproved, ownSupport, 0, msgIssuingApproved,
		"Our authorization webhook approved it: the decline the customer saw happened elsewhere (merchant, later reversal); check the authorization's status and transactions."),
	"webhook_declined": ex(catIssuer, ownSupport, 0, msgIssuingDeclined,
		"Our own authorization service declined it: read its decision log for this authorization id to find the reason (balance, risk rule, limit)."),
	"webhook_error": ex(catPlatform, ownEngineering, retry, msgIssuingOurSide,
		"Our authorization webhook answered with an error, so Stripe declined: escalate to payments engineering with the authorization id and time."),
	"webhook_timeout": ex(catPlatform, ownEngineering, retry, msgIssuingOurSide,
		"Our authorization webhook did not answer Stripe in time (2s), so Stripe declined: escalate to payments engineering with the authorization id and time."),
}

// isoCodes are the common ISO 8583 response codes (field 39), by code.
var isoCodes = map[string]explanation{
	"00": ex(catApproved, ownSupport, 0, msgApproved, "Approved by the issuer: the failure is not an issuer decline; look at what happened after (capture, reversal, our own error)."),
	"01": ex(catIssuer, ownIssuer, 0, msgContactBank, "Refer to card issuer: "+nextContactBank),
	"02": ex(catIssuer, ownIssuer, 0, msgContactBank, "Refer to card issuer, special condition: "+nextContactBank),
	"03": ex(catProvider, ownEngineering, 0, msgOurSide, "Invalid merchant: the issuer does not accept our merchant setup. "+nextOurSide),
	"04": ex(catCardStatus, ownIssuer, 0, msgContactBank, "Pick up card. "+nextDontReveal),
	"05": ex(catIssuer, ownIssuer, 0, msgContactBank, "Do not honor: "+nextContactBank),
	"06": ex(catIssuer, ownIssuer, retry, msgRetryThenBank, "Error at the issuer: retry once; then the customer calls their bank."),
	"07": ex(catCardStatus, ownIssuer, 0, msgContactBank, "Pick up card, special condition (suspected fraud). "+nextDontReveal),
	"08": ex(catApproved, ownSupport, 0, msgApproved, "Honour with identification: approved; look at what happened after."),
	"10": ex(catApproved, ownSupport, 0, msgApproved, "Partial approval: the issuer approved less than asked; check the captured amount."),
	"12": ex(catIssuer, ownIssuer, 0, msgNotSupported, "Invalid transaction: the issuer refuses this kind of transaction on the card; the customer asks their bank or uses another card."),
	"13": ex(catIssuer, ownIssuer, 0, msgAmount, "Invalid amount: check the amount; the customer asks their bank about limits."),
	"14": ex(catCardDetails, ownCustomer, fix, msgNumber, "Invalid card number: the customer re-enters it or uses another card."),
	"15": ex(catCardDetails, ownCustomer, fix, msgNumber, "No such issuer: the card number is wrong; the customer re-enters it or uses another card."),
	"19": ex(catIssuer, ownIssuer, retry, msgRetryThenBank, "Re-enter transaction: retry once; then the customer calls their bank."),
	"30": ex(catProvider, ownEngineering, 0, msgOurSide, "Format error: the authorization message was malformed. "+nextOurSide),
	"39": ex(catIssuer, ownIssuer, 0, msgNotSupported, "No credit account: the card cannot be used as credit; the customer uses another card."),
	"41": ex(catCardStatus, ownIssuer, 0, msgContactBank, "Lost card. "+nextDontReveal),
	"43": ex(catCardStatus, ownIssuer, 0, msgContactBank, "Stolen card. "+nextDontReveal),
	"46": ex(catCardStatus, ownIssuer, 0, msgAccount, "Closed account: the customer contacts their bank or adds a new card."),
	"51": ex(catFunds, ownCustomer, fix, msgFunds, "Insufficient funds: the customer tops up or uses another card."),
	"52": ex(catIssuer, ownIssuer, 0, msgNotSupported, "No checking account: the customer uses another card."),
	"53": ex(catIssuer, ownIssuer, 0, msgNotSupported, "No savings account: the customer uses another card."),
	"54": ex(catCardStatus, ownCustomer, fix, msgExpired, "Expired card: the customer adds a valid card or updates the expiry date."),
	"55": ex(catAuthentication, ownCustomer, fix, msgPIN, "Incorrect PIN: "+nextPIN),
	"57": ex(catIssuer, ownIssuer, 0, msgNotSupported, "Transaction not permitted to cardholder: the customer enables it with their bank or uses another card."),
	"58": ex(catIssuer, ownIssuer, 0, msgNotSupported, "Transaction not permitted to terminal: the issuer refuses this merchant type for the card; if many customers hit it, tell payments engineering."),
	"59": ex(catRisk, ownIssuer, 0, msgContactBank, "Suspected fraud at the issuer. "+nextDontReveal),
	"61": ex(catLimits, ownIssuer, 0, msgLimit, "Exceeds amount limit: the customer asks their bank to raise it, waits, or uses another card."),
	"62": ex(catCardStatus, ownIssuer, 0, msgNotSupported, "Restricted card (region or usage restriction): the customer asks their bank or uses another card."),
	"63": ex(catIssuer, ownIssuer, 0, msgContactBank, "Security violation: "+nextContactBank),
	"65": ex(catLimits, ownIssuer, 0, msgLimit, "Exceeds frequency limit (Mastercard also uses 65 for a missing SCA: check for authentication_required): the customer waits or asks their bank."),
	"75": ex(catAuthentication, ownIssuer, 0, msgPINTries, "PIN tries exceeded: the customer's bank must unlock the PIN."),
	"78": ex(catCardStatus, ownCustomer, fix, msgActivate, "Blocked, first used: the card has not been activated; the customer activates it with their bank."),
	"82": ex(catCardDetails, ownCustomer, fix, msgCVC, "CVV check failed (Visa): the customer re-enters the security code."),
	"85": ex(catApproved, ownSupport, 0, msgApproved, "No reason to decline (an account check passed): the decline came from elsewhere."),
	"91": ex(catIssuer, ownIssuer, retry, msgBankUnavailable, "Issuer or switch inoperative: retry in a few minutes; if many customers of one bank are hit, tell payments engineering."),
	"92": ex(catProvider, ownEngineering, retry, msgOurSide, "The network could not route the authorization: retry later; "+nextOurSide),
	"93": ex(catIssuer, ownIssuer, 0, msgContactBank, "Violation of law: the issuer may not approve it; "+nextContactBank),
	"94": ex(catIssuer, ownSupport, 0, msgDuplicate, "Duplicate transmission: check whether the first payment went through before anyone retries."),
	"96": ex(catProvider, ownEngineering, retry, msgOurSide, "System malfunction: retry later; "+nextOurSide),
	"1A": ex(catAuthentication, ownCustomer, fix|retry, msgAuthenticate, "Additional customer authentication required (Visa SCA): "+nextAuth),
	"N7": ex(catCardDetails, ownCustomer, fix, msgCVC, "CVV2 mismatch (Visa): the customer re-enters the security code."),
	"R0": ex(catIssuer, ownIssuer, 0, msgRevoked, "Stop payment order (Visa): never retry; only the customer can lift it with their bank."),
	"R1": ex(catIssuer, ownIssuer, 0, msgRevoked, "Revocation of authorization order (Visa): never retry; only the customer can lift it with their bank."),
	"R3": ex(catIssuer, ownIssuer, 0, msgRevoked, "Revocation of all authorizations order (Visa): never retry; only the customer can lift it with their bank."),
}
