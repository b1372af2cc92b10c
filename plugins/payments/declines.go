package main

// Customer messages of the Stripe and ISO 8583 tables: a customer paid us
// with their own card, and their bank (the issuer) or Stripe said no. The
// messages never say fraud, lost or stolen: like Stripe advises, those get
// the message of a decline without a reason.
var (
	msgFunds = message{
		en: "Your bank declined the payment because there weren't enough funds available on the card. Please top up the account or use a different card, then try again.",
		zh: "由于卡内可用余额不足，您的银行拒绝了这笔付款。请先充值或换一张卡，然后再试一次。",
	}
	msgContactBank = message{
		en: "Your bank declined the payment and didn't tell us why. Please call your bank (the number is on the back of your card) and ask them to allow it, or use a different card.",
		zh: "您的银行拒绝了这笔付款，但没有告诉我们原因。请拨打卡背面的客服电话联系银行，请他们放行这笔交易，或者换一张卡支付。",
	}
	msgRetryThenBank = message{
		en: "Your bank couldn't approve the payment this time. Please try again; if it's declined again, contact your bank or use a different card.",
		zh: "您的银行这次未能批准这笔付款。请再试一次；如果仍被拒绝，请联系您的银行或换一张卡。",
	}
	msgGeneric = message{
		en: "We couldn't complete the payment with this card. Please try a different card or another payment method.",
		zh: "这张卡暂时无法完成付款。请换一张卡或使用其他付款方式。",
	}
	msgCVC = message{
		en: "The security code (CVC) didn't match. Please check the 3-digit code on the back of your card (4 digits on the front for American Express) and try again.",
		zh: "安全码（CVC）不正确。请核对卡背面的 3 位数安全码（美国运通卡为正面的 4 位数）后重试。",
	}
	msgNumber = message{
		en: "The card number doesn't look right. Please check it and enter it again, or use a different card.",
		zh: "卡号有误。请核对后重新输入，或换一张卡。",
	}
	msgExpiry = message{
		en: "The expiry date doesn't match the card. Please check the month and year printed on the card and try again.",
		zh: "有效期与卡片不符。请核对卡面上印的月份和年份后重试。",
	}
	msgExpired = message{
		en: "This card has expired. Please add a card that is still valid, or update the expiry date if your bank has sent you a new card.",
		zh: "这张卡已过期。请添加一张仍在有效期内的卡；如果银行已给您寄来新卡，请更新有效期。",
	}
	msgAddress = message{
		en: "The billing address or postal code didn't match what your bank has on file. Please enter it exactly as it appears on your bank statement and try again.",
		zh: "账单地址或邮政编码与银行登记的信息不一致。请按照银行对账单上的信息准确填写后重试。",
	}
	msgPIN = message{
		en: "The PIN was incorrect. Please try again with the right PIN.",
		zh: "PIN 码不正确。请输入正确的 PIN 码后重试。",
	}
	msgPINTries = message{
		en: "The PIN was entered incorrectly too many times, so your bank has blocked PIN payments for now. Please contact your bank to unlock it.",
		zh: "PIN 码输错次数过多，银行已暂时锁定 PIN 支付。请联系您的银行解锁。",
	}
	msgPINRequired = message{
		en: "Your bank requires your PIN for this payment. Please insert the card in the card reader and enter your PIN.",
		zh: "您的银行要求这笔付款输入 PIN 码。请将卡插入读卡器并输入 PIN 码完成支付。",
	}
	msgAuthenticate = message{
		en: "Your bank needs you to confirm this payment (for example in your banking app or with a code sent by text message). Please try again and complete the confirmation step when it appears.",
		zh: "您的银行需要您确认这笔付款（例如在手机银行 App 中确认，或输入短信验证码）。请重新付款，并在出现验证步骤时完成确认。",
	}
	msgMobileAuth = message{
		en: "Your bank needs you to confirm this payment on your phone. Please tap your phone again and follow the prompt.",
		zh: "您的银行需要您在手机上确认这笔付款。请再次用手机靠近读卡器，并按照提示完成确认。",
	}
	msgBankUnavailable = message{
		en: "We couldn't reach your bank to approve the payment, and nothing was charged. Please try again in a few minutes.",
		zh: "我们暂时无法联系到您的银行来确认这笔付款，您没有被扣款。请过几分钟再试。",
	}
	msgOurSide = message{
		en: "The payment didn't go through because of a technical problem on our side, not because of your card. Nothing was charged; our team is looking into it and you can try again a little later.",
		zh: "由于我们这边的技术问题，这笔付款没有成功，并非您的卡有问题。您没有被扣款，我们的团队正在处理，请稍后再试。",
	}
	msgLimit = message{
		en: "The payment goes over a spending or transaction limit on your card. Please ask your bank to raise the limit, wait until it resets, or use a different card.",
		zh: "这笔付款超出了您卡片的消费额度或交易次数限制。请联系银行提高额度、等额度恢复后再试，或换一张卡。",
	}
	msgNotSupported = message{
		en: "Your card can't be used for this type of payment. Please ask your bank to enable online or international payments, or use a different card.",
		zh: "您的卡不支持这类付款。请联系银行开通网上支付或境外支付功能，或换一张卡。",
	}
	msgCurrency = message{
		en: "Your card doesn't support payments in this currency. Please use a different card.",
		zh: "您的卡不支持该币种的付款。请换一张卡。",
	}
	msgDuplicate = message{
		en: "An identical payment went through just before this one, so the repeat was declined. Please check your statement before trying again, so that you aren't charged twice.",
		zh: "刚才已有一笔相同的付款成功，因此这笔重复付款被拒绝了。请先查看账单确认，避免重复扣款。",
	}
	msgAmount = message{
		en: "Your bank didn't accept the amount of this payment. Please check with your bank, or try a smaller amount.",
		zh: "您的银行不接受这笔付款的金额。请向银行核实，或尝试较小的金额。",
	}
	msgAccount = message{
		en: "Your bank says this card, or the account behind it, can no longer be used. If you've received a new card, please add it; otherwise contact your bank.",
		zh: "银行表示这张卡或其关联账户已无法使用。如果您已收到新卡，请添加新卡；否则请联系您的银行。",
	}
	msgRevoked = message{
		en: "Your bank has stopped payments to us from this card, usually at the cardholder's request. To continue, please ask your bank to lift the stop, or use a different card.",
		zh: "您的银行已停止这张卡向我们付款，这通常是应持卡人要求设置的。如需继续，请联系银行解除限制，或换一张卡。",
	}
	msgActivate = message{
		en: "Your card hasn't been activated yet. Please activate it with your bank (usually in their app), then try again.",
		zh: "您的卡尚未激活。请先通过银行（通常在银行 App 中）激活卡片，然后再试一次。",
	}
	msgTestCard = message{
		en: "This card number is only for testing and can't be used for real payments. Please use your own card.",
		zh: "这个卡号仅用于测试，不能用于真实付款。请使用您自己的银行卡。",
	}
	msgCardRateLimited = message{
		en: "This card was declined several times in a row, so it's temporarily blocked for payments with us. Please wait 24 hours or use a different card.",
		zh: "这张卡连续多次被拒，因此暂时无法在我们这里付款。请等待 24 小时后再试，或换一张卡。",
	}
)

