package main

// ISO 8583 response codes (field 39), as Visa and Mastercard use them.
//
// Sources, checked in December 2026: Visa's V.I.P. response codes as
// acquirers publish them (Visa's own list is not public), Visa's four
// decline categories (the retry rules of its integrity fee programme),
// Mastercard's response codes and its decline reasons 79 (life cycle),
// 82 (policy) and 83 (fraud/security) that come with a merchant advice
// code. Where the networks give one code two meanings (70, 78, 79, 82,
// 83), isoByNetwork has each network's, and isoAmbiguous the entry for a
// payment whose network is unknown. Where the published lists disagree
// the entry says so:
//   - Visa 78 reads "blocked, first used" in older lists and "no account"
//     in some category tables; Visa's 2025 bulletin reads "blocked, first
//     used or special condition: new cardholder not activated or card
//     temporarily blocked", which is what the entry follows;
//   - Visa 83 ("unable to verify PIN") is missing from several lists;
//   - 5C and 9G could not be checked against a published list here: the
//     entries follow their common reading (5C "transaction not supported
//     or blocked by the issuer", 9G "blocked by the cardholder"); check
//     them against Visa's own documentation before relying on them.

var (
	msgVerifyCard = message{
		en: "Your bank couldn't verify your card for this payment. Please contact your bank, or use a different card.",
		zh: "您的银行未能验证这张卡，因此无法完成这笔付款。请联系您的银行，或换一张卡。",
	}
	msgBlockedByCardholder = message{
		en: "This payment was stopped by a block set on your card (for example a block on online, foreign or certain merchant payments in your banking app). Please check your card settings or contact your bank, or use a different card.",
		zh: "这笔付款被您卡片上设置的限制拦截了（例如在手机银行 App 中关闭了网上支付、境外支付或特定商户付款）。请检查卡片设置或联系您的银行，或换一张卡。",
	}
	msgChipOffline = message{
		en: "The card reader couldn't reach your bank to approve this chip payment. Please try again in a moment, or use a different card.",
		zh: "读卡器暂时无法联系到您的银行来批准这笔芯片卡付款。请稍后再试，或换一张卡。",
	}
	msgCardData = message{
		en: "Your bank couldn't accept the card details it received. Please check the card number, expiry date and security code, or add your new card if your bank has sent you one, then try again.",
		zh: "您的银行无法接受收到的卡片信息。请核对卡号、有效期和安全码；如果银行已给您寄来新卡，请添加新卡，然后再试一次。",
	}
)

// nextVerifyCard is the next step of a card verification failure that is
// not the printed security code.
const nextVerifyCard = "Not the printed CVC (that is N7): do not ask the customer to re-enter it. The customer calls their bank or uses another card; " +
	"if many cards fail this way, tell payments engineering (our 3-D Secure or wallet cryptograms)."