// Next steps shared by several codes.
const (
	nextContactBank = "The issuer gave no reason: the customer must call their bank (with amount, date and merchant name) or use another card; Stripe knows nothing more."
	nextDontReveal  = "Treat as a decline without a reason towards the customer: do not mention lost, stolen or fraud. Do not retry the card; the customer calls their bank or uses another card."
	nextPIN         = "Card-present only: the customer retries at the terminal with the card's PIN (chip and PIN)."
	nextAuth        = "The issuer wants 3-D Secure / SCA: have the customer retry on-session (in the app) so that the authentication step runs; an off-session charge cannot pass."
	nextOurSide     = "Provider-side failure, not the customer's: escalate to payments engineering with the payment id and the time, and tell the customer it was not their card."
)

// stripeDeclineCodes are Stripe's card decline codes
// (docs.stripe.com/declines/codes), by code.
var stripeDeclineCodes = map[string]explanation{
	"authentication_required":    ex(catAuthentication, ownCustomer, fix|retry, msgAuthenticate, nextAuth),
	"authentication_not_handled": ex(catAuthentication, ownCustomer, fix|retry, msgAuthenticate, "The issuer asked for authentication and the payment went on without it: retry on-session so that 3-D Secure runs. If it keeps happening on our checkout, tell payments engineering."),
	"approve_with_id":            ex(catIssuer, ownIssuer, retry, msgRetryThenBank, "The issuer could not authorize it this time: one retry is fine; if it is declined again the customer calls their bank."),
	"call_issuer":                ex(catIssuer, ownIssuer, 0, msgContactBank, nextContactBank),
	"card_not_supported":         ex(catIssuer, ownIssuer, 0, msgNotSupported, "The card does not support this kind of purchase (online, international or this merchant category): the customer asks their bank or uses another card."),
	"card_velocity_exceeded":     ex(catLimits, ownIssuer, 0, msgLimit, "The customer hit a balance, credit or transaction-amount limit of their card: they ask their bank, wait for the limit to reset, or use another card."),
	"currency_not_supported":     ex(catIssuer, ownIssuer, 0, msgCurrency, "The card cannot pay in this currency: the customer uses another card."),
	"do_not_honor":               ex(catIssuer, ownIssuer, 0, msgContactBank, nextContactBank),
	"do_not_try_again":           ex(catIssuer, ownIssuer, 0, msgContactBank, "Deprecated code: the issuer says not to retry this card. The customer calls their bank or uses another card; never retry it automatically."),
	"duplicate_transaction":      ex(catIssuer, ownSupport, 0, msgDuplicate, "An identical payment (amount and card) was made moments before: list the payment's attempts and the customer's recent payments before anyone retries."),
	"expired_card":               ex(catCardStatus, ownCustomer, fix, msgExpired, "The card has expired: the customer adds a valid card or updates the expiry date of a reissued one."),
	"fraudulent":                 ex(catRisk, ownRisk, 0, msgGeneric, "Stripe (Radar) or the issuer suspects fraud. "+nextDontReveal+" Hand it to the risk team if the customer insists it was them."),
	"generic_decline":            ex(catIssuer, ownIssuer, 0, msgContactBank, "No reason given, or Radar / Adaptive Acceptance blocked it: check the outcome (risk level, seller message); otherwise the customer calls their bank or uses another card."),
	"incorrect_address":          ex(catCardDetails, ownCustomer, fix, msgAddress, "The address did not match the issuer's: the customer re-enters it exactly as on their bank statement."),
	"incorrect_cvc":              ex(catCardDetails, ownCustomer, fix, msgCVC, "Wrong CVC: the customer re-enters it. Several wrong tries in a row can trigger card_decline_rate_limit_exceeded."),
	"incorrect_number":           ex(catCardDetails, ownCustomer, fix, msgNumber, "Wrong card number: the customer re-enters it or uses another card."),
	"incorrect_pin":              ex(catAuthentication, ownCustomer, fix, msgPIN, nextPIN),
	"incorrect_zip":              ex(catCardDetails, ownCustomer, fix, msgAddress, "The postal code did not match the issuer's: the customer re-enters it exactly as their bank has it."),
	"insufficient_funds":         ex(catFunds, ownCustomer, fix, msgFunds, "Not enough funds on the card: the customer tops up or uses another card. Retrying before that only adds declines."),
	"invalid_account":            ex(catCardStatus, ownIssuer, 0, msgAccount, "The card or its account is invalid (closed, replaced): the customer contacts their bank or adds their new card."),
	"invalid_amount":             ex(catIssuer, ownIssuer, 0, msgAmount, "The issuer refused the amount (too high or not allowed): check the amount is right; the customer asks their bank about the limit."),
	"invalid_cvc":                ex(catCardDetails, ownCustomer, fix, msgCVC, "Invalid CVC: the customer re-enters it."),
	"invalid_expiry_month":       ex(catCardDetails, ownCustomer, fix, msgExpiry, "Invalid expiry month: the customer re-enters the date."),
	"invalid_expiry_year":        ex(catCardDetails, ownCustomer, fix, msgExpiry, "Invalid expiry year: the customer re-enters the date."),
	"invalid_number":             ex(catCardDetails, ownCustomer, fix, msgNumber, "Invalid card number: the customer re-enters it or uses another card."),
	"invalid_pin":                ex(catAuthentication, ownCustomer, fix, msgPIN, nextPIN),
	"issuer_not_available":       ex(catIssuer, ownIssuer, retry, msgBankUnavailable, "The issuer could not be reached: retry in a few minutes; if it persists for many customers of the same bank, tell payments engineering."),
	"lost_card":                  ex(catCardStatus, ownIssuer, 0, msgContactBank, "The card is reported lost. "+nextDontReveal),
	"merchant_blacklist":         ex(catRisk, ownRisk, 0, msgGeneric, "The payment matched a value on our own Radar block list: the risk team decides whether to remove it. Do not tell the customer about the list."),
	"mobile_device_authentication_required": ex(catAuthentication, ownCustomer, fix|retry, msgMobileAuth,
		"Tap to pay needs the customer to authenticate on their phone: they tap again and follow the prompt."),
	"new_account_information_available": ex(catCardStatus, ownCustomer, fix, msgAccount, "The bank has new details for this card (reissued or replaced): the customer adds the new card."),
	"no_action_taken":                   ex(catIssuer, ownIssuer, 0, msgContactBank, nextContactBank),
	"not_permitted":                     ex(catIssuer, ownIssuer, 0, msgNotSupported, "The issuer does not permit this payment on the card: the customer asks their bank or uses another card."),
	"offline_pin_required":              ex(catAuthentication, ownCustomer, fix, msgPINRequired, nextPIN),
	"online_or_offline_pin_required":    ex(catAuthentication, ownCustomer, fix, msgPINRequired, nextPIN),
	"pickup_card":                       ex(catCardStatus, ownIssuer, 0, msgContactBank, "The issuer asks to retain the card (possibly lost or stolen). "+nextDontReveal),
	"pin_try_exceeded":                  ex(catAuthentication, ownIssuer, 0, msgPINTries, "Too many wrong PINs: the customer's bank must unlock the PIN."),
	"processing_error": temporary(
		ex(catProvider, ownCustomer, retry|transient, msgTemporary,
			"An error occurred while processing the card: usually a temporary fault at the issuer or the card network, sometimes Stripe. Nothing was charged: the customer retries in a few minutes; escalate only if it repeats."),
		ex(catProvider, ownEngineering, 0, msgTemporaryAgain, "processing_error again on the same payment: not a one-off. "+nextRepeated)),
	"reenter_transaction":              ex(catIssuer, ownIssuer, retry, msgRetryThenBank, "The issuer could not process it for an unknown reason: one retry is fine; then the customer calls their bank."),
	"restricted_card":                  ex(catCardStatus, ownIssuer, 0, msgContactBank, "The card is restricted (possibly reported lost or stolen). "+nextDontReveal),
	"revocation_of_all_authorizations": ex(catIssuer, ownIssuer, 0, msgRevoked, "The cardholder had their bank revoke all payments to us: never retry; only the customer can lift it with their bank."),
	"revocation_of_authorization":      ex(catIssuer, ownIssuer, 0, msgRevoked, "The cardholder had their bank revoke recurring payments to us: never retry; only the customer can lift it with their bank."),
	"security_violation":               ex(catIssuer, ownIssuer, 0, msgContactBank, nextContactBank),
	"service_not_allowed":              ex(catIssuer, ownIssuer, 0, msgNotSupported, "The issuer does not allow this service on the card: the customer asks their bank or uses another card."),
	"stolen_card":                      ex(catCardStatus, ownIssuer, 0, msgContactBank, "The card is reported stolen. "+nextDontReveal),
	"stop_payment_order":               ex(catIssuer, ownIssuer, 0, msgRevoked, "The cardholder placed a stop-payment order with their bank: never retry; only the customer can lift it."),
	"testmode_decline":                 ex(catCardDetails, ownCustomer, fix, msgTestCard, "A Stripe test card number was used in live mode: the customer must use a real card."),
	"transaction_not_allowed":          ex(catIssuer, ownIssuer, 0, msgNotSupported, "The issuer does not allow this transaction on the card (often online or cross-border): the customer enables it with their bank or uses another card."),
	"try_again_later":                  ex(catIssuer, ownIssuer, retry, msgRetryThenBank, "Deprecated code: retry once later; if it is declined again the customer calls their bank."),
	"withdrawal_count_limit_exceeded":  ex(catLimits, ownIssuer, 0, msgLimit, "The customer exceeded a balance, credit or count limit of their card: they wait for the reset, ask their bank, or use another card."),
}