// isoCodes are the response codes whose meaning Visa and Mastercard share,
// and the codes only one of them uses (the alphanumeric ones are Visa's).
var isoCodes = map[string]explanation{
	"00": ex(catApproved, ownSupport, 0, msgHolding, "Approved by the issuer: the failure is not an issuer decline; look at what happened after (capture, reversal, our own error)."),
	"01": ex(catIssuer, ownIssuer, 0, msgContactBank, "Refer to card issuer: "+nextContactBank),
	"02": ex(catIssuer, ownIssuer, 0, msgContactBank, "Refer to card issuer, special condition: "+nextContactBank),
	"03": ex(catProvider, ownEngineering, 0, msgOurSide, "Invalid merchant: the issuer does not accept our merchant setup. "+nextOurSide),
	"04": ex(catCardStatus, ownIssuer, 0, msgContactBank, "Pick up card. "+nextDontReveal),
	"05": ex(catIssuer, ownIssuer, 0, msgContactBank, "Do not honor: "+nextContactBank),
	"06": ex(catIssuer, ownIssuer, retry, msgRetryThenBank, "Error at the issuer: retry once; then the customer calls their bank."),
	"07": ex(catCardStatus, ownIssuer, 0, msgContactBank, "Pick up card, special condition (suspected fraud). "+nextDontReveal),
	"08": ex(catApproved, ownSupport, 0, msgHolding, "Honour with identification: approved; look at what happened after."),
	"10": ex(catApproved, ownSupport, 0, msgHolding, "Partial approval: the issuer approved less than asked; check the captured amount."),
	"12": ex(catIssuer, ownIssuer, 0, msgNotSupported, "Invalid transaction: the issuer refuses this kind of transaction on the card; the customer asks their bank or uses another card. Visa: never retry (category 1)."),
	"13": ex(catIssuer, ownIssuer, 0, msgAmount, "Invalid amount: check the amount; the customer asks their bank about limits."),
	"14": ex(catCardDetails, ownCustomer, fix, msgNumber, "Invalid card number: the customer re-enters it or uses another card."),
	"15": ex(catCardDetails, ownCustomer, fix, msgNumber, "No such issuer: the card number is wrong; the customer re-enters it or uses another card."),
	"19": ex(catIssuer, ownIssuer, retry, msgRetryThenBank, "Re-enter transaction: retry once; then the customer calls their bank."),
	"21": ex(catIssuer, ownIssuer, 0, msgContactBank, "No action taken (Visa: the issuer could not back out a prior transaction): check whether an earlier payment or reversal went through before anyone retries; then "+nextContactBank),
	"28": ex(catIssuer, ownIssuer, retry, msgRetryThenBank, "File temporarily not available at the issuer (Visa): a temporary issuer fault; retry in a few minutes, then the customer calls their bank."),
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
	"85": ex(catApproved, ownSupport, 0, msgHolding, "No reason to decline (an account check passed): the decline came from elsewhere."),
	"86": ex(catAuthentication, ownIssuer, 0, msgContactBank, "PIN cannot be verified (PIN validation not possible): card-present; the customer calls their bank or pays another way."),
	"91": ex(catIssuer, ownIssuer, retry, msgBankUnavailable, "Issuer or switch inoperative: retry in a few minutes; if many customers of one bank are hit, tell payments engineering."),
	"92": ex(catProvider, ownEngineering, retry, msgOurSide, "The network could not route the authorization: retry later; "+nextOurSide),
	"93": ex(catIssuer, ownIssuer, 0, msgContactBank, "Violation of law: the issuer may not approve it; "+nextContactBank),
	"94": ex(catIssuer, ownSupport, 0, msgDuplicate, "Duplicate transmission: check whether the first payment went through before anyone retries."),
	"96": temporary(
		ex(catProvider, ownCustomer, retry|transient, msgTemporary, "System malfunction at the issuer or the network: usually temporary. Nothing was charged: the customer retries in a few minutes; escalate only if it repeats."),
		ex(catProvider, ownEngineering, 0, msgTemporaryAgain, "System malfunction again on the same payment: not a one-off. "+nextRepeated)),
	"1A": ex(catAuthentication, ownCustomer, fix|retry, msgAuthenticate, "Additional customer authentication required (Visa SCA): "+nextAuth),
	"5C": ex(catIssuer, ownIssuer, 0, msgNotSupported, "Transaction not supported or blocked by the issuer (Visa; reading not checked against a published list): the customer asks their bank or uses another card; never retry unchanged."),
	"6P": ex(catCardDetails, ownCustomer, fix, msgCardData, "Verification data failed (Visa): the cardholder data sent (name, address, date of birth...) did not match the issuer's; the customer checks their details or uses another card."),
	"9G": ex(catIssuer, ownCustomer, fix, msgBlockedByCardholder, "Blocked by the cardholder (Visa; reading not checked against a published list): a block the cardholder set in their banking app; they lift it or use another card."),
	"N3": ex(catIssuer, ownIssuer, 0, msgNotSupported, "Cash service not available (Visa: cash back or withdrawal): the customer pays without cash back or uses another card."),
	"N4": ex(catLimits, ownIssuer, 0, msgLimit, "Cash request exceeds the issuer's or approved limit (Visa): the customer asks for less, waits, or asks their bank."),
	"N7": ex(catCardDetails, ownCustomer, fix, msgCVC, "CVV2 mismatch (Visa): the printed security code was wrong; the customer re-enters it."),
	"Q1": ex(catCardDetails, ownIssuer, 0, msgVerifyCard, "Card authentication failed (Visa). "+nextVerifyCard),
	"R0": ex(catIssuer, ownIssuer, 0, msgRevoked, "Stop payment order (Visa): never retry; only the customer can lift it with their bank."),
	"R1": ex(catIssuer, ownIssuer, 0, msgRevoked, "Revocation of authorization order (Visa): never retry; only the customer can lift it with their bank."),
	"R3": ex(catIssuer, ownIssuer, 0, msgRevoked, "Revocation of all authorizations order (Visa): never retry; only the customer can lift it with their bank."),
	"Z3": ex(catIssuer, ownIssuer, retry, msgChipOffline, "Unable to go online, declined offline (EMV chip, card-present): the terminal could not reach the issuer; retry, or another card."),
}