// stripeFailureCodes are the Stripe error codes of failed card payments
// (a PaymentIntent's last_payment_error.code, a charge's failure_code).
// Where the code is also a decline code, the entry is the same.
var stripeFailureCodes = map[string]explanation{
	"card_declined": ex(catIssuer, ownIssuer, 0, msgContactBank,
		"card_declined alone says little: read the decline_code and network_decline_code of get_payment's failure (or the Dashboard) and explain those."),
	"expired_card":            stripeDeclineCodes["expired_card"],
	"incorrect_cvc":           stripeDeclineCodes["incorrect_cvc"],
	"incorrect_number":        stripeDeclineCodes["incorrect_number"],
	"incorrect_zip":           stripeDeclineCodes["incorrect_zip"],
	"incorrect_address":       stripeDeclineCodes["incorrect_address"],
	"invalid_cvc":             stripeDeclineCodes["invalid_cvc"],
	"invalid_expiry_month":    stripeDeclineCodes["invalid_expiry_month"],
	"invalid_expiry_year":     stripeDeclineCodes["invalid_expiry_year"],
	"invalid_number":          stripeDeclineCodes["invalid_number"],
	"insufficient_funds":      stripeDeclineCodes["insufficient_funds"],
	"processing_error":        stripeDeclineCodes["processing_error"],
	"authentication_required": stripeDeclineCodes["authentication_required"],
	"payment_intent_authentication_failure": ex(catAuthentication, ownCustomer, fix|retry, msgAuthenticate,
		"3-D Secure failed or was abandoned: the customer retries and completes their bank's confirmation step."),
	"payment_intent_payment_attempt_expired": ex(catAuthentication, ownCustomer, fix|retry, msgAuthenticate,
		"The customer did not finish the payment (authentication or redirect) in time: they start it again."),
	"card_decline_rate_limit_exceeded": ex(catLimits, ownSupport, 0, msgCardRateLimited,
		"Stripe blocks a card for 24 hours after too many declines in a row: the customer waits or uses another card. Check the attempts for a pattern (testing stolen cards?)."),
	"payment_method_provider_decline": ex(catIssuer, ownIssuer, 0, msgContactBank, nextContactBank),
	"lock_timeout": ex(catProvider, ownEngineering, retry, msgOurSide,
		"Stripe could not lock the object in time (concurrent requests): retry; "+nextOurSide),
	"rate_limit": ex(catPlatform, ownEngineering, retry, msgOurSide,
		"We sent Stripe too many requests: retry later, and tell payments engineering so that they look at our request rate."),
	"api_key_expired": ex(catPlatform, ownEngineering, 0, msgOurSide,
		"Our Stripe API key has expired: escalate to payments engineering at once, every payment fails until the key is rotated."),
	"testmode_charges_only": ex(catPlatform, ownEngineering, 0, msgOurSide,
		"Our Stripe account cannot take live charges (activation incomplete or a test key in production): escalate to payments engineering at once."),
	"charge_expired_for_capture": ex(catPlatform, ownEngineering, 0, msgOurSide,
		"The authorization expired before we captured it (7 days): our capture did not run; escalate to payments engineering."),
	"testmode_decline": stripeDeclineCodes["testmode_decline"],
}