// isoByNetwork are the codes Visa and Mastercard read differently, by
// network (get_payment's card.brand).
var isoByNetwork = map[string]map[string]explanation{
	"visa": {
		"70": ex(catAuthentication, ownCustomer, fix, msgPINRequired, "PIN data required (Visa): "+nextPIN),
		"78": ex(catCardStatus, ownCustomer, fix, msgActivate, "Blocked, first used, or temporarily blocked (Visa): the card has not been activated; the customer activates it with their bank."),
		"79": ex(catIssuer, ownSupport, 0, msgGeneric, "Already reversed (Visa): the authorization was reversed before this message; check whether the payment was cancelled or reversed before anyone retries."),
		"82": ex(catCardDetails, ownIssuer, 0, msgVerifyCard, "Negative CAM, dCVV, iCVV, CAVV or CVV result (Visa): a chip, contactless, wallet or 3-D Secure cryptogram, or the magnetic stripe's CVV, failed. "+nextVerifyCard),
		"83": ex(catAuthentication, ownIssuer, 0, msgContactBank, "Unable to verify PIN (Visa; not in every published list): card-present; the customer calls their bank or pays another way."),
	},
	"mastercard": {
		"70": ex(catIssuer, ownIssuer, 0, msgContactBank, "Contact card issuer (Mastercard): "+nextContactBank),
		"78": ex(catCardStatus, ownIssuer, 0, msgAccount, "Invalid or nonexistent account (Mastercard): the customer contacts their bank or adds a new card."),
		"79": ex(catCardStatus, ownIssuer, 0, msgAccount, "Decline reason life cycle (Mastercard: expired, closed or replaced card and the like): the merchant advice code says whether to retry; the customer adds their current card or calls their bank."),
		"82": ex(catIssuer, ownIssuer, 0, msgNotSupported, "Decline reason policy (Mastercard): the issuer's policy does not allow this payment on the card (not a CVC problem); the merchant advice code says whether to retry; the customer asks their bank or uses another card."),
		"83": ex(catRisk, ownIssuer, 0, msgContactBank, "Decline reason fraud/security (Mastercard). "+nextDontReveal),
	},
}

// isoAmbiguous explains a code the networks read differently when the
// network is not known.
var isoAmbiguous = map[string]explanation{
	"70": ex(catIssuer, ownIssuer, 0, msgContactBank, "70 means PIN data required for Visa and contact card issuer for Mastercard; the network is unknown: pass network (card.brand). "+nextContactBank),
	"78": ex(catCardStatus, ownIssuer, 0, msgAccount, "78 means blocked, first used (not activated) for Visa and invalid account for Mastercard; the network is unknown: pass network (card.brand). The customer checks the card with their bank."),
	"79": ex(catIssuer, ownIssuer, 0, msgContactBank, "79 means already reversed for Visa and a life-cycle decline for Mastercard; the network is unknown: pass network (card.brand). "+nextContactBank),
	"82": ex(catIssuer, ownIssuer, 0, msgVerifyCard, "82 is a cryptogram or CVV (not CVV2) failure for Visa and a policy decline for Mastercard; neither is a wrong printed CVC (that is N7). The network is unknown: pass network (card.brand). "+nextContactBank),
	"83": ex(catIssuer, ownIssuer, 0, msgContactBank, "83 means unable to verify PIN for Visa and a fraud/security decline for Mastercard; the network is unknown: pass network (card.brand). "+nextDontReveal),
}

// isoExplanation finds code for a network ("" when unknown).
func isoExplanation(network, code string) (explanation, bool) {
	if e, ok := isoByNetwork[network][code]; ok {
		return e, true
	}
	if e, ok := isoCodes[code]; ok {
		return e, true
	}
	if _, known := isoByNetwork[network]; !known {
		e, ok := isoAmbiguous[code]
		return e, ok
	}
	return explanation{}, false
}
